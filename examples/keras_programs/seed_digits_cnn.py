"""A first CNN for handwritten digits: convolution, activation and max pooling blocks, then
dense layers, trained on a slice of MNIST."""

import numpy as np
from tensorflow import keras

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train[:2000].reshape(-1, 28, 28, 1).astype("float32") / 255.0
x_test = x_test[:500].reshape(-1, 28, 28, 1).astype("float32") / 255.0
y_train = keras.utils.to_categorical(y_train[:2000], 10)
y_test = keras.utils.to_categorical(y_test[:500], 10)

model = keras.models.Sequential()
# each "convolution layer" = convolution + activation + max pooling
model.add(keras.layers.Conv2D(16, kernel_size=(3, 3), padding="same", input_shape=(28, 28, 1)))
model.add(keras.layers.Activation("relu"))
model.add(keras.layers.MaxPooling2D(pool_size=(2, 2)))
model.add(keras.layers.Conv2D(32, kernel_size=(3, 3), strides=(1, 1), padding="valid"))
model.add(keras.layers.Activation("relu"))
model.add(keras.layers.MaxPooling2D(pool_size=(2, 2)))
model.add(keras.layers.Flatten())
model.add(keras.layers.Dense(64, activation="relu"))
model.add(keras.layers.Dense(10, activation="softmax"))
model.summary()

model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=2)

loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
predicted = np.argmax(model.predict(x_test[:10], verbose=0), axis=1)
print("Predicted digits:", predicted.tolist())
print("Test loss:", loss)
print("Test accuracy:", accuracy)
