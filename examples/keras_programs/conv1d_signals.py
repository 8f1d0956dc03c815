"""Conv1D on synthetic signals: sine, square and sawtooth waves of random frequency and phase,
with noise; global average pooling makes the classifier indifferent to where a wave starts."""

import numpy as np
from keras import layers, models

rng = np.random.default_rng(7)
steps, classes = 128, 3
t = np.linspace(0, 1, steps)


def wave(kind):
    frequency, phase = rng.uniform(3, 8), rng.uniform(0, 2 * np.pi)
    angle = 2 * np.pi * frequency * t + phase
    shapes = [np.sin(angle), np.sign(np.sin(angle)), 2 * ((angle / (2 * np.pi)) % 1) - 1]
    return shapes[kind] + rng.normal(0, 0.2, steps)


labels = rng.integers(0, classes, 900)
signals = np.stack([wave(kind) for kind in labels]).astype("float32")[..., None]  # (900, 128, 1)
x_train, y_train, x_test, y_test = signals[:750], labels[:750], signals[750:], labels[750:]

model = models.Sequential([
    layers.Input(shape=(steps, 1)),
    layers.Conv1D(16, 5, padding="same", activation="relu"),
    layers.MaxPooling1D(2),
    layers.Conv1D(32, 3, strides=2, activation="relu"),
    layers.AveragePooling1D(2),
    layers.Conv1D(32, 3, dilation_rate=2, activation="relu"),
    layers.GlobalAveragePooling1D(),
    layers.Dense(classes, activation="softmax"),
])
model.summary()
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=3, validation_split=0.2, verbose=2)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", loss)
print("Test accuracy:", accuracy)
