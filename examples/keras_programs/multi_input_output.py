"""A functional model with two inputs and two outputs: a digit image and a noisy hint feed a
shared trunk; one head names the digit, the other says whether it is even. Losses, weights and
metrics are given per output by name; evaluate returns a dict."""

import keras
import numpy as np

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
rng = np.random.default_rng(1)


def arrays(images, digits):
    images = images[:, :, :, None].astype("float32") / 255
    hints = (digits[:, None] + rng.normal(0, 3, (len(digits), 1))).astype("float32") / 10
    return {"image": images, "hint": hints}, {"digit": digits, "even": (digits % 2 == 0).astype("float32")}


train_inputs, train_targets = arrays(x_train[:2000], y_train[:2000])
test_inputs, test_targets = arrays(x_test[:500], y_test[:500])

image = keras.Input(shape=(28, 28, 1), name="image")
hint = keras.Input(shape=(1,), name="hint")
x = keras.layers.Conv2D(8, 3, activation="relu")(image)
x = keras.layers.MaxPooling2D(2)(x)
x = keras.layers.Flatten()(x)
h = keras.layers.Dense(4, activation="relu")(hint)
trunk = keras.layers.concatenate([x, h])
trunk = keras.layers.Dense(32, activation="relu")(trunk)
digit = keras.layers.Dense(10, activation="softmax", name="digit")(trunk)
even = keras.layers.Dense(1, activation="sigmoid", name="even")(trunk)
model = keras.Model(inputs=[image, hint], outputs=[digit, even])
model.summary()

model.compile(optimizer="adam",
              loss={"digit": "sparse_categorical_crossentropy", "even": "binary_crossentropy"},
              loss_weights={"digit": 1.0, "even": 0.5},
              metrics={"digit": ["accuracy"], "even": ["accuracy"]})
history = model.fit(train_inputs, train_targets, batch_size=64, epochs=2, validation_split=0.1, verbose=2)
print("History keys:", sorted(history.history))
results = model.evaluate(test_inputs, test_targets, verbose=0, return_dict=True)
print("Result keys:", sorted(results))
digit_probabilities, even_probabilities = model.predict(test_inputs, verbose=0)
print("Prediction shapes:", digit_probabilities.shape, even_probabilities.shape)
print("Test loss:", results["loss"])
print("Digit accuracy:", results["digit_accuracy"])
print("Even accuracy:", results["even_accuracy"])
