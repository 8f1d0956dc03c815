"""Fashion-MNIST with its class names: train a small CNN, then count, for every true class,
which classes the model predicts (a confusion count), and name the most confused pair."""

import keras
import numpy as np

class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

(train_images, train_labels), (test_images, test_labels) = keras.datasets.fashion_mnist.load_data()
print("Training set:", train_images.shape, "labels", np.unique(train_labels).tolist())
train_images = train_images[:4000, ..., np.newaxis] / 255.0
test_images = test_images[:1000, ..., np.newaxis] / 255.0
train_labels, test_labels = train_labels[:4000], test_labels[:1000]
print("First image is a", class_names[train_labels[0]])

model = keras.Sequential([
    keras.layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
    keras.layers.MaxPooling2D((2, 2)),
    keras.layers.Flatten(),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dropout(0.2),
    keras.layers.Dense(10),
])
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
model.summary()
model.fit(train_images, train_labels, epochs=1, batch_size=64, verbose=2)

probability_model = keras.Sequential([model, keras.layers.Softmax()])
predictions = probability_model.predict(test_images, verbose=0)
predicted = np.argmax(predictions, axis=1)
confusion = np.zeros((10, 10), dtype=int)
np.add.at(confusion, (test_labels, predicted), 1)
off_diagonal = confusion - np.diag(np.diag(confusion))
true_class, wrong_class = np.unravel_index(np.argmax(off_diagonal), off_diagonal.shape)
print(f"Most confused: {class_names[true_class]} taken for {class_names[wrong_class]} "
      f"({off_diagonal[true_class, wrong_class]} times)")
for index, name in enumerate(class_names):
    total = confusion[index].sum()
    print(f"{name:12s} {confusion[index, index]:3d}/{total:3d}")
test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=0)
print("Confusion total:", int(confusion.sum()))
print("Test accuracy:", test_acc)
