"""Optimizers, losses and metrics as objects with their own settings, and a custom loss and a
custom metric written as plain functions of (y_true, y_pred)."""

import keras
import numpy as np

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train[:2000].reshape(-1, 28, 28, 1).astype("float32") / 255.0
x_test = x_test[:500].reshape(-1, 28, 28, 1).astype("float32") / 255.0
y_train_onehot = keras.utils.to_categorical(y_train[:2000], 10)
y_test_onehot = keras.utils.to_categorical(y_test[:500], 10)


def build():
    return keras.Sequential([
        keras.layers.Conv2D(8, 3, activation="relu", input_shape=(28, 28, 1)),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])


def squared_error(y_true, y_pred):
    """A custom loss: Keras averages what it returns over the batch."""
    return (y_true - y_pred) ** 2


def true_class_share(y_true, y_pred):
    """A custom metric: the probability given to the right class, scaled by 1/classes."""
    return y_true * y_pred


# 1. Objects: SGD with Nesterov momentum, a label-smoothed loss, named metrics.
model = build()
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
              loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
              metrics=[keras.metrics.CategoricalAccuracy(name="acc"),
                       keras.metrics.TopKCategoricalAccuracy(k=3, name="top3")])
model.summary()
model.fit(x_train, y_train_onehot, epochs=1, batch_size=32, verbose=2)
results = model.evaluate(x_test, y_test_onehot, verbose=0, return_dict=True)
print("SGD accuracy:", results["acc"])
print("SGD top-3 accuracy:", results["top3"])

# 2. Sparse labels with RMSprop and metric objects.
model = build()
model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.001),
              loss=keras.losses.SparseCategoricalCrossentropy(),
              metrics=[keras.metrics.SparseCategoricalAccuracy()])
model.fit(x_train, y_train[:2000], epochs=1, batch_size=32, verbose=2)
print("RMSprop accuracy:", model.evaluate(x_test, y_test[:500], verbose=0)[1])

# 3. The custom functions, with Adam.
model = build()
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=squared_error,
              metrics=[true_class_share, "mae"])
history = model.fit(x_train, y_train_onehot, epochs=1, batch_size=32, verbose=2)
print("Logged:", sorted(history.history))
loss, share, mae = model.evaluate(x_test, y_test_onehot, verbose=0)
print("Custom loss:", loss)
print("Custom metric:", share)
manual = float(np.mean((y_test_onehot - model.predict(x_test, verbose=0)) ** 2))
print("Loss by hand:", manual)
