"""Property-based tests: any layer arguments and any JSON model spec give either a working model
(it builds, runs a forward pass and its config rebuilds it) or a ValueError whose message names
the layer or the model config; no other exception escapes.

Two kinds of draws:
- near: a valid case from tests/layer_cases.py with up to two arguments changed, dropped or
  added and, half the time, other input sizes: what a user writes, and mostly working;
- hostile: any argument names and values, any shapes, any JSON.
Each test counts what worked and what was refused and asserts the counts, so a generator that
only produces errors, or a library that refuses everything, fails. Counts are printed (-s).
"""

from __future__ import annotations

import inspect
import json
from collections import Counter
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from layer_cases import CASES, exported_layer_classes, layer_of

from convscope import Sequential, layers
from convscope.layers import LAYERS, Layer
from convscope.models.saving import model_from_config

# A drawn input_shape argument behind the model's input is ignored, as Sequential warns.
pytestmark = pytest.mark.filterwarnings("ignore:.*input_shape=.* is ignored:UserWarning")
SETTINGS = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                    derandomize=True)
# Of the near draws, at least this share must build and run (measured: about 0.8).
NEAR_WORKING_SHARE = 0.6

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

# What a user might pass for an argument, by name (the suffix for initializers and the like);
# arguments not named here draw from `plausible`.
window = st.one_of(st.integers(1, 4), st.lists(st.integers(1, 4), min_size=1, max_size=2))
ARGUMENT_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "filters": st.integers(1, 8), "units": st.integers(1, 8), "kernel_size": window, "pool_size": window,
    "strides": window, "dilation_rate": st.one_of(st.integers(1, 3), st.lists(st.integers(1, 2), min_size=1, max_size=2)),
    "padding": st.sampled_from(["valid", "same", "causal"]),
    "data_format": st.sampled_from(["channels_last", "channels_first", None]),
    "activation": st.sampled_from(["relu", "softmax", "sigmoid", "tanh", "linear", "elu", "gelu", None]),
    "rate": st.floats(0, 0.95), "axis": st.integers(-3, 3), "momentum": st.floats(0, 0.999),
    "epsilon": st.floats(1e-6, 0.1), "use_bias": st.booleans(), "center": st.booleans(), "scale": st.booleans(),
    "keepdims": st.booleans(), "trainable": st.booleans(), "max_value": st.one_of(st.none(), st.floats(0, 6)),
    "negative_slope": st.floats(0, 1), "threshold": st.floats(-1, 1), "seed": st.one_of(st.none(), st.integers(0, 99)),
    "shape": st.lists(st.integers(1, 12), min_size=1, max_size=3), "batch_size": st.one_of(st.none(), st.integers(1, 4)),
    "name": st.sampled_from([None, "first", "block_2"]),
    "_initializer": st.sampled_from(["glorot_uniform", "he_normal", "lecun_normal", "zeros", "ones"]),
    "_regularizer": st.sampled_from([None, "l1", "l2", "l1_l2"]),
    "_constraint": st.sampled_from([None, "max_norm", "non_neg", "unit_norm"]),
}


def arguments_of(layer_class: type) -> list[str]:
    """The keyword arguments a layer class accepts (its own and the base Layer's)."""
    names = [name for name in inspect.signature(layer_class.__init__).parameters if name not in ("self", "kwargs")]
    return [*names, "name", "trainable", "activity_regularizer", "unexpected_argument"]


def required_arguments(layer_class: type) -> list[str]:
    """Arguments without defaults: always given (leaving one out is Python's TypeError, by design)."""
    return [name for name, parameter in inspect.signature(layer_class.__init__).parameters.items()
            if name != "self" and parameter.default is inspect.Parameter.empty
            and parameter.kind is not inspect.Parameter.VAR_KEYWORD]


def plausible_value(name: str) -> st.SearchStrategy[Any]:
    if name in ARGUMENT_VALUES:
        return ARGUMENT_VALUES[name]
    suffix = next((key for key in ARGUMENT_VALUES if key.startswith("_") and name.endswith(key)), None)
    return plausible if suffix is None else ARGUMENT_VALUES[suffix]


