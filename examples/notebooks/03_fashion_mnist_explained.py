"""Notebook 3: Fashion-MNIST, then a look inside the trained network."""

CELLS = [
    ("markdown", r"""
# 3. Fashion-MNIST: looking inside a trained CNN

Fashion-MNIST has the same format as MNIST — 28x28 grayscale images, ten classes — but shows
clothes instead of digits, which makes it noticeably harder. After a short training run we open
the network up:

- **feature maps**: what every layer outputs for one image;
- **filters**: the 3x3 patterns the first layer learned;
- **one output value**, recomputed by hand from the layer's real input and weights;
- **Grad-CAM** on the mistakes: which part of the image pushed the network towards its answer.

On Debian and Ubuntu, `sudo apt-get install dataset-fashion-mnist` provides the files offline;
`datasets.load` finds them there.
"""),
    ("code", r"""
%matplotlib inline
import tempfile
from pathlib import Path

import numpy as np
from IPython.display import Image, display

import convscope
from convscope import Sequential, datasets, explain, layers
from convscope.plots import explain as explain_plots
from convscope.plots import interpret as interpret_plots

convscope.set_seed(0)
figures = Path(tempfile.mkdtemp(prefix="convscope-03-"))


def show(path):
    display(Image(filename=str(path)))
"""),
    ("code", r"""
(x_train, y_train), (x_test, y_test) = datasets.load("fashion_mnist")
names = datasets.class_names("fashion_mnist")
print(x_train.shape, x_test.shape)
print(names)

x_train, y_train = x_train[:8000], y_train[:8000]
x_test, y_test = x_test[:2000], y_test[:2000]
datasets.plot_samples(x_train, y_train, class_names=names, samples_per_class=6)
"""),
    ("markdown", r"""
## Train a small CNN

32 filters, then 64, each followed by 2x2 max pooling. Labels stay as integers here, so the loss
is `sparse_categorical_crossentropy` — no one-hot encoding needed.
"""),
    ("code", r"""
x_train_ready, x_test_ready = datasets.normalize(x_train), datasets.normalize(x_test)

model = Sequential([
    layers.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)),
    layers.MaxPooling2D(2),
    layers.Conv2D(64, 3, activation="relu"),
    layers.MaxPooling2D(2),
    layers.Flatten(),
    layers.Dense(64, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train_ready, y_train, batch_size=64, epochs=2, validation_data=(x_test_ready, y_test))
history
"""),
    ("markdown", r"""
## Feature maps

Pass one test image through the network and keep every layer's output. The first convolution
produces 32 maps of 26x26 — one per filter. Some respond to the outline of the garment, some to
its inside, some to edges of one orientation. After pooling, the maps are half the size but
keep the same structure.
"""),
    ("code", r"""
example = x_test_ready[0]
print("true class of this image:", names[y_test[0]])
maps = explain.feature_maps(model, example)
for layer_maps in maps:
    print(f"{layer_maps.layer:<16} {layer_maps.kind:<13} {layer_maps.maps.shape}")
show(explain_plots.plot_feature_maps(maps[0], figures / "maps_conv1.png", max_channels=16))
"""),
    ("code", r"""
show(explain_plots.plot_feature_maps(maps[2], figures / "maps_conv2.png", max_channels=16))
"""),
    ("markdown", r"""
## Filters

The first layer's kernel has the Keras layout `(rows, columns, input channels, filters)`. Each of
the 32 filters is a 3x3 grid of weights; red cells are positive, blue ones negative. Compare them
with the hand-made line filters of notebook 1 — several learned filters are edge detectors too.
"""),
    ("code", r"""
filters = explain.learned_filters(model)
print(filters.layer, filters.kernel.shape)
show(explain_plots.plot_filters(filters, figures / "filters.png"))
"""),
    ("markdown", r"""
## One value, by hand

`explain.conv_steps` takes one cell of a feature map and recomputes it from the layer's input
and weights in float64: nine products, their sum, the bias, and the ReLU. It also reports what
the engine computed for that cell, so you can see they agree. Here we pick the cell where filter 5
of the first layer responds most strongly to our image.
"""),
    ("code", r"""
first_maps = maps[0].maps                                   # (26, 26, 32)
row, col = np.unravel_index(first_maps[..., 5].argmax(), first_maps.shape[:2])
steps = explain.conv_steps(model, example, position=(row, col), filter=5)
print(steps.text())
"""),
    ("markdown", r"""
## Mistakes, and where the network looked

The interpretation lists the classes the model mixes up most. For the worst mistakes, Grad-CAM
weighs the last convolution's feature maps by how much each one raised the score of the
predicted class. The heatmap shows the regions behind the wrong answer.
"""),
    ("code", r"""
# The last layer is a softmax, so the model's outputs already are probabilities.
interpretation = explain.interpret(model, x_test_ready, y_test, class_names=names, kind="probabilities")
print(f"accuracy {interpretation.accuracy:.3f}")
print("most confused (actual -> predicted, count):", interpretation.most_confused()[:4])
show(interpret_plots.plot_confusion_matrix(interpretation, figures / "confusion.png"))
"""),
    ("code", r"""
for rank, top in enumerate(interpretation.top_losses(3)):
    cam = explain.grad_cam(model, x_test_ready[top.index])
    print(f"test image {top.index}: {names[top.actual]}, predicted {names[top.predicted]} "
          f"(p = {top.predicted_probability:.2f}); Grad-CAM from layer '{cam.layer}'")
    show(interpret_plots.plot_saliency(cam, figures / f"grad_cam_{rank}.png"))
"""),
    ("markdown", r"""
Grad-CAM works at the resolution of the last convolution (11x11 here) and is then stretched to
28x28, so it shows regions rather than pixels. For a pixel-level view, `explain.gradient_saliency`
measures how much each input pixel moves the class score:
"""),
    ("code", r"""
top = interpretation.top_losses(1)[0]
saliency = explain.gradient_saliency(model, x_test_ready[top.index], target=top.actual)
print(f"gradient saliency for the true class, {names[top.actual]}")
show(interpret_plots.plot_saliency(saliency, figures / "saliency.png"))
"""),
]
