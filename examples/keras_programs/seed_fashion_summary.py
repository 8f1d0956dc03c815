"""The classic tf.keras convolution + pooling model for 28x28 grey images, its summary (how
26x26 becomes 13x13, then 11x11, then 5x5, then 1600 values), and a short training run on
Fashion-MNIST."""

import tensorflow as tf

(training_images, training_labels), (test_images, test_labels) = tf.keras.datasets.fashion_mnist.load_data()
training_images = training_images[:3000].reshape(3000, 28, 28, 1) / 255.0
test_images = test_images[:1000].reshape(1000, 28, 28, 1) / 255.0
training_labels, test_labels = training_labels[:3000], test_labels[:1000]

model = tf.keras.models.Sequential([
    tf.keras.layers.Conv2D(64, (3, 3), activation="relu", input_shape=(28, 28, 1)),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Conv2D(64, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(128, activation="relu"),
    tf.keras.layers.Dense(10, activation="softmax"),
])
model.summary()

model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(training_images, training_labels, epochs=1, verbose=2)
test_loss, test_accuracy = model.evaluate(test_images, test_labels, verbose=0)
print("Test loss:", test_loss)
print("Test accuracy:", test_accuracy)
