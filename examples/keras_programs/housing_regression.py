"""Regression as in the Boston-housing tutorial: 13 features, a price target, a Normalization
layer adapted to the training data, mean absolute error as metric and EarlyStopping that
restores the best weights. The arrays are synthetic, with the dataset's shapes (404 / 102)."""

import keras
import numpy as np

rng = np.random.default_rng(0)
weights = rng.normal(0, 1, 13)
scales, offsets = rng.uniform(0.5, 50, 13), rng.uniform(0, 100, 13)  # features of very different ranges


def houses(count):
    standardized = rng.normal(0, 1, (count, 13))
    features = standardized * scales + offsets
    prices = 22 + 6 * np.tanh(standardized @ weights / np.sqrt(13)) + rng.normal(0, 1, count)
    return features.astype("float32"), prices.astype("float32")


x_train, y_train = houses(404)
x_test, y_test = houses(102)

normalizer = keras.layers.Normalization()
normalizer.adapt(x_train)
model = keras.Sequential([
    keras.Input(shape=(13,)),
    normalizer,
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(1),
])
model.summary()
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
stop = keras.callbacks.EarlyStopping(monitor="val_mae", patience=3, restore_best_weights=True)
history = model.fit(x_train, y_train, validation_split=0.2, epochs=20, batch_size=32, callbacks=[stop],
                    verbose=0)
print("Epochs run:", len(history.history["loss"]))
test_mse, test_mae = model.evaluate(x_test, y_test, verbose=0)
print("Predicted prices:", model.predict(x_test[:4], verbose=0).shape)
print("Test mse:", test_mse)
print("Test mae:", test_mae)
