"""Data augmentation inside the model, as in the keras.io image-classification tutorials:
Rescaling, then RandomFlip, RandomRotation and RandomZoom, active in fit and silent in
evaluate and predict."""

import keras
import numpy as np

(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
x_train, y_train = x_train[:2000, :, :, None].astype("float32"), y_train[:2000]
x_test, y_test = x_test[:500, :, :, None].astype("float32"), y_test[:500]

augmentation = keras.Sequential([
    keras.layers.RandomFlip("horizontal"),
    keras.layers.RandomRotation(0.05),
    keras.layers.RandomZoom(0.1),
], name="augmentation")

model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    keras.layers.Rescaling(1.0 / 255),
    augmentation,
    keras.layers.Conv2D(16, 3, activation="relu"),
    keras.layers.MaxPooling2D(2),
    keras.layers.Conv2D(32, 3, activation="relu"),
    keras.layers.MaxPooling2D(2),
    keras.layers.Flatten(),
    keras.layers.Dropout(0.3),
    keras.layers.Dense(10, activation="softmax"),
])
model.summary(expand_nested=True)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=64, epochs=2, verbose=2)

sample = x_test[:8]
augmented = np.asarray(augmentation(sample / 255, training=True))
unchanged = np.asarray(augmentation(sample / 255, training=False))
print("Augmented shape:", augmented.shape)
print("Inference leaves images unchanged:", bool(np.allclose(unchanged, sample / 255)))
print("Predictions repeat:", bool(np.allclose(model.predict(sample, verbose=0), model.predict(sample, verbose=0))))
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", loss)
print("Test accuracy:", accuracy)
