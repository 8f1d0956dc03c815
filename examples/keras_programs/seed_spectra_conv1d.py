"""Conv1D on spectra: each class has its absorption lines at its own positions. The layers
use the Conv1D arguments that matter most: filters, kernel_size, strides, padding, activation."""

import keras
import numpy as np

rng = np.random.default_rng(1)
length, classes = 200, 3
line_centres = [(40, 120), (70, 150), (30, 100, 170)]
wavelengths = np.arange(length)


def spectrum(label):
    values = np.ones(length)
    for centre in line_centres[label]:
        shift = rng.normal(0, 2)
        values -= rng.uniform(0.3, 0.6) * np.exp(-0.5 * ((wavelengths - centre - shift) / 3.0) ** 2)
    return values + rng.normal(0, 0.02, length)


y = rng.integers(0, classes, 600)
x = np.stack([spectrum(label) for label in y])[..., np.newaxis].astype("float32")  # (samples, length, 1)
x_train, y_train, x_test, y_test = x[:500], y[:500], x[500:], y[500:]

model = keras.Sequential([
    keras.layers.Conv1D(filters=8, kernel_size=7, strides=1, padding="valid", activation="relu",
                        input_shape=(length, 1)),
    keras.layers.MaxPooling1D(pool_size=2),
    keras.layers.Conv1D(filters=16, kernel_size=5, strides=2, padding="same", activation="relu"),
    keras.layers.MaxPooling1D(pool_size=2),
    keras.layers.Flatten(),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(classes, activation="softmax"),
])
model.summary()
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=5, batch_size=32, verbose=2)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", loss)
print("Test accuracy:", accuracy)
