"""LeNet-5 with batch normalization: 32x32 inputs (MNIST padded by two pixels), tanh
convolutions and average pooling, as in LeCun et al., with BatchNormalization after each
convolution."""

import numpy as np
from tensorflow.keras import datasets, layers, models

(x_train, y_train), (x_test, y_test) = datasets.mnist.load_data()
x_train = np.pad(x_train[:3000], ((0, 0), (2, 2), (2, 2)))[..., np.newaxis] / 255.0  # (3000, 32, 32, 1)
x_test = np.pad(x_test[:1000], ((0, 0), (2, 2), (2, 2)))[..., np.newaxis] / 255.0
y_train, y_test = y_train[:3000], y_test[:1000]

model = models.Sequential([
    layers.Conv2D(6, kernel_size=5, activation="tanh", input_shape=(32, 32, 1), name="C1"),
    layers.BatchNormalization(),
    layers.AveragePooling2D(pool_size=2, strides=2, name="S2"),
    layers.Conv2D(16, kernel_size=5, activation="tanh", name="C3"),
    layers.BatchNormalization(),
    layers.AveragePooling2D(pool_size=2, strides=2, name="S4"),
    layers.Flatten(),
    layers.Dense(120, activation="tanh", name="C5"),
    layers.Dense(84, activation="tanh", name="F6"),
    layers.Dense(10, activation="softmax", name="output"),
])
model.summary()
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=64, epochs=1, validation_data=(x_test, y_test), verbose=2)

moving_mean = model.layers[1].get_weights()[2]
print("Moving mean of C1 has moved:", bool(np.any(moving_mean != 0)))
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", loss)
print("Test accuracy:", accuracy)