# A merge layer's case has a list of input shapes: a functional model, which a one-layer
# Sequential and its JSON spec cannot hold (tests/layers/test_every_layer.py runs those cases).
# A recurrent cell's case gives the sequence of the RNN(cell) that runs it (a cell alone takes
# one step); the RNN cases with cells in their config stand for them here.
ONE_INPUT_CASES = {case_id: case for case_id, case in CASES.items() if not isinstance(case.input_shape, list)
                   and not layer_of(case_id).endswith(("Cell", "Cells"))}


@st.composite
def near_arguments(draw: st.DrawFn) -> tuple[str, type[Layer], dict[str, Any], list[Any]]:
    """A valid case with up to two arguments changed, dropped or added, sometimes resized."""
    case_id = draw(st.sampled_from(sorted(ONE_INPUT_CASES)))
    case = CASES[case_id]
    layer_class = exported_layer_classes()[layer_of(case_id)]
    arguments = dict(case.kwargs)
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from(arguments_of(layer_class)))
        if name in arguments and name not in required_arguments(layer_class) and draw(st.booleans()):
            del arguments[name]
        else:
            arguments[name] = draw(plausible_value(name))
    shape = list(case.input_shape[1:])
    if draw(st.booleans()):
        shape = [size if size is None else draw(st.integers(1, 2 * size)) for size in shape]
    return "near", layer_class, arguments, shape


@st.composite
def hostile_arguments(draw: st.DrawFn) -> tuple[str, type[Layer], dict[str, Any], list[Any]]:
    layer_class = draw(st.sampled_from(sorted(LAYERS.values(), key=lambda cls: cls.__name__)))
    names = draw(st.lists(st.sampled_from(arguments_of(layer_class)), unique=True, max_size=4))
    names += [name for name in required_arguments(layer_class) if name not in names]
    pool = draw(st.sampled_from([plausible, small_values]))  # half the cases hostile throughout
    arguments = {name: draw(pool) for name in names}
    return "hostile", layer_class, arguments, draw(small_shapes)


def one_layer_model(layer: Layer, shape: list[Any]) -> Sequential:
    if isinstance(layer, layers.InputLayer):  # an Input is the model's input, not one of its layers
        return Sequential([layer])
    return Sequential([layers.Input(tuple(shape)), layer])


def run_forward(model: Sequential) -> None:
    """Evidence that a model works: a forward pass on zeros of its input shape gives the output
    shape the model declares."""
    if model.input_shape is None or not len(model.layers):
        return
    sample = [size if size is not None else 3 for size in model.input_shape[1:]]
    with torch.no_grad():
        outputs = model(torch.zeros((2, *sample)))
    declared = model.output_shape
    assert declared is not None and len(outputs.shape) == len(declared), (outputs.shape, declared)
    assert all(want is None or want == got for want, got in zip(declared[1:], outputs.shape[1:])), (
        f"{model.get_config()}: output {tuple(outputs.shape)}, declared {declared}")


def check_round_trip(model: Sequential) -> None:
    """The model's config rebuilds a model with the same config."""
    config = json.loads(json.dumps(model.get_config()))
    assert json.loads(json.dumps(model_from_config(config).get_config())) == config


def assert_counts(counts: Counter[str], test: str) -> None:
    print(f"\n{test}: {dict(sorted(counts.items()))}")
    assert counts["near: working"] >= NEAR_WORKING_SHARE * counts["near"], (
        f"only {counts['near: working']} of {counts['near']} near-valid cases worked")
    assert counts["near: refused"] >= 1 and counts["hostile: refused"] >= 1


def names_the_layer(message: str, layer_class: type[Layer]) -> bool:
    # A bad shape is refused by the Input in front of the layer, which names itself "Input".
    return layer_class.__name__ in message or message.startswith("Input")


def check_layer(layer_class: type[Layer], arguments: dict[str, Any], shape: list[Any]) -> None:
    """Build, run and rebuild from its config a one-layer model; ValueError when refused."""
    model = one_layer_model(layer_class(**arguments), shape)
    run_forward(model)
    check_round_trip(model)


def check_spec(spec: Any) -> Sequential:
    model = model_from_config(spec)
    run_forward(model)
    check_round_trip(model)
    return model


