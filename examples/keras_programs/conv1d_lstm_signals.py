"""Conv1D feature extraction, then an LSTM, on noisy 1-D signals: a short burst of a sine wave
hidden somewhere in noise, at one of three frequencies."""

import keras
import numpy as np

rng = np.random.default_rng(11)
steps, classes = 96, 3
frequencies = (2.0, 5.0, 9.0)


def signal(kind):
    x = rng.normal(0, 0.3, steps)
    start = rng.integers(0, steps - 40)
    t = np.arange(40) / 40
    x[start:start + 40] += np.sin(2 * np.pi * frequencies[kind] * t)
    return x


labels = rng.integers(0, classes, 600)
signals = np.stack([signal(kind) for kind in labels]).astype("float32")[..., None]  # (600, 96, 1)
x_train, y_train, x_test, y_test = signals[:500], labels[:500], signals[500:], labels[500:]

model = keras.Sequential([
    keras.Input(shape=(steps, 1)),
    keras.layers.Conv1D(16, 5, activation="relu"),
    keras.layers.MaxPooling1D(2),
    keras.layers.Conv1D(32, 3, activation="relu"),
    keras.layers.MaxPooling1D(2),
    keras.layers.LSTM(24),
    keras.layers.Dropout(0.2),
    keras.layers.Dense(classes, activation="softmax"),
])
model.summary()
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=32, epochs=2, validation_split=0.1, verbose=2)
print("History keys:", sorted(history.history))
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", loss)
print("Test accuracy:", accuracy)
