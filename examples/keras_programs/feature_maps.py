"""Looking inside a trained CNN: a layer's filters through get_layer and get_weights, and the
feature maps it makes, from a Sequential model that shares the first layers."""

import keras
import numpy as np

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train[:2000, :, :, None].astype("float32") / 255
x_test = x_test[:200, :, :, None].astype("float32") / 255

model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    keras.layers.Conv2D(8, (3, 3), activation="relu", name="conv_1"),
    keras.layers.MaxPooling2D((2, 2), name="pool_1"),
    keras.layers.Conv2D(16, (3, 3), activation="relu", name="conv_2"),
    keras.layers.MaxPooling2D((2, 2), name="pool_2"),
    keras.layers.Flatten(),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train[:2000], epochs=1, batch_size=64, verbose=2)
model.summary()

for layer in model.layers:
    if "conv" in layer.name:
        filters, biases = layer.get_weights()
        print(layer.name, filters.shape, biases.shape)

filters, biases = model.get_layer("conv_1").get_weights()
low, high = filters.min(), filters.max()
filters = (filters - low) / (high - low)  # 0..1, ready to show as images
print("First filter:", np.round(filters[:, :, 0, 0], 2).tolist())

feature_model = keras.Sequential(model.layers[:2])  # conv_1 and pool_1, same weights
feature_maps = feature_model.predict(x_test[:1], verbose=0)
print("Feature maps shape:", feature_maps.shape)
strongest = int(np.argmax(feature_maps[0].mean(axis=(0, 1))))
print("Strongest map:", strongest)
print("Share of active pixels:", float((feature_maps > 0).mean()))
loss, accuracy = model.evaluate(x_test, y_test[:200], verbose=0)
print("Test accuracy:", accuracy)
