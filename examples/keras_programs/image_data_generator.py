"""Data augmentation with ImageDataGenerator: random rotations, shifts, shear and zoom on
MNIST, featurewise normalization fitted on the training images, a validation subset, and
the generator's batches fed straight to fit and evaluate."""


from tensorflow import keras

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train[:2000].reshape(-1, 28, 28, 1).astype("float32")
x_test = x_test[:500].reshape(-1, 28, 28, 1).astype("float32")
y_train = keras.utils.to_categorical(y_train[:2000], 10)
y_test = keras.utils.to_categorical(y_test[:500], 10)

datagen = keras.preprocessing.image.ImageDataGenerator(
    featurewise_center=True,
    featurewise_std_normalization=True,
    rotation_range=10,
    width_shift_range=0.1,
    height_shift_range=0.1,
    shear_range=5,
    zoom_range=0.1,
    fill_mode="nearest",
    validation_split=0.2,
)
datagen.fit(x_train)
print("Featurewise mean:", float(datagen.mean.squeeze()))

train_flow = datagen.flow(x_train, y_train, batch_size=64, seed=1, subset="training")
val_flow = datagen.flow(x_train, y_train, batch_size=64, seed=1, subset="validation")
images, labels = next(train_flow)
print("Augmented batch:", images.shape, labels.shape)

model = keras.models.Sequential([
    keras.layers.Conv2D(16, (3, 3), activation="relu", input_shape=(28, 28, 1)),
    keras.layers.MaxPooling2D((2, 2)),
    keras.layers.Conv2D(32, (3, 3), activation="relu"),
    keras.layers.MaxPooling2D((2, 2)),
    keras.layers.Flatten(),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
model.summary()
model.fit(train_flow, steps_per_epoch=len(train_flow), validation_data=val_flow, epochs=1, verbose=2)

test_flow = keras.preprocessing.image.ImageDataGenerator(featurewise_center=True,
                                                          featurewise_std_normalization=True)
test_flow.mean, test_flow.std = datagen.mean, datagen.std
loss, accuracy = model.evaluate(test_flow.flow(x_test, y_test, batch_size=100, shuffle=False), verbose=0)
flipped = keras.preprocessing.image.ImageDataGenerator(horizontal_flip=True, vertical_flip=True,
                                                       rescale=1.0 / 255)
print("Rescaled maximum:", float(next(flipped.flow(x_test, batch_size=8, seed=0)).max()))
print("Test loss:", loss)
print("Test accuracy:", accuracy)