def spec_of(layer_class: type[Layer], arguments: dict[str, Any], shape: list[Any]) -> Any:
    entry = {"class_name": layer_class.__name__, "config": arguments}
    spec = {"layers": [entry]} if issubclass(layer_class, layers.InputLayer) else {"input_shape": shape, "layers": [entry]}
    return json.loads(json.dumps(spec))


def test_every_layer_case_works_as_arguments_and_as_a_spec() -> None:
    """The starting points of the near draws: each valid case of tests/layer_cases.py builds,
    runs and round-trips, from Python arguments and from a JSON spec (through the preflight)."""
    for case_id, case in ONE_INPUT_CASES.items():
        layer_class = exported_layer_classes()[layer_of(case_id)]
        check_layer(layer_class, dict(case.kwargs), list(case.input_shape[1:]))
        check_spec(spec_of(layer_class, dict(case.kwargs), list(case.input_shape[1:])))


# What the property tests once found, checked on every run: each must be refused with a
# ValueError naming the layer (no torch error, no model that cannot be reloaded).
FOUND = [
    ("BatchNormalization", {"epsilon": 0.0, "axis": 1}, [1]),  # torch's "eps must be positive"
    ("Reshape", {"target_shape": 1}, [None]),  # a size unknown when built: torch's RuntimeError
    ("Resizing", {"height": 14, "width": 14, "interpolation": [1]}, [28, 28, 1]),  # TypeError: unhashable
    ("Add", {"input_shape": 1}, [1]),  # TypeError: 'int' object is not iterable
    ("Dense", {"units": 2, "input_shape": (0,)}, [3]),
    ("InputLayer", {"shape": True}, [1]),  # True taken for a size; the saved config did not load
    ("Rescaling", {"scale": [1, 1]}, [3]),  # one scale per channel, for 2 channels: torch's RuntimeError
    ("Rescaling", {"scale": 1.0, "offset": [1, 1]}, [28, 28, 1]),  # broadcast to 2 channels, declared 1
    ("PReLU", {"shared_axes": 0.0}, [13, 13, 32]),  # TypeError: 'float' object is not iterable
]


def test_what_the_property_tests_found_is_refused_naming_the_layer() -> None:
    for name, arguments, shape in FOUND:
        with pytest.raises(ValueError) as refused:
            check_layer(LAYERS[name], arguments, shape)
        assert names_the_layer(str(refused.value), LAYERS[name]), refused.value


def test_any_layer_arguments_build_a_working_layer_or_raise_value_error() -> None:
    counts: Counter[str] = Counter()

    @SETTINGS
    @given(st.one_of(near_arguments(), hostile_arguments()))
    def check(drawn: tuple[str, type[Layer], dict[str, Any], list[Any]]) -> None:
        kind, layer_class, arguments, shape = drawn
        counts[kind] += 1
        try:
            check_layer(layer_class, arguments, shape)
        except ValueError as error:
            counts[f"{kind}: refused"] += 1
            assert names_the_layer(str(error), layer_class), (
                f"{layer_class.__name__}({arguments}) on {shape}: the error does not name the layer: {error}")
            return
        counts[f"{kind}: working"] += 1

    check()
    assert_counts(counts, "layer arguments")


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


@st.composite
def near_specs(draw: st.DrawFn) -> tuple[str, Any]:
    """A one-layer spec from a near-valid case, as JSON."""
    _, layer_class, arguments, shape = draw(near_arguments())
    return "near", spec_of(layer_class, arguments, shape)


hostile_specs = st.one_of(spec_strategy(plausible, hostile=False), spec_strategy(values, hostile=True), values)


def names_a_layer_or_the_config(message: str) -> bool:
    return "model config" in message or "layer" in message or any(name in message for name in LAYERS)


def test_any_model_spec_gives_a_working_model_or_value_error() -> None:
    counts: Counter[str] = Counter()

    @SETTINGS
    @given(st.one_of(near_specs(), st.tuples(st.just("hostile"), hostile_specs)))
    def check(drawn: tuple[str, Any]) -> None:
        kind, spec = drawn
        counts[kind] += 1
        try:
            check_spec(spec)
        except ValueError as error:
            counts[f"{kind}: refused"] += 1
            assert names_a_layer_or_the_config(str(error)), f"{spec}: the error names no layer: {error}"
            return
        counts[f"{kind}: working"] += 1

    check()
    assert_counts(counts, "model specs")
