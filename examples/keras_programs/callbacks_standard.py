"""The standard callbacks together: EarlyStopping, ModelCheckpoint, ReduceLROnPlateau,
CSVLogger and LearningRateScheduler, on a few short epochs."""

import csv
import os

import keras
import numpy as np

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train[:1500].reshape(-1, 28, 28, 1).astype("float32") / 255
y_train = y_train[:1500]
x_val = x_test[:500].reshape(-1, 28, 28, 1).astype("float32") / 255
y_val = y_test[:500]

model = keras.Sequential([
    keras.layers.Conv2D(8, 3, activation="relu", input_shape=(28, 28, 1)),
    keras.layers.MaxPooling2D(2),
    keras.layers.Flatten(),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.002), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
model.summary()


def schedule(epoch, lr):
    return lr if epoch < 1 else lr * 0.5


callbacks = [
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True),
    keras.callbacks.ModelCheckpoint("best.keras", monitor="val_accuracy", save_best_only=True),
    keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=1e-5),
    keras.callbacks.CSVLogger("training.csv"),
    keras.callbacks.LearningRateScheduler(schedule, verbose=0),
]
history = model.fit(x_train, y_train, epochs=3, batch_size=64, validation_data=(x_val, y_val),
                    callbacks=callbacks, verbose=2)

with open("training.csv", newline="") as handle:
    rows = list(csv.DictReader(handle))
print("Logged columns:", sorted(rows[0]))
print("Checkpoint written:", os.path.exists("best.keras"))
best = keras.models.load_model("best.keras")
loss, accuracy = best.evaluate(x_val, y_val, verbose=0)
print("Epochs run:", len(history.history["loss"]))
print("Final learning rate:", float(np.asarray(model.optimizer.learning_rate)))
print("Best checkpoint accuracy:", accuracy)
