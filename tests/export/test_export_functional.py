"""ONNX and TorchScript export of functional models: the residual model real Keras wrote
(tests/keras/fixtures/residual.keras), run by ONNX Runtime and libtorch, gives convscope's
predictions; models with several inputs or outputs are refused with a clear message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from convscope import Model, keras, layers
from convscope.models import load_model

FIXTURES = Path(__file__).parents[1] / "keras" / "fixtures"
pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.* is deprecated:DeprecationWarning")


def test_residual_model_onnx_matches_convscope(tmp_path: Path) -> None:
    import onnx

    from convscope.export import onnx_predict

    model = load_model(FIXTURES / "residual.keras")
    path = model.export(tmp_path / "residual.onnx")
    graph = onnx.load(str(path))
    assert {node.op_type for node in graph.graph.node} >= {"Conv", "Add"}
    (inputs,) = graph.graph.input
    dims = inputs.type.tensor_type.shape.dim
    assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == [16, 16, 3]
    x = np.random.default_rng(0).normal(size=(37, 16, 16, 3)).astype(np.float32)
    expected = model.predict(x)
    np.testing.assert_allclose(onnx_predict(path, x, batch_size=16), expected, atol=1e-5)
    np.testing.assert_allclose(onnx_predict(path, x[:1]), expected[:1], atol=1e-5)


def test_residual_model_torchscript_matches_convscope(tmp_path: Path) -> None:
    model = load_model(FIXTURES / "residual.keras")
    path = model.export(tmp_path / "residual.pt")
    x = np.random.default_rng(1).normal(size=(5, 16, 16, 3)).astype(np.float32)
    with torch.no_grad():
        traced = torch.jit.load(str(path))(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(traced, model.predict(x), atol=1e-6)


def test_a_model_with_two_outputs_is_refused(tmp_path: Path) -> None:
    inputs = keras.Input((4,))
    model = Model(inputs, [layers.Dense(2)(inputs), layers.Dense(1)(inputs)])
    with pytest.raises(ValueError, match="has 1 inputs and 2 outputs; export takes models with one of each"):
        model.export(tmp_path / "two.onnx")
