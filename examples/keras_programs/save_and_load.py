"""Saving and loading: the whole model as .keras and as legacy .h5, and the weights alone as
.weights.h5; every copy predicts exactly what the original predicts."""

import keras
import numpy as np


def build():
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(10, activation="softmax"),
    ])


(x_train, y_train), (x_test, _) = keras.datasets.mnist.load_data()
x_train = x_train[:1000, :, :, None] / 255.0
x_test = x_test[:100, :, :, None] / 255.0

model = build()
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train[:1000], epochs=1, batch_size=50, verbose=2)
model.summary()
expected = model.predict(x_test, verbose=0)

model.save("digits.keras")
from_keras_file = keras.models.load_model("digits.keras")

model.save("digits.h5")
from_h5_file = keras.models.load_model("digits.h5")

model.save_weights("digits.weights.h5")
fresh = build()
fresh.load_weights("digits.weights.h5")

for copy in (from_keras_file, from_h5_file, fresh):
    np.testing.assert_allclose(copy.predict(x_test, verbose=0), expected)
print("Layers restored:", [layer.name for layer in from_keras_file.layers])
print("Optimizer restored:", type(from_keras_file.optimizer).__name__)
print("Largest difference:", float(np.abs(fresh.predict(x_test, verbose=0) - expected).max()))
