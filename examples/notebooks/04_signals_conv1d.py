"""Notebook 4: 1D convolutions on MNIST-1D and on spectra read from a CSV file."""

CELLS = [
    ("markdown", r"""
# 4. One-dimensional signals with Conv1D

Convolution is not only for images. A `Conv1D` layer slides a filter of width k along a signal —
a sound, a sensor trace, a spectrum — exactly as `Conv2D` slides a k x k filter over an image.
Arrays stay channels-last: a batch of signals is `(samples, length, channels)`.

Two data sets:

1. **MNIST-1D**, ten classes of 40-step signals, generated locally by the `mnist1d` package
   (nothing to download). It is small enough to train in seconds but hard enough that a CNN
   clearly beats a dense network.
2. **Spectra in a CSV file**, one spectrum per row with a label column — the format a
   spectrometer export or a lab notebook usually ends up in. We write a synthetic one here.
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
workdir = Path(tempfile.mkdtemp(prefix="convscope-04-"))


def show(path):
    display(Image(filename=str(path)))
"""),
    ("markdown", r"""
## MNIST-1D
"""),
    ("code", r"""
(x_train, y_train), (x_test, y_test) = datasets.load("mnist1d")
print("train:", x_train.shape, x_train.dtype, " test:", x_test.shape)
print("per class:", np.bincount(y_train).tolist())
datasets.plot_signals(x_train, y_train, signals_per_class=3)
"""),
    ("markdown", r"""
Hand-made 1D filters work like the line filters of notebook 1: `[-1, 0, 1]` responds where the
signal rises, `[-1, 2, -1]` where it has a sharp peak. After ReLU and pooling only the strongest
responses remain, at half the length.
"""),
    ("code", r"""
demo = explain.edge_demo(x_train[0])
print({name: kernel.tolist() for name, kernel in demo.kernels.items()})
print("signal", demo.image.shape, "-> filtered", demo.filtered["rise"].shape, "-> pooled", demo.pooled["rise"].shape)
show(explain_plots.plot_edge_demo(demo, workdir / "edges_1d.png"))
"""),
    ("markdown", r"""
The model mirrors the image CNNs: two convolution + pooling rounds, then dense layers. With
`padding="same"` the convolutions keep the length, so only pooling shortens it: 40 -> 20 -> 10,
and Flatten gives 10 x 32 = 320 values.
"""),
    ("code", r"""
model = Sequential([
    layers.Conv1D(32, 5, activation="relu", padding="same", input_shape=(40, 1)),
    layers.MaxPooling1D(2),
    layers.Conv1D(32, 3, activation="relu", padding="same"),
    layers.MaxPooling1D(2),
    layers.Flatten(),
    layers.Dense(64, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model
"""),
    ("code", r"""
history = model.fit(x_train, y_train, batch_size=64, epochs=15, validation_split=0.1, verbose=2)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy {accuracy:.3f} (chance is 0.100)")
"""),
    ("markdown", r"""
`verbose=2` prints one plain line per epoch — the form that suits long runs and log files.
In a notebook the default shows a live bar instead.

## Spectra from a CSV file

Each synthetic "spectrum" has 200 channels: a sloping baseline, noise, and absorption peaks
whose positions depend on the material. Three materials share a peak near channel 60 and differ
in where their second peak sits — the kind of detail a filter can pick up wherever it appears.
"""),
    ("code", r"""
rng = np.random.default_rng(1)
channels = np.arange(200)


def spectrum(material):
    peaks = {0: [60, 110], 1: [60, 130], 2: [60, 150]}[material]
    shift = rng.normal(0, 3)
    values = 0.2 + 0.001 * channels * rng.uniform(0.5, 1.5) + rng.normal(0, 0.03, channels.size)
    for centre in peaks:
        values += rng.uniform(0.6, 1.0) * np.exp(-0.5 * ((channels - centre - shift) / 4.0) ** 2)
    return values


labels = rng.integers(0, 3, 600)
rows = np.array([spectrum(label) for label in labels])
csv_path = workdir / "spectra.csv"
header = "label," + ",".join(f"ch{i}" for i in channels)
np.savetxt(csv_path, np.column_stack([labels, rows]), delimiter=",", header=header, comments="", fmt="%.5g")
print(csv_path.name, "-", csv_path.stat().st_size // 1024, "KiB;", header[:40], "...")
"""),
    ("markdown", r"""
`datasets.arrays` reads `.csv`, `.npy` or `.npz`. It finds the column called `label` by itself,
adds the channel axis and holds out a stratified test split.
"""),
    ("code", r"""
(s_train, t_train), (s_test, t_test) = datasets.arrays(csv_path, test_fraction=0.25)
materials = ["material A", "material B", "material C"]
print(s_train.shape, s_test.shape)
datasets.plot_signals(s_train, t_train, class_names=materials, signals_per_class=4)
"""),
    ("code", r"""
spectra_model = Sequential([
    layers.Conv1D(8, 9, activation="relu", input_shape=(200, 1)),
    layers.MaxPooling1D(4),
    layers.Conv1D(16, 5, activation="relu"),
    layers.MaxPooling1D(4),
    layers.Flatten(),
    layers.Dense(3, activation="softmax"),
])
spectra_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
spectra_model.summary()
spectra_model.fit(s_train, t_train, batch_size=32, epochs=30, verbose=0)
print("test accuracy:", round(spectra_model.evaluate(s_test, t_test, verbose=0)[1], 3))
"""),
    ("markdown", r"""
Pooling by 4 shortens the spectrum from 192 to 48 and then from 44 to 11 positions but keeps a
rough idea of *where* each response happened — which is what matters here, since the materials
differ only in the position of their second peak. (A `GlobalMaxPooling1D` would keep just the
strongest response of each filter anywhere, and could not tell the materials apart.)

Grad-CAM shows which channels drove a prediction. It works at the resolution of the last
convolution (44 positions here), stretched back to 200 channels, so read its positions as
approximate: the heat gathers around the peaks, the parts of the spectrum that carry the answer,
while the flat baseline between them contributes nothing.
"""),
    ("code", r"""
cam = explain.grad_cam(spectra_model, s_test[0])
print(f"true: {materials[t_test[0]]}, predicted: {materials[cam.target]}")
show(interpret_plots.plot_saliency(cam, workdir / "spectrum_cam.png"))
"""),
]
