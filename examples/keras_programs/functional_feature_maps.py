"""Feature maps of every convolution at once, the usual way: a functional Model whose outputs
are the layers' outputs."""

import keras
import numpy as np

(x_train, y_train), (x_test, _) = keras.datasets.mnist.load_data()
x_train = x_train[:1000, :, :, None].astype("float32") / 255
x_test = x_test[:10, :, :, None].astype("float32") / 255

inputs = keras.Input(shape=(28, 28, 1))
x = keras.layers.Conv2D(8, 3, activation="relu", name="conv_1")(inputs)
x = keras.layers.MaxPooling2D(2)(x)
x = keras.layers.Conv2D(16, 3, activation="relu", name="conv_2")(x)
x = keras.layers.GlobalAveragePooling2D()(x)
outputs = keras.layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs, outputs)
model.summary()
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train[:1000], epochs=1, batch_size=50, verbose=2)

conv_outputs = [layer.output for layer in model.layers if "conv" in layer.name]
activation_model = keras.Model(inputs=model.inputs, outputs=conv_outputs)
maps = activation_model.predict(x_test, verbose=0)
for layer_maps in maps:
    print("Maps:", layer_maps.shape)
print("Mean activation:", float(np.mean([m.mean() for m in maps])))
