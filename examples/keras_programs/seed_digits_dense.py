"""Handwritten digits with a dense network: check the arrays, count the samples of each class,
reshape with a depth of 1, one-hot encode, scale, then train with Adam."""

import random

import keras
import numpy as np

np.random.seed(0)
random.seed(0)

(X_train, y_train), (X_test, y_test) = keras.datasets.mnist.load_data()
print(X_train.shape)
print(X_test.shape)
assert X_train.shape[0] == y_train.shape[0], "as many training images as labels"
assert X_train.shape[1:] == (28, 28), "training images are 28 x 28"
assert X_test.shape[0] == y_test.shape[0], "as many test images as labels"
assert X_test.shape[1:] == (28, 28), "test images are 28 x 28"

num_classes = 10
num_of_samples = [int(np.sum(y_train == digit)) for digit in range(num_classes)]
print("Samples per class:", num_of_samples)
print("A random five:", X_train[y_train == 5][random.randint(0, num_of_samples[5] - 1)].shape)

X_train = X_train.reshape(60000, 28, 28, 1)
X_test = X_test.reshape(10000, 28, 28, 1)
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)
X_train = X_train / 255
X_test = X_test / 255

model = keras.models.Sequential()
model.add(keras.layers.Flatten(input_shape=(28, 28, 1)))
model.add(keras.layers.Dense(10, activation="relu"))
model.add(keras.layers.Dense(30, activation="relu"))
model.add(keras.layers.Dense(num_classes, activation="softmax"))
model.compile(keras.optimizers.Adam(learning_rate=0.01), loss="categorical_crossentropy", metrics=["accuracy"])
model.summary()

history = model.fit(X_train[:5000], y_train[:5000], validation_split=0.1, epochs=1, batch_size=200, verbose=2,
                    shuffle=True)
score = model.evaluate(X_test[:1000], y_test[:1000], verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
