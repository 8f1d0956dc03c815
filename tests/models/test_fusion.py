"""Sequential and functional models pool before relu where that is exact: same outputs, same
gradients, and never where a hook or an activity regularizer would see the difference. The
plan is made once per stack of layers and again only when the stack changes. A convolution
whose only reader is a 2x2 max pooling runs fused with it, in a stack or in a graph."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest
import torch

from convscope import Model, Sequential, layers, regularizers, zoo
from convscope.models import Functional, fusion
from convscope.models import graph as graph_module
from convscope.ops import cpu_kernels, winograd
from convscope.ops import pooling as ops_pooling
from convscope.ops.device import autocast


def layer_by_layer(model: Sequential, x: torch.Tensor) -> torch.Tensor:
    """The model's logits with every layer run whole, in order (no plan)."""
    *body, last = model.layers
    for layer in body:
        x = layer(x)
    return last.forward_logits(x)


def outputs_and_grads(model: Sequential, x: torch.Tensor, dtype: torch.dtype | None,
                      run: Callable[[Sequential, torch.Tensor], torch.Tensor]) -> list[torch.Tensor]:
    model.zero_grad(set_to_none=True)
    with autocast(model.device, dtype):
        out = run(model, x)
    (out.float() * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
    return [out.detach().float(), *(p.grad.clone() for p in model.parameters())]


MODELS: dict[str, Callable[[], Sequential]] = {
    "conv2d relu + max pool": lambda: Sequential([
        layers.Input((12, 12, 2)), layers.Conv2D(6, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(5, 3, activation="relu", padding="same"), layers.MaxPooling2D(2, padding="same"),
        layers.Flatten(), layers.Dense(4, activation="softmax")]),
    "conv1d relu + max pool 3/2": lambda: Sequential([
        layers.Input((40, 3)), layers.Conv1D(6, 5, activation="relu"), layers.MaxPooling1D(3, strides=2),
        layers.Flatten(), layers.Dense(3, activation="softmax")]),
    "Activation and ReLU layers": lambda: Sequential([
        layers.Input((10, 10, 1)), layers.Conv2D(4, 3), layers.Activation("relu"), layers.MaxPooling2D(2),
        layers.Conv2D(4, 2), layers.ReLU(), layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(2)]),
    "channels_first": lambda: Sequential([
        layers.Input((2, 12, 12)), layers.Conv2D(6, 3, activation="relu", data_format="channels_first"),
        layers.MaxPooling2D(2, data_format="channels_first"), layers.Flatten(), layers.Dense(3)]),
    "seed CNN": lambda: zoo.build("seed-cnn"),
    "seed CNN on RGB": lambda: zoo.build("seed-cnn", (32, 32, 3)),
}


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
@pytest.mark.parametrize("dtype", [None, torch.bfloat16], ids=["float32", "bfloat16"])
@pytest.mark.parametrize("name", list(MODELS))
def test_fused_model_matches_layer_by_layer_exactly(name: str, dtype: torch.dtype | None, layout: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # The rewrite alone is exact; fusing a convolution into its pooling (the C kernels, see
    # tests/ops/test_cpu_kernels.py and test_winograd.py) changes float32 rounding, so it is off here.
    monkeypatch.setattr(ops_pooling, "conv_pool_path", lambda *args: "torch")
    torch.manual_seed(0)
    model = MODELS[name]()
    if layout == "channels_last":
        model.to_device("cpu")  # as compile leaves it: 4-D kernels channels_last
    assert fusion.plan(model.layers[:-1]).pairs(model.layers[:-1])
    shape = (16, *model.input_shape[1:])
    # Whole numbers of a small range: many ties inside pooling windows, incl. all-negative ones.
    x = torch.randint(-3, 4, shape).float()
    fused = outputs_and_grads(model, x, dtype, lambda model, x: model(x, logits=True))
    plain = outputs_and_grads(model, x, dtype, layer_by_layer)
    for a, b in zip(fused, plain):
        assert torch.equal(a, b)


def pairs(model: Sequential) -> list[tuple[str, str]]:
    return [(layer.name, pool.name) for layer, pool in fusion.plan(model.layers).pairs(model.layers)]


def test_only_relu_followed_by_max_pooling_is_rewritten() -> None:
    model = Sequential([
        layers.Input((16, 16, 1)),
        layers.Conv2D(4, 3, activation="relu", name="a"), layers.MaxPooling2D(2, name="pa"),
        layers.Conv2D(4, 3, activation="tanh", name="b"), layers.MaxPooling2D(1, name="pb"),
        layers.Conv2D(4, 1, activation="relu", name="c"), layers.AveragePooling2D(1, name="pc"),
        layers.ReLU(max_value=6.0, name="d"), layers.MaxPooling2D(1, name="pd"),
        layers.Conv2D(4, 1, activation="relu", name="e"), layers.Dropout(0.1, name="drop"),
        layers.MaxPooling2D(2, name="pe"),
    ])
    assert pairs(model) == [("a", "pa")]


def test_activity_regularizer_or_hook_keeps_the_layer_whole() -> None:
    conv = layers.Conv2D(4, 3, activation="relu", name="conv")
    pool = layers.MaxPooling2D(2, name="pool")
    model = Sequential([layers.Input((10, 10, 1)), conv, pool, layers.Flatten(), layers.Dense(2)])
    assert pairs(model) == [("conv", "pool")]

    seen: list[torch.Tensor] = []
    handle = conv.register_forward_hook(lambda module, args, output: seen.append(output))
    assert pairs(model) == []
    model(torch.randn(3, 10, 10, 1))
    assert seen and seen[0].shape == (3, 8, 8, 4) and float(seen[0].detach().min()) == 0.0  # the relu'd map
    handle.remove()
    assert pairs(model) == [("conv", "pool")]

    regularized = Sequential([layers.Input((10, 10, 1)),
                              layers.Conv2D(4, 3, activation="relu", activity_regularizer=regularizers.L2(0.1)),
                              layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(2)])
    assert pairs(regularized) == []


# The first layer's input needs no gradient: PyTorch says its backward hooks see output gradients only.
@pytest.mark.filterwarnings("ignore:Full backward hook is firing:UserWarning")
@pytest.mark.parametrize("hook", ["forward", "forward with kwargs", "forward pre", "full backward",
                                  "full backward pre"])
def test_every_kind_of_hook_on_the_seed_cnns_first_conv_sees_it_run_whole(hook: str) -> None:
    torch.manual_seed(0)
    model = zoo.build("seed-cnn").to_device("cpu")
    conv = model.layers[0]
    x = torch.rand(4, 28, 28, 1)
    seen: list[object] = []
    record = lambda *args: seen.append(args[-1])  # noqa: E731 - the last argument: output, inputs or gradient
    register = {
        "forward": lambda: conv.register_forward_hook(record),
        "forward with kwargs": lambda: conv.register_forward_hook(record, with_kwargs=True),
        "forward pre": lambda: conv.register_forward_pre_hook(record),
        "full backward": lambda: conv.register_full_backward_hook(record),
        "full backward pre": lambda: conv.register_full_backward_pre_hook(record),
    }[hook]
    handle = register()
    assert conv.observed and pairs(model)[0] != (conv.name, model.layers[1].name)
    model(x, logits=True)[:, 0].sum().backward()
    assert len(seen) == 1  # the conv ran as a module: its hook saw it
    if hook == "forward":
        assert seen[0].shape == (4, 26, 26, 64) and float(seen[0].detach().min()) == 0.0  # the relu'd map
    handle.remove()
    assert not conv.observed and pairs(model)[0] == (conv.name, model.layers[1].name)
    model(x, logits=True)[:, 0].sum().backward()
    assert len(seen) == 1


def test_the_plan_is_made_once_and_again_when_the_stack_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[int] = []
    plan_steps = fusion.plan_steps
    monkeypatch.setattr(fusion, "plan_steps", lambda stack: (made.append(len(stack)), plan_steps(stack))[1])
    torch.manual_seed(0)
    model = zoo.build("seed-cnn")
    x = torch.rand(2, 28, 28, 1)
    for _ in range(3):
        model(x)
        model.predict(x.numpy(), verbose=0)
    assert made == [6]  # the body: every layer but the last
    model.add(layers.Dense(4, name="extra"))
    model(x)
    model.pop()
    model(x)
    model(x)
    assert made == [6, 7, 6]
    conv, pool = model.layers[:2]
    handle = pool.register_forward_hook(lambda *args: None)
    model(x)
    handle.remove()
    model(x)
    model(x)
    assert made == [6, 7, 6, 6, 6]
    assert pairs(model)[0] == (conv.name, pool.name)


def test_a_model_ending_in_relu_and_pool_still_runs_them_in_order() -> None:
    torch.manual_seed(0)
    model = Sequential([layers.Input((6, 6, 1)), layers.Conv2D(2, 3, activation="relu"), layers.MaxPooling2D(2)])
    x = torch.randn(2, 6, 6, 1)
    conv, pool = model.layers
    expected = pool(conv(x))
    np.testing.assert_array_equal(model(x).detach().numpy(), expected.detach().numpy())


kernels_built = pytest.mark.skipif(not cpu_kernels.available(), reason="the C kernels are not built here")


def fused_input_channels(model: Sequential, x: torch.Tensor, monkeypatch: pytest.MonkeyPatch,
                         training: bool) -> list[str]:
    """Which kernel ran every convolution fused with its pooling in one forward, and its input
    channels ("few 1": the few-channel kernel on 1 channel; "winograd 64": Winograd on 64)."""
    seen: list[str] = []
    kernels = [(cpu_kernels, "conv_max_pool_2x2", "few"), (winograd, "conv3x3_max_pool_2x2", "winograd")]
    originals = [getattr(module, name) for module, name, _ in kernels]
    for (module, name, label), fused in zip(kernels, originals):
        def recorded(inputs, kernel, *args, fused=fused, label=label, **kwargs):
            seen.append(f"{label} {kernel.shape[1]}")
            return fused(inputs, kernel, *args, **kwargs)

        monkeypatch.setattr(module, name, recorded)
    with torch.set_grad_enabled(training):
        model(x)
    for (module, name, _), fused in zip(kernels, originals):
        monkeypatch.setattr(module, name, fused)
    return seen


# A first conv with few input channels takes the few-channel kernel; a 3x3 conv with more takes
# Winograd, training or not. A conv with few input channels after the first fuses only where no
# gradient is needed (prediction): the few-channel kernel gives its input no gradient.
FEW = cpu_kernels.MAX_FUSED_INPUT_CHANNELS  # the most input channels the few-channel kernel takes
PLANS = {
    "seed CNN": (lambda: zoo.build("seed-cnn"), ["few 1", "winograd 64"], ["few 1", "winograd 64"]),
    "seed CNN on RGB": (lambda: zoo.build("seed-cnn", (32, 32, 3)), ["few 3", "winograd 64"],
                        ["few 3", "winograd 64"]),
    f"RGB, {FEW} channels into the second conv": (lambda: Sequential([
        layers.Input((20, 20, 3)), layers.Conv2D(FEW, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(6, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(3)]),
        ["few 3"], ["few 3", f"few {FEW}"]),
    f"{FEW + 1} input channels, 3x3": (lambda: Sequential([
        layers.Input((12, 12, FEW + 1)), layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(3)]), [f"winograd {FEW + 1}"], [f"winograd {FEW + 1}"]),
    f"{FEW + 1} input channels, 5x5": (lambda: Sequential([
        layers.Input((12, 12, FEW + 1)), layers.Conv2D(4, 5, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(3)]), [], []),
}


@kernels_built
@pytest.mark.parametrize("name", list(PLANS))
def test_which_convolutions_run_fused_with_their_pooling(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    build, training_plan, prediction_plan = PLANS[name]
    torch.manual_seed(0)
    model = build().to_device("cpu")
    convs = [layer.name for layer in model.layers if isinstance(layer, layers.Conv2D)]
    # every conv is followed by max pooling, and pools before its relu
    assert pairs(model) == [(conv, conv.replace("conv2d", "max_pooling2d")) for conv in convs]
    x = torch.rand(2, *model.input_shape[1:])
    with cpu_kernels.enabled(True):
        assert fused_input_channels(model, x, monkeypatch, training=True) == training_plan
        assert fused_input_channels(model, x, monkeypatch, training=False) == prediction_plan
    with cpu_kernels.enabled(False):
        assert fused_input_channels(model, x, monkeypatch, training=True) == []


@pytest.mark.parametrize("kernels", [True, False], ids=["kernels on", "kernels off"])
def test_a_transposed_convolution_pools_before_its_relu_but_never_runs_as_the_fused_kernel(
        kernels: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    model = Sequential([layers.Input((12, 12, 1)), layers.Conv2DTranspose(4, 3, activation="relu"),
                        layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(3)]).to_device("cpu")
    transposed = model.layers[0]
    assert pairs(model) == [(transposed.name, model.layers[1].name)]
    assert not transposed.fusable_with_pool(model.layers[1])  # the kernel computes a plain convolution
    x = torch.randint(-3, 4, (4, 12, 12, 1)).float()
    with cpu_kernels.enabled(kernels):
        assert fused_input_channels(model, x, monkeypatch, training=False) == []
        with torch.no_grad():
            torch.testing.assert_close(model(x, logits=True), layer_by_layer(model, x), rtol=0, atol=0)


def outputs_and_parameter_grads(model: Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    model.zero_grad(set_to_none=True)
    out = model(x, logits=True)
    (out * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
    with torch.no_grad():
        predicted = model(x, logits=True)
    return [out.detach(), predicted, *(p.grad.clone() for p in model.parameters())]


@kernels_built
@pytest.mark.parametrize(("name", "threads"), [
    *((name, 1) for name in list(PLANS)[:3]),
    ("seed CNN on RGB", 2),  # the kernels split pooled rows over threads and sum a gradient part per thread
])
def test_fused_convolutions_give_the_plain_paths_outputs_and_gradients(name: str, threads: int,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)  # what the kernels are told to use
    torch.manual_seed(0)
    model = PLANS[name][0]().to_device("cpu")
    x = torch.rand(5, *model.input_shape[1:])  # an odd batch: threads get unequal shares
    with cpu_kernels.enabled(True):
        fused = outputs_and_parameter_grads(model, x)
    for parameter in model.parameters():  # the fused kernel's gradient keeps the kernel's layout
        assert parameter.grad.stride() == parameter.stride()
    with cpu_kernels.enabled(False):
        plain = outputs_and_parameter_grads(model, x)
    names = ["training output", "predicted output", *(label for label, _ in model.named_parameters())]
    for label, ours, theirs in zip(names, fused, plain, strict=True):
        scale = float(theirs.abs().max())
        assert scale > 0, label
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5 * scale, msg=label)


# -- functional graphs: the same rewrites wherever a layer's only reader is its max pooling ------------

def graph_unfused(model: Functional, x: torch.Tensor) -> torch.Tensor:
    """The model's logits with every node run whole, in order (no pairs, no plan)."""
    whole = dataclasses.replace(model.graph, pooled={})
    (out,) = graph_module.run(whole, [x], {id(model.graph.outputs[0])})
    return out


def graph_pairs(model: Functional) -> list[tuple[str, str]]:
    return [(node.layer.name, model.graph.pooled[id(node)].layer.name) for node in model.graph.nodes
            if id(node) in model.graph.pooled]


def relu_pool_graph() -> Functional:
    """Conv -> BatchNormalization -> ReLU -> max pool; a conv whose relu output a max pooling and
    an Add both read (so it is not paired); a relu layer before max pooling; a 3x3 relu conv
    before 2x2 max pooling deep in the graph (its input needs a gradient)."""
    inputs = layers.Input((16, 16, 2))
    x = layers.ReLU(name="stem_relu")(layers.BatchNormalization()(layers.Conv2D(6, 3, padding="same")(inputs)))
    x = layers.MaxPooling2D(2, name="stem_pool")(x)
    y = layers.Conv2D(6, 3, padding="same", activation="relu", name="shared_output")(x)
    x = layers.Add()([layers.MaxPooling2D(1, name="side_pool")(y), y])
    x = layers.Activation("relu", name="act")(x)
    x = layers.MaxPooling2D(2, name="act_pool")(x)
    x = layers.Conv2D(5, 3, padding="same", activation="relu", name="deep")(x)
    x = layers.MaxPooling2D(2, name="deep_pool")(x)
    outputs = layers.Dense(3, activation="softmax")(layers.GlobalAveragePooling2D()(x))
    return Model(inputs, outputs)


def steady(model: Functional) -> Functional:
    """`model` with its augmentation layers (the residual CNN's RandomFlip) passing images
    through, so that two runs in training mode see the same images."""
    for layer in model.layers:
        if isinstance(layer, layers.RandomFlip):
            layer.eval()
    return model


GRAPHS: dict[str, Callable[[], Functional]] = {
    "residual CNN": lambda: zoo.build("residual-cnn"),
    "residual CNN on RGB": lambda: zoo.build("residual-cnn", (32, 32, 3)),
    "relu layers and a shared output": relu_pool_graph,
}


def test_a_graph_pairs_each_relu_whose_only_reader_is_a_max_pooling() -> None:
    assert graph_pairs(zoo.build("residual-cnn")) == [("conv2d", "max_pooling2d")]
    assert graph_pairs(relu_pool_graph()) == [("stem_relu", "stem_pool"), ("act", "act_pool"), ("deep", "deep_pool")]


@pytest.mark.parametrize("dtype", [None, torch.bfloat16], ids=["float32", "bfloat16"])
@pytest.mark.parametrize("name", list(GRAPHS))
def test_a_fused_graph_matches_the_graph_run_node_by_node_exactly(name: str, dtype: torch.dtype | None,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # The rewrite alone is exact; the fused kernels' rounding is checked against the plain path below.
    monkeypatch.setattr(ops_pooling, "conv_pool_path", lambda *args: "torch")
    torch.manual_seed(0)
    model = GRAPHS[name]().to_device("cpu")
    steady(model.train())  # BatchNormalization with batch statistics: the gradients reach every layer
    x = torch.randint(-3, 4, (8, *model.input_shape[1:])).float()
    fused = outputs_and_grads(model, x, dtype, lambda model, x: model(x, logits=True))
    plain = outputs_and_grads(model, x, dtype, graph_unfused)
    for a, b in zip(fused, plain, strict=True):
        assert torch.equal(a, b)


@kernels_built
@pytest.mark.parametrize(("name", "training_plan", "prediction_plan"), [
    ("residual CNN", ["few 1"], ["few 1"]), ("residual CNN on RGB", ["few 3"], ["few 3"]),
    ("relu layers and a shared output", ["winograd 6"], ["winograd 6"]),
])
def test_which_convolutions_of_a_graph_run_fused_with_their_pooling(
        name: str, training_plan: list[str], prediction_plan: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    model = GRAPHS[name]().to_device("cpu")
    x = torch.rand(2, *model.input_shape[1:])
    with cpu_kernels.enabled(True):
        assert fused_input_channels(model, x, monkeypatch, training=True) == training_plan
        assert fused_input_channels(model, x, monkeypatch, training=False) == prediction_plan
        predicted = model.predict(x.numpy(), verbose=0)
    with cpu_kernels.enabled(False):
        assert fused_input_channels(model, x, monkeypatch, training=True) == []
        np.testing.assert_allclose(model.predict(x.numpy(), verbose=0), predicted, rtol=1e-5, atol=1e-6)


@kernels_built
@pytest.mark.parametrize("threads", [1, 2])
def test_the_residual_cnns_fused_stem_gives_the_plain_paths_outputs_and_gradients(
        threads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    torch.manual_seed(0)
    model = steady(zoo.build("residual-cnn").to_device("cpu"))
    x = torch.rand(5, 28, 28, 1)
    with cpu_kernels.enabled(True):
        fused = outputs_and_parameter_grads(model, x)
    with cpu_kernels.enabled(False):
        plain = outputs_and_parameter_grads(model, x)
    names = ["training output", "predicted output", *(label for label, _ in model.named_parameters())]
    for label, ours, theirs in zip(names, fused, plain, strict=True):
        scale = float(theirs.abs().max())
        assert scale > 0, label
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5 * scale, msg=label)


@kernels_built
def test_a_hook_on_a_graphs_stem_keeps_it_whole_until_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    model = steady(zoo.build("residual-cnn").to_device("cpu"))
    stem, pool = model.get_layer("conv2d"), model.get_layer("max_pooling2d")
    x = torch.rand(3, 28, 28, 1)
    with cpu_kernels.enabled(True):
        expected = model(x).detach()
        seen: list[torch.Tensor] = []
        handle = stem.register_forward_hook(lambda layer, args, output: seen.append(output))
        assert fused_input_channels(model, x, monkeypatch, training=False) == []  # observed: run whole
        (output,) = seen
        assert output.shape == (3, 28, 28, 32) and float(output.min()) == 0.0  # the relu'd full map
        torch.testing.assert_close(model(x).detach(), expected, rtol=1e-5, atol=1e-6)
        handle.remove()
        assert fused_input_channels(model, x, monkeypatch, training=False) == ["few 1"]
        pool_handle = pool.register_forward_pre_hook(lambda layer, args: None)
        assert fused_input_channels(model, x, monkeypatch, training=False) == []
        pool_handle.remove()
    assert len(seen) == 2  # the hook saw both whole runs, and nothing after its removal
