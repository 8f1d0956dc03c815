"""Every argument of Conv2D, each used where it shows its effect on shapes and parameters."""

import keras
import numpy as np

model = keras.Sequential([
    keras.Input(shape=(32, 32, 3)),
    # filters, kernel_size, strides, padding, activation
    keras.layers.Conv2D(filters=16, kernel_size=(3, 3), strides=(2, 2), padding="same", activation="relu",
                        name="strided_same"),
    # data_format, dilation_rate (a 3x3 kernel that sees 5x5), use_bias=False
    keras.layers.Conv2D(16, 3, data_format="channels_last", dilation_rate=(2, 2), use_bias=False,
                        name="dilated_no_bias"),
    # groups: each half of the channels gets its own filters
    keras.layers.Conv2D(16, 3, groups=2, padding="same", name="grouped"),
    # initializers, regularizers and constraints
    keras.layers.Conv2D(8, (1, 1),
                        kernel_initializer=keras.initializers.HeNormal(seed=1),
                        bias_initializer=keras.initializers.Constant(0.1),
                        kernel_regularizer=keras.regularizers.l2(1e-4),
                        bias_regularizer=keras.regularizers.l1(1e-5),
                        activity_regularizer=keras.regularizers.l2(1e-6),
                        kernel_constraint=keras.constraints.MaxNorm(2.0),
                        bias_constraint=keras.constraints.NonNeg(),
                        activation="tanh", name="regularized"),
    keras.layers.GlobalMaxPooling2D(),
    keras.layers.Dense(4, activation="softmax"),
])
model.summary()
for layer in model.layers[:4]:
    kernel = layer.get_weights()[0]
    print(layer.name, "kernel", kernel.shape, "bias", layer.use_bias)

rng = np.random.default_rng(0)
x = rng.random((256, 32, 32, 3)).astype("float32")
y = (x.mean(axis=(1, 2)).argmax(axis=1) + (x[:, :16].mean(axis=(1, 2, 3)) > 0.5)).astype("int64") % 4
model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=32, epochs=1, verbose=2)
bias = model.get_layer("regularized").get_weights()[1]
kernel_norms = np.sqrt((model.get_layer("regularized").get_weights()[0] ** 2).sum(axis=(0, 1, 2)))
print("Smallest bias:", float(bias.min()))
print("Largest kernel norm:", float(kernel_norms.max()))
loss, accuracy = model.evaluate(x, y, verbose=0)
print("Train loss:", loss)
