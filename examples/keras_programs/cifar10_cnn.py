"""TensorFlow's "Convolutional Neural Network (CNN)" tutorial, on stand-in data of CIFAR-10's
shapes (32x32 RGB images, 10 classes): the real archive is not needed for a quick run."""

import numpy as np
from tensorflow.keras import layers, losses, models

rng = np.random.default_rng(0)
class_names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

# Stand-in images: each class gets its own mean colour, plus noise.
train_labels = rng.integers(0, 10, size=(1000, 1))
test_labels = rng.integers(0, 10, size=(200, 1))
palette = rng.integers(0, 256, size=(10, 1, 1, 3))
train_images = np.clip(palette[train_labels[:, 0]] + rng.normal(0, 40, (1000, 32, 32, 3)), 0, 255).astype("uint8")
test_images = np.clip(palette[test_labels[:, 0]] + rng.normal(0, 40, (200, 32, 32, 3)), 0, 255).astype("uint8")

# Normalize pixel values to be between 0 and 1
train_images, test_images = train_images / 255.0, test_images / 255.0
print(train_images.shape, train_labels.shape, class_names[int(train_labels[0, 0])])

model = models.Sequential()
model.add(layers.Conv2D(32, (3, 3), activation="relu", input_shape=(32, 32, 3)))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation="relu"))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation="relu"))
model.add(layers.Flatten())
model.add(layers.Dense(64, activation="relu"))
model.add(layers.Dense(10))
model.summary()

model.compile(optimizer="adam",
              loss=losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])

history = model.fit(train_images, train_labels, epochs=1,
                    validation_data=(test_images, test_labels), verbose=2)
print("History keys:", sorted(history.history))

test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=2)
print("Test loss:", test_loss)
print("Test accuracy:", test_acc)
