"""ONNX and TorchScript export of a trained MNIST model: checked graph, channels-last input with a
dynamic batch axis, and predictions equal to convscope's on the whole test set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import convscope
from convscope import Sequential, layers

TOLERANCE = 1e-4
pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.* is deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def trained(shared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Sequential, np.ndarray, Path]:
    """A small CNN trained for one epoch on 3,000 MNIST images, the 10,000 test images, a folder."""
    (x_train, y_train), (x_test, _) = convscope.datasets.load("mnist", path=shared_data_dir / "mnist",
                                                              download=False, progress=False)
    x_train, x_test = (np.asarray(x, dtype=np.float32) / 255.0 for x in (x_train[:3000], x_test))
    convscope.set_seed(0)
    model = Sequential([layers.Conv2D(8, 3, activation="relu", input_shape=(28, 28, 1)), layers.MaxPooling2D(2),
                        layers.BatchNormalization(), layers.Conv2D(16, 3, padding="same", activation="relu"),
                        layers.GlobalAveragePooling2D(), layers.Dropout(0.2), layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], precision="float32", device="cpu")
    model.fit(x_train, np.asarray(y_train[:3000]), epochs=1, batch_size=64, verbose=0)
    return model, x_test, tmp_path_factory.mktemp("export")


@pytest.mark.slow
def test_onnx_matches_convscope_on_the_whole_test_set(trained: tuple) -> None:
    import onnx

    from convscope.export import onnx_predict

    model, x_test, folder = trained
    path = model.export(folder / "mnist.onnx")
    graph = onnx.load(str(path))
    onnx.checker.check_model(graph, full_check=True)
    (inputs,) = graph.graph.input
    dims = inputs.type.tensor_type.shape.dim
    assert dims[0].dim_param and not dims[0].HasField("dim_value"), "the batch axis must be dynamic"
    assert [d.dim_value for d in dims[1:]] == [28, 28, 1], "input is channels-last (N, H, W, C)"
    expected = model.predict(x_test, batch_size=500)
    exported = onnx_predict(path, x_test, batch_size=500)
    assert exported.shape == expected.shape == (10_000, 10)
    assert np.abs(exported - expected).max() < TOLERANCE
    assert (exported.argmax(1) == expected.argmax(1)).all()
    assert np.abs(onnx_predict(path, x_test[:1]) - expected[:1]).max() < TOLERANCE  # batch of one
    assert expected.argmax(1).std() > 0.5, "the model should have learned something"


@pytest.mark.slow
def test_torchscript_matches_convscope_on_the_whole_test_set(trained: tuple) -> None:
    model, x_test, folder = trained
    path = model.export(folder / "mnist.pt", format="torchscript")
    loaded = torch.jit.load(str(path))
    with torch.no_grad():
        exported = torch.cat([loaded(torch.from_numpy(x_test[start:start + 1000]))
                              for start in range(0, len(x_test), 1000)]).numpy()
        single = loaded(torch.from_numpy(x_test[:3])).numpy()
    expected = model.predict(x_test, batch_size=1000)
    assert np.abs(exported - expected).max() < TOLERANCE
    assert np.abs(single - expected[:3]).max() < TOLERANCE
    assert model.training is False
