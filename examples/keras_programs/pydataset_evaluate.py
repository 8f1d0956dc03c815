"""A keras.utils.PyDataset feeding fit, evaluate(return_dict=True) and predict, with
one-hot labels from keras.utils.to_categorical and categorical cross-entropy; validation on
every second epoch only (validation_freq), logged by CSVLogger."""

import csv
import math

import keras
import numpy as np

(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
x_train, y_train = x_train[:2000], keras.utils.to_categorical(y_train[:2000], 10)
x_test, y_test = x_test[:400], keras.utils.to_categorical(y_test[:400], 10)
print("One-hot labels:", y_train.shape, y_train.dtype)


class Clothes(keras.utils.PyDataset):
    def __init__(self, images, labels=None, batch_size=64, **kwargs):
        super().__init__(**kwargs)
        self.images, self.labels, self.batch_size = images, labels, batch_size

    def __len__(self):
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index):
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        batch = self.images[rows, :, :, None].astype("float32") / 255
        return batch if self.labels is None else (batch, self.labels[rows])


model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    keras.layers.Conv2D(16, 3, activation="relu"),
    keras.layers.MaxPooling2D(2),
    keras.layers.Conv2D(16, 3, activation="relu"),
    keras.layers.GlobalAveragePooling2D(),
    keras.layers.Dense(10, activation="softmax"),
])
model.summary()
model.compile(optimizer="adam", loss="categorical_crossentropy",
              metrics=["accuracy", keras.metrics.TopKCategoricalAccuracy(k=3, name="top3")])
history = model.fit(Clothes(x_train, y_train), epochs=2, validation_data=Clothes(x_test, y_test), validation_freq=2,
                    callbacks=[keras.callbacks.CSVLogger("log.csv")], verbose=2)
print("Validated epochs:", len(history.history["val_loss"]))
with open("log.csv", newline="") as handle:
    rows = list(csv.DictReader(handle))
print("CSV columns:", list(rows[0]))
print("CSV val_loss:", [row["val_loss"] if row["val_loss"] == "NA" else "number" for row in rows])
results = model.evaluate(Clothes(x_test, y_test, batch_size=100), verbose=0, return_dict=True)
print("Result keys:", sorted(results))
predictions = model.predict(Clothes(x_test, batch_size=100), verbose=0)
print("Predictions:", predictions.shape)
print("Row sums near one:", bool(np.allclose(predictions.sum(axis=1), 1, atol=1e-4)))
print("Test loss:", results["loss"])
print("Test accuracy:", results["accuracy"])
print("Test top3:", results["top3"])
