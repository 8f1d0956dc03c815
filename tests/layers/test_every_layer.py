"""`run_layer_test` on every layer class convscope exports, the seed CNN's and the spectrum CNN's
shapes first; a layer without a case fails `test_every_layer_class_has_a_case`.

To cover a new layer, add one line to CASES: "ClassName: what the case shows" mapped to
Case(constructor arguments, input shape with batch axis, expected output shape, expected params).
The table of layers x checks is printed at the end of the run (tests/conftest.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

from convscope import Sequential, layers, optimizers
from convscope.layers import LAYERS, Layer
from convscope.testing import LayerTestFailure, run_layer_test


class Case(NamedTuple):
    kwargs: dict[str, Any]
    input_shape: tuple[int | None, ...]
    output_shape: tuple[int | None, ...]
    params: int


CASES: dict[str, Case] = {
    "Conv2D: seed CNN's first conv": Case({"filters": 64, "kernel_size": (3, 3), "activation": "relu"}, (None, 28, 28, 1), (None, 26, 26, 64), 640),
    "Conv2D: 64 filters on 13x13x32": Case({"filters": 64, "kernel_size": 3, "activation": "relu"}, (None, 13, 13, 32), (None, 11, 11, 64), 18_496),
    "Conv2D: same, strided, no bias, l2": Case({"filters": 8, "kernel_size": (3, 2), "strides": 2, "padding": "same", "use_bias": False, "kernel_regularizer": "l2"}, (None, 9, 9, 3), (None, 5, 5, 8), 144),
    "Conv2D: dilated tanh": Case({"filters": 4, "kernel_size": 3, "dilation_rate": 2, "activation": "tanh"}, (None, 10, 10, 2), (None, 6, 6, 4), 76),
    "Conv2D: channels_first": Case({"filters": 4, "kernel_size": 3, "data_format": "channels_first"}, (None, 3, 8, 8), (None, 4, 6, 6), 112),
    "Conv1D: spectrum CNN's first conv": Case({"filters": 16, "kernel_size": 7, "padding": "same", "activation": "relu"}, (None, 300, 1), (None, 300, 16), 128),
    "Conv1D: strided, on 16 channels": Case({"filters": 32, "kernel_size": 5, "strides": 2}, (None, 150, 16), (None, 73, 32), 2_592),
    "Conv1D: causal, dilated": Case({"filters": 6, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (None, 20, 4), (None, 20, 6), 78),
    "MaxPooling2D: 2x2 on 26x26x32": Case({"pool_size": (2, 2)}, (None, 26, 26, 32), (None, 13, 13, 32), 0),
    "MaxPooling2D: 2x2 on an odd 11x11x64": Case({"pool_size": 2}, (None, 11, 11, 64), (None, 5, 5, 64), 0),
    "MaxPooling2D: 3x3, stride 2, same": Case({"pool_size": 3, "strides": 2, "padding": "same"}, (None, 7, 7, 3), (None, 4, 4, 3), 0),
    "MaxPooling1D: spectra": Case({"pool_size": 2}, (None, 300, 16), (None, 150, 16), 0),
    "MaxPooling1D: 3, stride 2, same": Case({"pool_size": 3, "strides": 2, "padding": "same"}, (None, 9, 2), (None, 5, 2), 0),
    "AveragePooling2D: 2x2": Case({"pool_size": 2}, (None, 8, 8, 3), (None, 4, 4, 3), 0),
    "AveragePooling2D: 3x3, stride 1, same": Case({"pool_size": 3, "strides": 1, "padding": "same"}, (None, 5, 5, 2), (None, 5, 5, 2), 0),
    "AveragePooling1D: spectra": Case({"pool_size": 4}, (None, 300, 8), (None, 75, 8), 0),
    "GlobalMaxPooling2D: seed CNN's last maps": Case({}, (None, 5, 5, 64), (None, 64), 0),
    "GlobalMaxPooling2D: keepdims": Case({"keepdims": True}, (None, 5, 5, 8), (None, 1, 1, 8), 0),
    "GlobalAveragePooling2D: 11x11x64": Case({}, (None, 11, 11, 64), (None, 64), 0),
    "GlobalMaxPooling1D: spectrum CNN's": Case({}, (None, 75, 32), (None, 32), 0),
    "GlobalAveragePooling1D: spectra": Case({}, (None, 75, 16), (None, 16), 0),
    "Flatten: seed CNN's": Case({}, (None, 5, 5, 64), (None, 1600), 0),
    "Flatten: channels_first": Case({"data_format": "channels_first"}, (None, 2, 3, 4), (None, 24), 0),
    "Dense: seed CNN's hidden layer": Case({"units": 128, "activation": "relu"}, (None, 1600), (None, 128), 204_928),
    "Dense: seed CNN's softmax output": Case({"units": 10, "activation": "softmax"}, (None, 128), (None, 10), 1_290),
    "Dense: no bias": Case({"units": 3, "use_bias": False}, (None, 7), (None, 3), 21),
    "Dropout: on the hidden layer": Case({"rate": 0.5}, (None, 128), (None, 128), 0),
    "Dropout: on feature maps": Case({"rate": 0.25}, (None, 13, 13, 64), (None, 13, 13, 64), 0),
    "BatchNormalization: after a conv": Case({}, (None, 26, 26, 64), (None, 26, 26, 64), 256),
    "BatchNormalization: dense features": Case({"momentum": 0.9, "epsilon": 1e-5}, (None, 128), (None, 128), 512),
    "BatchNormalization: axis 1, no scale": Case({"axis": 1, "scale": False}, (None, 3, 8, 8), (None, 3, 8, 8), 9),
    "Activation: relu on feature maps": Case({"activation": "relu"}, (None, 26, 26, 64), (None, 26, 26, 64), 0),
    "Activation: tanh": Case({"activation": "tanh"}, (None, 10), (None, 10), 0),
    "ReLU: on feature maps": Case({}, (None, 13, 13, 64), (None, 13, 13, 64), 0),
    "ReLU: clipped, leaky, threshold": Case({"max_value": 1.5, "negative_slope": 0.1, "threshold": 0.5}, (None, 10), (None, 10), 0),
    "Softmax: class scores": Case({}, (None, 10), (None, 10), 0),
    "Softmax: axis 1": Case({"axis": 1}, (None, 4, 5), (None, 4, 5), 0),
    "Input: MNIST images": Case({"shape": (28, 28, 1)}, (None, 28, 28, 1), (None, 28, 28, 1), 0),
}
THIS_FILE = Path(__file__).relative_to(Path(__file__).parents[2])


def layer_of(case_id: str) -> str:
    return case_id.split(":")[0].strip()


def exported_layer_classes() -> dict[str, type[Layer]]:
    """Every layer class a user can name: the registry (what configs name) and the public
    classes of `convscope.layers` (aliases such as Conv2D/Convolution2D count once)."""
    found: dict[str, type[Layer]] = dict(LAYERS)
    for name in layers.__all__:
        value = getattr(layers, name)
        if isinstance(value, type) and issubclass(value, Layer) and value is not Layer:
            found[value.__name__] = value
    return found


def test_every_layer_class_has_a_case() -> None:
    covered = {layer_of(case_id) for case_id in CASES}
    missing = sorted(set(exported_layer_classes()) - covered)
    assert not missing, (
        f"no run_layer_test case for {', '.join(missing)}. Add one line per layer to CASES in {THIS_FILE}, e.g. "
        f'"{missing[0]}: what it shows": Case({{constructor arguments}}, (None, *input shape), '
        "(None, *output shape), weight count),")


def test_every_case_names_an_exported_layer() -> None:
    unknown = sorted({layer_of(case_id) for case_id in CASES} - set(exported_layer_classes()))
    assert not unknown, f"CASES in {THIS_FILE} name layers convscope does not export: {unknown}"


def test_every_exported_layer_class_is_registered_for_loading() -> None:
    unregistered = sorted(name for name, cls in exported_layer_classes().items() if LAYERS.get(name) is not cls)
    assert not unregistered, (f"convscope.layers exports {unregistered} but LAYERS (what load_model and "
                              "model_from_config look up) does not hold them; add them to LAYERS")


@pytest.mark.parametrize("case_id", list(CASES))
def test_layer_case(case_id: str, record_property: Any) -> None:
    case = CASES[case_id]
    layer_cls = exported_layer_classes()[layer_of(case_id)]
    try:
        result = run_layer_test(layer_cls, case.kwargs, case.input_shape,
                                expected_output_shape=case.output_shape, expected_params=case.params)
    except LayerTestFailure as failure:
        record_property("layer_checks", {"case": case_id, "failed": failure.check})
        raise
    record_property("layer_checks", {"case": case_id, "checks": list(result.checks),
                                     "skipped": dict(result.skipped)})
    assert result.output_shape == case.output_shape and result.params == case.params
    assert {"shape", "params", "config", "save", "gradients"} <= set(result.checks)


def test_a_model_without_weights_compiles_and_evaluates() -> None:
    # torch.optim refuses an empty parameter list; Keras compiles such a model.
    model = Sequential([layers.Input((5, 4)), layers.Flatten()])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss="mse")
    x = np.arange(40, dtype=np.float32).reshape(2, 5, 4) / 40
    assert model.evaluate(x, np.zeros((2, 20), np.float32), verbose=0) == pytest.approx(float(np.mean(x ** 2)))
