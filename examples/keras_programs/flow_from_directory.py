"""ImageDataGenerator.flow_from_directory on a folder of grey PNG textures this program writes
(horizontal stripes, vertical stripes, checks), with a training/validation split of each
class folder."""

import os

import numpy as np
from tensorflow import keras

rng = np.random.default_rng(5)
root = "textures"
classes = ("checks", "horizontal", "vertical")
rows, cols = np.mgrid[:32, :32]
for name in classes:
    os.makedirs(os.path.join(root, name), exist_ok=True)
    for index in range(40):
        period = int(rng.integers(3, 8))
        pattern = {"horizontal": rows // period % 2, "vertical": cols // period % 2,
                   "checks": (rows // period + cols // period) % 2}[name]
        image = (pattern * 180 + rng.integers(0, 60, (32, 32)))[..., None].astype("float32")
        keras.preprocessing.image.save_img(os.path.join(root, name, f"{index}.png"), image, scale=False)

datagen = keras.preprocessing.image.ImageDataGenerator(rescale=1.0 / 255, horizontal_flip=True,
                                                       vertical_flip=True, validation_split=0.25)
train_generator = datagen.flow_from_directory(root, target_size=(32, 32), color_mode="grayscale",
                                              class_mode="categorical", batch_size=16, seed=0, subset="training")
validation_generator = datagen.flow_from_directory(root, target_size=(32, 32), color_mode="grayscale",
                                                   class_mode="categorical", batch_size=16, seed=0,
                                                   subset="validation")
print("Class indices:", train_generator.class_indices)
print("Training images:", train_generator.samples)

model = keras.Sequential([
    keras.layers.Conv2D(8, 3, activation="relu", input_shape=(32, 32, 1)),
    keras.layers.MaxPooling2D(),
    keras.layers.Conv2D(16, 3, activation="relu"),
    keras.layers.MaxPooling2D(),
    keras.layers.Flatten(),
    keras.layers.Dense(len(classes), activation="softmax"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
model.summary()
model.fit(train_generator, epochs=4, validation_data=validation_generator, verbose=2)

image = keras.preprocessing.image.load_img(os.path.join(root, "checks", "0.png"), color_mode="grayscale")
batch = keras.preprocessing.image.img_to_array(image)[None] / 255.0
print("Predicted class:", classes[int(np.argmax(model.predict(batch, verbose=0)))])
loss, accuracy = model.evaluate(validation_generator, verbose=0)
print("Validation loss:", loss)
print("Validation accuracy:", accuracy)
