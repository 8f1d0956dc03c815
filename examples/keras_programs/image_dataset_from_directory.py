"""TensorFlow's image classification tutorial on a folder of PNGs this program draws itself
(circles and squares): image_dataset_from_directory with a validation split, the tf.data
chain cache/shuffle/prefetch, a Rescaling layer, and a prediction for one new image."""

import os

import numpy as np
import tensorflow as tf

rng = np.random.default_rng(3)
data_dir = "shapes"
img_height = img_width = 32
for class_name in ("circles", "squares"):
    os.makedirs(os.path.join(data_dir, class_name), exist_ok=True)
    for index in range(80):
        image = np.full((img_height, img_width, 3), rng.integers(0, 80, 3), dtype="float32")
        centre, radius = rng.integers(11, 21, 2), rng.integers(6, 11)
        rows, cols = np.ogrid[:img_height, :img_width]
        if class_name == "circles":
            inside = (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius ** 2
        else:
            inside = (abs(rows - centre[0]) <= radius) & (abs(cols - centre[1]) <= radius)
        image[inside] = rng.integers(150, 256, 3)
        tf.keras.utils.save_img(os.path.join(data_dir, class_name, f"{index:03d}.png"), image, scale=False)

batch_size = 16
train_ds = tf.keras.utils.image_dataset_from_directory(
    data_dir, validation_split=0.2, subset="training", seed=123,
    image_size=(img_height, img_width), batch_size=batch_size)
val_ds = tf.keras.utils.image_dataset_from_directory(
    data_dir, validation_split=0.2, subset="validation", seed=123,
    image_size=(img_height, img_width), batch_size=batch_size)
class_names = train_ds.class_names
print(class_names)

for image_batch, labels_batch in train_ds:
    print(image_batch.shape)
    print(labels_batch.shape)
    break
first_images, first_labels = next(iter(train_ds.take(1)))
print("First label:", class_names[first_labels[0]], first_images[0].numpy().astype("uint8").shape)

AUTOTUNE = tf.data.AUTOTUNE
train_ds = train_ds.cache().shuffle(1000).prefetch(buffer_size=AUTOTUNE)
val_ds = val_ds.cache().prefetch(buffer_size=AUTOTUNE)

normalized_ds = train_ds.map(lambda x, y: (x / 255.0, y))
image_batch, labels_batch = next(iter(normalized_ds))
print("Pixel range:", float(np.min(image_batch[0])), float(np.max(image_batch[0])))

num_classes = len(class_names)
model = tf.keras.Sequential([
    tf.keras.layers.Rescaling(1.0 / 255, input_shape=(img_height, img_width, 3)),
    tf.keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
    tf.keras.layers.MaxPooling2D(),
    tf.keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
    tf.keras.layers.MaxPooling2D(),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(64, activation="relu"),
    tf.keras.layers.Dense(num_classes),
])
model.compile(optimizer="adam",
              loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
model.summary()
history = model.fit(train_ds, validation_data=val_ds, epochs=4, verbose=2)

img = tf.keras.utils.load_img(os.path.join(data_dir, "circles", "000.png"), target_size=(img_height, img_width))
img_array = np.expand_dims(tf.keras.utils.img_to_array(img), 0)  # a batch of one
predictions = model.predict(img_array, verbose=0)
score = np.exp(predictions[0]) / np.sum(np.exp(predictions[0]))
print(f"This image most likely belongs to {class_names[int(np.argmax(score))]}")
val_loss, val_accuracy = model.evaluate(val_ds, verbose=0)
print("Validation loss:", val_loss)
print("Validation accuracy:", val_accuracy)
