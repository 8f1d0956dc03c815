"""The same small CNN trained with two optimizers and learning-rate schedules: Lion with a
cosine decay, then Adadelta with an exponential decay; the optimizer reports its step count
and current learning rate. The images are scaled as the classic MNIST tutorial scales them,
keras.utils.normalize along axis 1."""

import keras
import numpy as np

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = keras.utils.normalize(x_train[:2000], axis=1)[..., None]  # float64, rows of unit length
y_train = y_train[:2000]
x_test, y_test = keras.utils.normalize(x_test[:500], axis=1)[..., None], y_test[:500]
print("Scaled:", x_train.shape, x_train.dtype)


def build():
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    return model


cosine = keras.optimizers.schedules.CosineDecay(initial_learning_rate=3e-4, decay_steps=64, alpha=0.1)
lion_model = build()
lion_model.compile(optimizer=keras.optimizers.Lion(learning_rate=cosine), loss="sparse_categorical_crossentropy",
                   metrics=["accuracy"])
lion_model.summary()
lion_model.fit(x_train, y_train, batch_size=64, epochs=2, verbose=2)
print("Lion iterations:", int(lion_model.optimizer.iterations))
print("Lion learning rate:", float(cosine(int(lion_model.optimizer.iterations))))
_, lion_accuracy = lion_model.evaluate(x_test, y_test, verbose=0)

decay = keras.optimizers.schedules.ExponentialDecay(1.0, decay_steps=32, decay_rate=0.9, staircase=True)
adadelta_model = build()
adadelta_model.compile(optimizer=keras.optimizers.Adadelta(learning_rate=decay, rho=0.95),
                       loss="sparse_categorical_crossentropy", metrics=["accuracy"])
adadelta_model.fit(x_train, y_train, batch_size=64, epochs=2, verbose=2)
print("Adadelta learning rate:", float(decay(int(adadelta_model.optimizer.iterations))))
_, adadelta_accuracy = adadelta_model.evaluate(x_test, y_test, verbose=0)
print("Lion accuracy:", lion_accuracy)
print("Adadelta accuracy:", adadelta_accuracy)
print("Weights equal shapes:", [w.shape for w in lion_model.get_weights()] ==
      [w.shape for w in adadelta_model.get_weights()], np.isfinite(adadelta_model.get_weights()[0]).all())
