"""Notebook 5: colour images from a folder, image volumes and LeNet-5."""

CELLS = [
    ("markdown", r"""
# 5. Colour images: image volumes and LeNet-5

A grayscale image is a single grid of numbers; a colour image is three of them stacked — red,
green and blue. CNNs treat every input as a *volume* of shape `(height, width, channels)`: 28x28x1
for MNIST, 32x32x3 for a small colour picture. A convolution filter always spans the full depth
of its input, so on a colour image a 5x5 filter really holds 5 x 5 x 3 weights.

Your own pictures usually live in folders, one per class. This notebook draws a small folder of
coloured shapes with Pillow, loads it with `datasets.image_folder`, and trains LeNet-5, the
classic architecture for 32x32 inputs.
"""),
    ("code", r"""
%matplotlib inline
import tempfile
from pathlib import Path

import numpy as np
from IPython.display import Image, display
from PIL import Image as PILImage
from PIL import ImageDraw

import convscope
from convscope import Sequential, datasets, explain, layers
from convscope.plots import explain as explain_plots

convscope.set_seed(0)
workdir = Path(tempfile.mkdtemp(prefix="convscope-05-"))


def show(path):
    display(Image(filename=str(path)))
"""),
    ("markdown", r"""
## An image folder

Three classes — circles, squares and triangles — in random colours, sizes and places, on a
random background colour. The class depends on the shape only, so the network has to learn
shape and ignore colour.
"""),
    ("code", r"""
rng = np.random.default_rng(0)


def random_colour():
    return tuple(int(c) for c in rng.integers(0, 256, 3))


def draw_shape(kind, size=32):
    background = random_colour()
    image = PILImage.new("RGB", (size, size), background)
    pen = ImageDraw.Draw(image)
    radius = int(rng.integers(7, 13))
    cx, cy = (int(c) for c in rng.integers(radius, size - radius, 2))
    colour = random_colour()
    while sum(abs(a - b) for a, b in zip(colour, background)) < 200:  # keep the shape visible
        colour = random_colour()
    if kind == "circle":
        pen.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)
    elif kind == "square":
        pen.rectangle([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)
    else:
        pen.polygon([(cx, cy - radius), (cx - radius, cy + radius), (cx + radius, cy + radius)], fill=colour)
    return image


folder = workdir / "shapes"
for kind in ("circle", "square", "triangle"):
    (folder / kind).mkdir(parents=True)
    for index in range(300):
        draw_shape(kind).save(folder / kind / f"{kind}_{index:03d}.png")
print(sorted(path.name for path in folder.iterdir()), "-", len(list(folder.rglob("*.png"))), "files")
"""),
    ("code", r"""
(x_train, y_train), (x_test, y_test) = datasets.image_folder(folder, image_size=(32, 32), color_mode="rgb")
names = datasets.class_names(folder)
print("train:", x_train.shape, x_train.dtype, " test:", x_test.shape, " classes:", names)
datasets.plot_samples(x_train, y_train, class_names=names, samples_per_class=8)
"""),
    ("markdown", r"""
## Channels

Slicing the last axis gives the three colour planes of one image. Each plane is an ordinary
grayscale grid; together they make the volume the first layer sees.
"""),
    ("code", r"""
image = x_train[0]
print("volume:", image.shape)
for channel, colour in enumerate(["red", "green", "blue"]):
    plane = image[..., channel]
    print(f"{colour:>5} plane {plane.shape}: values {plane.min()}..{plane.max()}")
datasets.plot_samples(np.moveaxis(image, -1, 0)[..., np.newaxis], np.arange(3),
                      class_names=["red", "green", "blue"], samples_per_class=1, title="One image, three planes")
"""),
    ("markdown", r"""
## LeNet-5

LeNet-5 alternates 5x5 convolutions with 2x2 average pooling, then narrows through dense layers
of 120 and 84 units. With no padding, each convolution shrinks the map by 4 pixels:

32x32x3 -> **28x28x6** -> 14x14x6 -> **10x10x16** -> 5x5x16 -> 400 -> 120 -> 84 -> 3

The first layer has 6 filters of 5 x 5 x 3 weights plus one bias each: 6 x 76 = 456 parameters.
Pooling layers have none; they keep the depth and only shrink height and width.
"""),
    ("code", r"""
lenet = Sequential([
    layers.Conv2D(6, 5, activation="relu", input_shape=(32, 32, 3)),
    layers.AveragePooling2D(2),
    layers.Conv2D(16, 5, activation="relu"),
    layers.AveragePooling2D(2),
    layers.Flatten(),
    layers.Dense(120, activation="relu"),
    layers.Dense(84, activation="relu"),
    layers.Dense(len(names), activation="softmax"),
], name="lenet5")
lenet.summary()
"""),
    ("code", r"""
x_train_ready, x_test_ready = datasets.normalize(x_train), datasets.normalize(x_test)
lenet.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = lenet.fit(x_train_ready, y_train, batch_size=32, epochs=30, validation_split=0.15, verbose=0)
history
"""),
    ("code", r"""
loss, accuracy = lenet.evaluate(x_test_ready, y_test, verbose=0)
print(f"test accuracy {accuracy:.3f} on {len(y_test)} images (chance is {1 / len(names):.3f})")
"""),
    ("markdown", r"""
## A filter across three channels

Working out one output value of the first layer by hand shows the depth at work: the filter
multiplies a 5x5 window in *each* colour plane, and the three partial sums are added before
the bias and the ReLU.
"""),
    ("code", r"""
steps = explain.conv_steps(lenet, x_test_ready[0], position=(14, 14), filter=0)
print(steps.text(max_terms=5))
"""),
    ("code", r"""
maps = explain.feature_maps(lenet, x_test_ready[0], layers=[0])
show(explain_plots.plot_feature_maps(maps[0], workdir / "lenet_maps.png"))
show(explain_plots.plot_filters(explain.learned_filters(lenet), workdir / "lenet_filters.png"))
"""),
]
