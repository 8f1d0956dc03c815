"""`run_layer_test` on every layer class convscope exports, the seed CNN's and the spectrum CNN's
shapes first; a layer without a case fails `test_every_layer_class_has_a_case`.

The cases live in tests/layer_cases.py, one line each. The table of cases x checks is printed at
the end of the run (tests/conftest.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from layer_cases import CASES, CASES_FILE, exported_layer_classes, layer_of

from convscope import Sequential, layers, optimizers
from convscope.layers import LAYERS
from convscope.testing import LayerTestFailure, run_layer_test


def test_every_layer_class_has_a_case() -> None:
    covered = {layer_of(case_id) for case_id in CASES}
    missing = sorted(set(exported_layer_classes()) - covered)
    assert not missing, (
        f"no run_layer_test case for {', '.join(missing)}. Add one line per layer to CASES in {CASES_FILE}, e.g. "
        f'"{missing[0]}: what it shows": Case({{constructor arguments}}, (None, *input shape), '
        "(None, *output shape), weight count),")


def test_every_case_names_an_exported_layer() -> None:
    unknown = sorted({layer_of(case_id) for case_id in CASES} - set(exported_layer_classes()))
    assert not unknown, f"CASES in {CASES_FILE} name layers convscope does not export: {unknown}"


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
