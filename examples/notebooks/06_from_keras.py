"""Notebook 6: a Keras script on convscope, Keras-layout weights, and ONNX export."""

CELLS = [
    ("markdown", r"""
# 6. Coming from Keras

`convscope.keras` mirrors the parts of the Keras API that CNN tutorials use: `keras.models`,
`keras.layers`, `keras.optimizers`, `keras.datasets`, `keras.utils` (including the old
`keras.utils.np_utils`). This notebook

1. runs a Keras-style training script **unchanged**, with convscope answering its `keras` imports;
2. moves weights between models in the **Keras layout**, the one `get_weights()` returns in Keras;
3. exports the trained model to **ONNX** and checks ONNX Runtime gives the same predictions.
"""),
    ("code", r"""
import importlib
import pkgutil
import runpy
import sys
import tempfile
from pathlib import Path

import numpy as np

import convscope
import convscope.keras
from convscope import Sequential, layers

workdir = Path(tempfile.mkdtemp(prefix="convscope-06-"))
"""),
    ("markdown", r"""
## A Keras script, unchanged

Here is a typical Keras script for MNIST, written to a file exactly as it would be for Keras.
It trains on a slice of the data to stay quick.
"""),
    ("code", r"""
script = workdir / "train_mnist.py"
script.write_text('''
import numpy as np
from keras.datasets import mnist
from keras.models import Sequential
from keras.layers import Conv2D, MaxPooling2D, Flatten, Dense
from keras.optimizers import Adam
from keras.utils.np_utils import to_categorical

np.random.seed(0)
(X_train, y_train), (X_test, y_test) = mnist.load_data()
assert X_train.shape[1:] == (28, 28), "The images are not 28 x 28."

X_train = X_train.reshape(60000, 28, 28, 1) / 255
X_test = X_test.reshape(10000, 28, 28, 1) / 255
y_train = to_categorical(y_train, 10)
y_test = to_categorical(y_test, 10)

model = Sequential()
model.add(Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)))
model.add(MaxPooling2D((2, 2)))
model.add(Flatten())
model.add(Dense(64, activation="relu"))
model.add(Dense(10, activation="softmax"))
model.compile(Adam(learning_rate=0.001), loss="categorical_crossentropy", metrics=["accuracy"])
model.summary()

history = model.fit(X_train[:5000], y_train[:5000], epochs=2, batch_size=64,
                    validation_split=0.1, verbose=2)
score = model.evaluate(X_test[:2000], y_test[:2000], verbose=0)
print("Test loss:", round(score[0], 4), "- test accuracy:", round(score[1], 4))
''')
print(script.read_text()[:200], "...")
"""),
    ("markdown", r"""
Python looks up `import keras...` in `sys.modules` first. Registering convscope's compatibility
modules there under the `keras` names is all it takes for the script to run as written — no
TensorFlow or Keras installation involved.
"""),
    ("code", r"""
def use_convscope_as_keras():
    # Import every convscope.keras submodule, then register each one under its Keras name.
    for module in pkgutil.walk_packages(convscope.keras.__path__, "convscope.keras."):
        importlib.import_module(module.name)
    for name, module in list(sys.modules.items()):
        if name == "convscope.keras" or name.startswith("convscope.keras."):
            sys.modules["keras" + name[len("convscope.keras"):]] = module


use_convscope_as_keras()
results = runpy.run_path(str(script), run_name="__main__")
model = results["model"]
print(type(model))
"""),
    ("markdown", r"""
## Weights in the Keras layout

PyTorch stores a convolution kernel as `(filters, channels, rows, columns)`; Keras stores it as
`(rows, columns, channels, filters)`. convscope keeps PyTorch tensors inside, but
`get_weights()` and `set_weights()` speak Keras's layout, so weights saved from a Keras model —
for example with `np.savez("weights.npz", *model.get_weights())` — load directly.
"""),
    ("code", r"""
conv = model.layers[0]
kernel, bias = conv.get_weights()
torch_kernel = next(conv.parameters())
print("Keras layout  :", kernel.shape, "(rows, cols, channels, filters)")
print("PyTorch tensor:", tuple(torch_kernel.shape), "(filters, channels, rows, cols)")
print("same numbers  :", np.allclose(kernel, torch_kernel.detach().permute(2, 3, 1, 0).numpy()))
"""),
    ("code", r"""
weights_file = workdir / "keras_weights.npz"
np.savez(weights_file, *model.get_weights())            # what a Keras user would save

fresh = Sequential([
    layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
    layers.MaxPooling2D((2, 2)),
    layers.Flatten(),
    layers.Dense(64, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
with np.load(weights_file) as stored:
    fresh.set_weights([stored[f"arr_{i}"] for i in range(len(stored.files))])

x_check = results["X_test"][:256].astype("float32")


def compare(name, a, b):
    # Same classes, and probabilities equal up to the rounding of the precision used.
    difference = float(np.abs(a - b).max())
    same_class = float((a.argmax(axis=1) == b.argmax(axis=1)).mean())
    print(f"{name}: same predicted class for {same_class:.1%} of images, largest difference {difference:.1e}")
    assert same_class > 0.98 and difference < 0.05


print("same weights:", all(np.array_equal(a, b) for a, b in zip(model.get_weights(), fresh.get_weights())))
compare("fresh model", model.predict(x_check), fresh.predict(x_check))
"""),
    ("markdown", r"""
Why not exactly equal? With `precision="auto"` (the default of `compile`), a compiled model
computes in bfloat16 on hardware that supports it natively, such as recent server CPUs and
GPUs; the weights are the same, but outputs then differ from float32 ones around the third
decimal. Compile with `precision="float32"` when you need bit-for-bit comparisons.
"""),
    ("markdown", r"""
convscope's own format keeps the architecture as JSON and the weights as safetensors, so a saved
model comes back without its code:
"""),
    ("code", r"""
model.save(workdir / "mnist_model")
restored = convscope.load_model(workdir / "mnist_model")
print(sorted(path.name for path in (workdir / "mnist_model").iterdir()))
compare("restored model", model.predict(x_check), restored.predict(x_check))
"""),
    ("markdown", r"""
## Export to ONNX

`model.export` writes an ONNX file that takes the same channels-last batches as convscope, with
a dynamic batch size. ONNX Runtime, TensorRT, browsers and mobile runtimes can run it without
Python or PyTorch.
"""),
    ("code", r"""
onnx_file = model.export(workdir / "mnist.onnx")
print(onnx_file.name, f"{onnx_file.stat().st_size / 1024:.0f} KiB")

onnx_outputs = convscope.export.onnx_predict(onnx_file, x_check)
compare("ONNX Runtime", model.predict(x_check), onnx_outputs)
print("predicted digits:", onnx_outputs[:10].argmax(axis=1).tolist())
"""),
]
