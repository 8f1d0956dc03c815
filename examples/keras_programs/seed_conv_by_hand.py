"""Convolution and pooling computed by hand, then by Keras layers with the same weights: the
numbers must agree exactly."""

import keras
import numpy as np

# A 3x3 image and a 2x2 filter: slide, multiply element-wise, sum.
f = np.array([[1, 2, 1], [2, 1, 1], [1, 1, 1]], dtype="float32")
g = np.array([[1, 0.5], [0.5, 1]], dtype="float32")
by_hand = np.array([[np.sum(f[i:i + 2, j:j + 2] * g) for j in range(2)] for i in range(2)])
print("By hand:", by_hand.tolist())

conv = keras.Sequential([keras.layers.Conv2D(1, (2, 2), use_bias=False, input_shape=(3, 3, 1))])
conv.set_weights([g.reshape(2, 2, 1, 1)])
by_keras = conv.predict(f.reshape(1, 3, 3, 1), verbose=0)[0, :, :, 0]
print("By Keras:", by_keras.tolist())
assert np.allclose(by_hand, by_keras)

# Pool(ReLU(Conv(I))) with an identity-diagonal filter: one number comes out.
image = np.array([[1, 0, 2], [3, 1, 0], [0, 0, 4]], dtype="float32").reshape(1, 3, 3, 1)
patch = np.array([[1, 0], [0, 1]], dtype="float32").reshape(2, 2, 1, 1)
pipeline = keras.Sequential([
    keras.layers.Conv2D(1, (2, 2), activation="relu", input_shape=(3, 3, 1)),
    keras.layers.MaxPooling2D(pool_size=(2, 2)),
])
pipeline.set_weights([patch, np.zeros(1, dtype="float32")])
pipeline.summary()
pooled = pipeline.predict(image, verbose=0)
print("Feature map:", keras.Sequential(pipeline.layers[:1]).predict(image, verbose=0)[0, :, :, 0].tolist())
print("Pooled value:", float(pooled.reshape(-1)[0]))
print("Conv sum:", float(by_keras.sum()))
