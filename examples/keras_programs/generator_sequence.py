"""Feeding batches from Python: a keras.utils.Sequence that reshuffles each epoch, and a plain
generator with steps_per_epoch."""

import math

import keras
import numpy as np

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train, y_train = x_train[:2000], y_train[:2000]
x_test, y_test = x_test[:500], y_test[:500]


class DigitBatches(keras.utils.Sequence):
    def __init__(self, images, labels, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.images, self.labels, self.batch_size = images, labels, batch_size
        self.order = np.arange(len(images))

    def __len__(self):
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        batch_x = self.images[rows, :, :, None].astype("float32") / 255.0
        return batch_x, self.labels[rows]

    def on_epoch_end(self):
        np.random.shuffle(self.order)


def endless_batches(images, labels, batch_size):
    while True:
        for start in range(0, len(images), batch_size):
            yield images[start:start + batch_size, :, :, None] / 255.0, labels[start:start + batch_size]


model = keras.Sequential([
    keras.layers.Conv2D(16, 3, activation="relu", input_shape=(28, 28, 1)),
    keras.layers.MaxPooling2D(),
    keras.layers.Flatten(),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.summary()

train_batches = DigitBatches(x_train, y_train, batch_size=64)
print("Batches per epoch:", len(train_batches))
model.fit(train_batches, epochs=1, verbose=2)
model.fit(endless_batches(x_train, y_train, 100), steps_per_epoch=20, epochs=1,
          validation_data=endless_batches(x_test, y_test, 100), validation_steps=5, verbose=2)

loss, accuracy = model.evaluate(DigitBatches(x_test, y_test, batch_size=100), verbose=0)
predictions = model.predict(endless_batches(x_test, y_test, 100), steps=2, verbose=0)
print("Predictions:", predictions.shape)
print("Test loss:", loss)
print("Test accuracy:", accuracy)
