"""Property-based tests: any layer arguments and any JSON model spec give either a working model
(it builds and runs a forward pass) or a ValueError with a message; no other exception escapes.

Case counts are printed at the end of the module (run with -s to see them).
"""

from __future__ import annotations

import inspect
from collections import Counter
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convscope import Sequential, layers
from convscope.layers import LAYERS
from convscope.models.saving import model_from_config

CASES: Counter[str] = Counter()
SETTINGS = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                    derandomize=True)

WORDS = ["relu", "softmax", "sigmoid", "tanh", "linear", "same", "valid", "causal", "channels_last",
         "channels_first", "glorot_uniform", "he_normal", "zeros", "ones", "l2", "max_norm", "adam", "", "nope"]
small_int = st.integers(min_value=-2, max_value=9)
# Plausible values are drawn as often as hostile ones, so working models are explored too.
plausible = st.one_of(st.integers(1, 4), st.sampled_from(WORDS[:11]), st.lists(st.integers(1, 3), min_size=1, max_size=2),
                      st.booleans(), st.floats(0, 0.9))
values = st.recursive(
    st.one_of(plausible, plausible, st.none(), st.booleans(), small_int, st.sampled_from([0, 2**21, 10**12, -(2**40)]),
              st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(WORDS), st.text(max_size=4)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["class_name", "config", "value", "l2"]), inner, max_size=2)),
    max_leaves=6,
)
sample_shapes = st.lists(st.one_of(st.integers(1, 12), st.sampled_from([None, 0, -1, 2**21])), min_size=1, max_size=4)
# Direct Python calls allocate what they are asked for (a model file is checked first; code is
# trusted), so the layer-argument test keeps sizes small enough to run.
small_values = st.recursive(
    st.one_of(plausible, plausible, st.none(), st.booleans(), small_int, st.just(-(2**40)), st.floats(allow_nan=True, allow_infinity=True),
              st.sampled_from(WORDS), st.text(max_size=4)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["class_name", "config", "value", "l2"]), inner, max_size=2)),
    max_leaves=6,
)
small_shapes = st.lists(st.one_of(st.integers(1, 12), st.sampled_from([None, 0, -1])), min_size=1, max_size=4)


def arguments_of(layer_class: type) -> list[str]:
    """The keyword arguments a layer class accepts (its own and the base Layer's)."""
    names = [name for name in inspect.signature(layer_class.__init__).parameters if name not in ("self", "kwargs")]
    return [*names, "name", "trainable", "activity_regularizer", "unexpected_argument"]


def required_arguments(layer_class: type) -> list[str]:
    """Arguments without defaults: always given (leaving one out is Python's TypeError, by design)."""
    return [name for name, parameter in inspect.signature(layer_class.__init__).parameters.items()
            if name != "self" and parameter.default is inspect.Parameter.empty
            and parameter.kind is not inspect.Parameter.VAR_KEYWORD]


@st.composite
def layer_arguments(draw: st.DrawFn) -> tuple[type, dict[str, Any], list[Any]]:
    layer_class = draw(st.sampled_from(sorted(LAYERS.values(), key=lambda cls: cls.__name__)))
    names = draw(st.lists(st.sampled_from(arguments_of(layer_class)), unique=True, max_size=4))
    names += [name for name in required_arguments(layer_class) if name not in names]
    pool = draw(st.sampled_from([plausible, small_values]))  # half the cases hostile throughout
    arguments = {name: draw(pool) for name in names}
    return layer_class, arguments, draw(small_shapes)


def run_forward(model: Sequential) -> None:
    """Evidence that a model works: a forward pass on zeros of its input shape."""
    if model.input_shape is None or not len(model.layers):
        return
    sample = [size if size is not None else 3 for size in model.input_shape[1:]]
    with torch.no_grad():
        outputs = model(torch.zeros((2, *sample)))
    assert outputs.shape[0] == 2


def check_value_error(error: ValueError) -> None:
    assert str(error).strip(), "a ValueError must carry a message"


@SETTINGS
@given(layer_arguments())
def test_any_layer_arguments_build_a_working_layer_or_raise_value_error(case: tuple) -> None:
    layer_class, arguments, shape = case
    CASES["layer arguments"] += 1
    try:
        layer = layer_class(**arguments)
        model = Sequential([layers.Input(tuple(shape)), layer])
        run_forward(model)
        model_from_config(model.get_config())
        CASES["layer arguments: working"] += 1
    except ValueError as error:
        check_value_error(error)


CONFIG_KEYS = ["units", "filters", "kernel_size", "pool_size", "strides", "padding", "activation", "rate", "axis",
               "shape", "input_shape", "name", "data_format", "use_bias", "momentum", "keepdims", "dilation_rate"]


def spec_strategy(pool: st.SearchStrategy[Any], hostile: bool) -> st.SearchStrategy[Any]:
    """JSON model specs whose config values come from `pool`; `hostile` also garbles the structure."""
    config = st.dictionaries(st.sampled_from(CONFIG_KEYS), pool, max_size=4)
    class_name = st.sampled_from(sorted(LAYERS))
    if hostile:
        config = st.one_of(config, values)
        class_name = st.one_of(class_name, st.sampled_from(["Lambda", "Conv3D", ""]), values)
    entry = st.fixed_dictionaries({"class_name": class_name}, optional={"config": config})
    layer_list = st.lists(entry, max_size=4)
    shapes = st.one_of(sample_shapes, values) if hostile else st.lists(st.integers(1, 12), min_size=1, max_size=3)
    return st.fixed_dictionaries({"layers": st.one_of(layer_list, values) if hostile else layer_list},
                                 optional={"input_shape": shapes, "name": pool})


specs = st.one_of(spec_strategy(plausible, hostile=False), spec_strategy(values, hostile=True), values)


@SETTINGS
@given(st.one_of(specs, values))
def test_any_model_spec_gives_a_working_model_or_value_error(spec: Any) -> None:
    CASES["model specs"] += 1
    try:
        model = model_from_config(spec)
        run_forward(model)
        CASES["model specs: working"] += 1
    except ValueError as error:
        check_value_error(error)


@pytest.fixture(scope="module", autouse=True)
def report_case_counts() -> Any:
    yield
    print(f"\nhypothesis cases: {dict(CASES)}")
