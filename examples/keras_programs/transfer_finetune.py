"""Transfer learning in the keras.io style: a convolutional base trained on digits 0-4 is
frozen (layer.trainable = False) under a new head for digits 5-9, then unfrozen and fine-tuned
at a low learning rate after recompiling. The model round-trips through model.save and
keras.models.load_model, and its weights through save_weights and load_weights."""

import keras
import numpy as np

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train, x_test = x_train[..., None].astype("float32") / 255, x_test[..., None].astype("float32") / 255
low, high = y_train < 5, y_train >= 5
x_low, y_low = x_train[low][:1500], y_train[low][:1500]
x_high, y_high = x_train[high][:1500], y_train[high][:1500] - 5
test_high = y_test >= 5
x_test_high, y_test_high = x_test[test_high][:500], y_test[test_high][:500] - 5

base = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    keras.layers.Conv2D(16, 3, activation="relu"),
    keras.layers.MaxPooling2D(2),
    keras.layers.Conv2D(16, 3, activation="relu"),
    keras.layers.GlobalAveragePooling2D(),
], name="base")
pretrain = keras.Sequential([base, keras.layers.Dense(5, activation="softmax")])
pretrain.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
pretrain.fit(x_low, y_low, batch_size=64, epochs=1, verbose=2)

base.trainable = False
inputs = keras.Input(shape=(28, 28, 1))
features = base(inputs, training=False)
outputs = keras.layers.Dense(5, activation="softmax")(keras.layers.Dropout(0.2)(features))
model = keras.Model(inputs, outputs)
model.summary(expand_nested=True)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
frozen_before = [w.copy() for w in base.get_weights()]
model.fit(x_high, y_high, batch_size=64, epochs=1, verbose=2)
print("Frozen base unchanged:", all(np.array_equal(a, b) for a, b in zip(frozen_before, base.get_weights())))
print("Trainable weights frozen:", len(model.trainable_weights))

base.trainable = True
model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
print("Trainable weights fine-tuning:", len(model.trainable_weights))
model.fit(x_high, y_high, batch_size=64, epochs=1, verbose=2)
model.summary()

model.save("finetuned.keras")
restored = keras.models.load_model("finetuned.keras")
print("Loaded model predicts the same:",
      bool(np.allclose(restored.predict(x_test_high[:16], verbose=0), model.predict(x_test_high[:16], verbose=0),
                       atol=1e-5)))
model.save_weights("finetuned.weights.h5")
copy = keras.models.clone_model(model)
copy.load_weights("finetuned.weights.h5")
print("Loaded weights predict the same:",
      bool(np.allclose(copy.predict(x_test_high[:16], verbose=0), model.predict(x_test_high[:16], verbose=0),
                       atol=1e-5)))
loss, accuracy = restored.evaluate(x_test_high, y_test_high, verbose=0)
print("Test loss:", loss)
print("Test accuracy:", accuracy)
