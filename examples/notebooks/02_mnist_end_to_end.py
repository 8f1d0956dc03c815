"""Notebook 2: MNIST from the raw files to a confusion matrix."""

CELLS = [
    ("markdown", r"""
# 2. MNIST end to end

The classic first CNN: handwritten digits, 28x28 pixels, ten classes. This notebook takes the
whole path once — load, check, look, prepare, build, train, evaluate, and inspect the mistakes.

To keep it quick on a laptop CPU it trains on 6,000 images for two epochs; raise `TRAIN_SIZE`
and `EPOCHS` for a better model (the full set reaches about 99% test accuracy).

`datasets.load("mnist")` looks for the files in `$CONVSCOPE_DATA_DIR/mnist`, then in the user
cache, and downloads them (checking their hashes) only when no local copy exists.
"""),
    ("code", r"""
%matplotlib inline
import tempfile
from pathlib import Path

import numpy as np
from IPython.display import Image, display

import convscope
from convscope import Sequential, datasets, explain, layers

convscope.set_seed(0)
TRAIN_SIZE, TEST_SIZE, EPOCHS = 6000, 2000, 2
figures = Path(tempfile.mkdtemp(prefix="convscope-02-"))
"""),
    ("markdown", r"""
## Load and check

Arrays come back channels-last, as Keras users expect: `(images, height, width, channels)`.
Before doing anything else, make sure the data is what you think it is — one label per image,
and images of the size the model will expect.
"""),
    ("code", r"""
(x_train, y_train), (x_test, y_test) = datasets.load("mnist")
print("train:", x_train.shape, x_train.dtype, " test:", x_test.shape)

assert len(x_train) == len(y_train), "every training image needs exactly one label"
assert len(x_test) == len(y_test), "every test image needs exactly one label"
assert x_train.shape[1:] == (28, 28, 1), "MNIST images are 28 x 28 with one channel"
assert x_test.shape[1:] == x_train.shape[1:], "train and test images must have the same shape"
"""),
    ("markdown", r"""
`datasets.describe` runs the same kind of checks and counts the images of every class:
"""),
    ("code", r"""
print(datasets.describe("mnist"))
"""),
    ("markdown", r"""
## Look at the data

Five random images per class, then the number of images per class. A roughly flat bar chart
means no class dominates, so plain accuracy is a fair score.
"""),
    ("code", r"""
rng = np.random.default_rng(0)
train_rows = rng.choice(len(x_train), TRAIN_SIZE, replace=False)
test_rows = rng.choice(len(x_test), TEST_SIZE, replace=False)
x_train, y_train = x_train[train_rows], y_train[train_rows]
x_test, y_test = x_test[test_rows], y_test[test_rows]

datasets.plot_samples(x_train, y_train, samples_per_class=5, title="Five samples per digit")
"""),
    ("code", r"""
print("images per class:", np.bincount(y_train).tolist())
datasets.plot_class_distribution(y_train, title="Training images per class")
"""),
    ("markdown", r"""
## Prepare

Three changes turn raw arrays into network input:

- **depth** — a convolutional layer wants every image as a volume `(height, width, channels)`.
  Grayscale images have a single channel, which `load` already added (Keras-style
  `load_data` returns `(N, 28, 28)`; `datasets.add_channel_axis` adds the axis);
- **scale** — pixel values 0..255 become 0..1, which keeps the first gradients well behaved;
- **labels** — the digit `3` becomes the one-hot vector `[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]`, the
  form `categorical_crossentropy` compares with the ten output probabilities.
"""),
    ("code", r"""
x_train_ready = datasets.normalize(x_train)       # float32 in [0, 1]
x_test_ready = datasets.normalize(x_test)
y_train_onehot = datasets.to_categorical(y_train, 10)
y_test_onehot = datasets.to_categorical(y_test, 10)
print(x_train_ready.shape, x_train_ready.dtype, float(x_train_ready.max()))
print(y_train[0], "->", y_train_onehot[0])
"""),
    ("markdown", r"""
## Build the model

Two rounds of convolution and max pooling extract features, then a small dense network
classifies them. Each convolution learns 64 filters of 3x3 pixels; `relu` is applied inside the
layer, as Keras does with `activation="relu"`.
"""),
    ("code", r"""
model = Sequential([
    layers.Conv2D(64, (3, 3), activation="relu", input_shape=(28, 28, 1)),
    layers.MaxPooling2D(2, 2),
    layers.Conv2D(64, (3, 3), activation="relu"),
    layers.MaxPooling2D(2, 2),
    layers.Flatten(),
    layers.Dense(128, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
model.summary()
"""),
    ("markdown", r"""
Read the *Output Shape* column from top to bottom: a 3x3 filter cannot be centred on the border
pixels, so 28 becomes 26; pooling halves it to 13; the next convolution takes it to 11 and the
next pooling to 5 (rounding down). Flatten lays out 5 x 5 x 64 = 1,600 values, twice as many as
the 784 pixels the image started with — but each one now describes a feature, not a pixel.

`explain.shape_journey` shows the same arithmetic, and in a notebook the model itself displays
as a table:
"""),
    ("code", r"""
print(explain.format_shape_journey(explain.shape_journey(model)))
model
"""),
    ("markdown", r"""
## Train

`fit` shows a progress bar that updates in place and leaves one line per epoch. The returned
`History` keeps every epoch's numbers and displays as a table.
"""),
    ("code", r"""
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train_ready, y_train_onehot, batch_size=64, epochs=EPOCHS, validation_split=0.1)
"""),
    ("code", r"""
history
"""),
    ("code", r"""
from convscope.plots.interpret import plot_training_curves

display(Image(filename=str(plot_training_curves(explain.training_curves(history), figures / "curves.png"))))
"""),
    ("markdown", r"""
## Evaluate

The test images played no part in training, so their accuracy estimates how the model does on
new digits.
"""),
    ("code", r"""
test_loss, test_accuracy = model.evaluate(x_test_ready, y_test_onehot, verbose=0)
print(f"test loss {test_loss:.3f}, test accuracy {test_accuracy:.3f}")
"""),
    ("markdown", r"""
## Where does it go wrong?

`explain.interpret` predicts the test set once and keeps the probabilities; the confusion
matrix, per-class accuracy and the worst examples are all computed from them. Rows of the matrix
are the true digits, columns the predictions: everything off the diagonal is a mistake.
"""),
    ("code", r"""
from convscope.plots.interpret import plot_confusion_matrix, plot_top_losses

# The last layer is a softmax, so the model's outputs already are probabilities.
interpretation = explain.interpret(model, x_test_ready, y_test, kind="probabilities")
print(interpretation.text(k=5))
display(Image(filename=str(plot_confusion_matrix(interpretation, figures / "confusion.png"))))
"""),
    ("markdown", r"""
The *top losses* are the test images the model was most confidently wrong about. Some are
genuine mistakes; others are digits a person would hesitate over too.
"""),
    ("code", r"""
display(Image(filename=str(plot_top_losses(interpretation, x_test_ready, figures / "top_losses.png", k=9))))
"""),
]
