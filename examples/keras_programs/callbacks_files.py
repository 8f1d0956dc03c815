"""Callbacks that write files the program reads back: ModelCheckpoint (best weights only) and
CSVLogger, placed after ReduceLROnPlateau and a LearningRateScheduler so that the learning rate
they set shows up in the logged rows."""

import csv
import os

import keras
import numpy as np

(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
x_train, y_train = x_train[:1500, :, :, None].astype("float32") / 255, y_train[:1500]
x_val, y_val = x_test[:300, :, :, None].astype("float32") / 255, y_test[:300]

model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    keras.layers.Conv2D(8, 3, activation="relu"),
    keras.layers.MaxPooling2D(2),
    keras.layers.Flatten(),
    keras.layers.Dense(10, activation="softmax"),
])
model.summary()
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def halve_after_first(epoch, lr):
    return lr if epoch == 0 else lr / 2


callbacks = [
    keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5),
    keras.callbacks.LearningRateScheduler(halve_after_first),
    keras.callbacks.ModelCheckpoint("checkpoints/best.weights.h5", monitor="val_loss", save_best_only=True,
                                    save_weights_only=True),
    keras.callbacks.CSVLogger("history.csv", separator=",", append=False),
]
os.makedirs("checkpoints", exist_ok=True)
history = model.fit(x_train, y_train, batch_size=50, epochs=3, validation_data=(x_val, y_val),
                    callbacks=callbacks, verbose=0)

with open("history.csv", newline="") as handle:
    rows = list(csv.DictReader(handle))
print("CSV columns:", sorted(rows[0]))
print("CSV epochs:", [row["epoch"] for row in rows])
print("Logged learning rates:", [round(float(row["learning_rate"]), 5) for row in rows])
print("History learning rates:", [round(float(lr), 5) for lr in history.history["learning_rate"]])
print("Checkpoint written:", os.path.exists("checkpoints/best.weights.h5"))

best = keras.models.clone_model(model)
best.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
best.load_weights("checkpoints/best.weights.h5")
loss, accuracy = best.evaluate(x_val, y_val, verbose=0)
best_epoch = int(np.argmin(history.history["val_loss"]))
print("Best epoch:", best_epoch)
print("Best val loss:", history.history["val_loss"][best_epoch])
print("Checkpoint loss:", loss)
print("Checkpoint accuracy:", accuracy)
