"""The checks of what a layer declares and keeps: shape, params, config, save and one training
step (`run_layer_test` runs them by name)."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from convscope import optimizers
from convscope.layers import InputLayer
from convscope.models import load_model
from convscope.testing.subject import Subject, describe_difference, json_round_trip, one_layer_model


def check_shape(subject: Subject, expected: Sequence[int | None] | None) -> None:
    layer = subject.layer
    symbolic = tuple(layer.compute_output_shape(subject.input_shape))  # type: ignore[arg-type]  # a list for merges
    if layer.output_shape != symbolic:
        raise subject.failure("shape", f"built output_shape {layer.output_shape} differs from "
                              f"compute_output_shape({subject.input_shape}) = {symbolic}")
    if expected is not None and symbolic != tuple(expected):
        raise subject.failure("shape", f"output shape {symbolic} on input {subject.input_shape}; expected "
                              f"{tuple(expected)}")
    wanted = tuple(layer.compute_output_shape(subject.shapes(subject.inputs)))
    if layer.output_shape != symbolic:
        raise subject.failure("shape", "compute_output_shape changed the layer's output_shape; it must be pure")
    outputs = subject.infer(layer)
    if tuple(outputs.shape) != wanted or outputs.dtype != torch.float32:
        raise subject.failure("shape", f"float32 input {subject.shapes(subject.inputs)} gave {tuple(outputs.shape)} "
                              f"{outputs.dtype}; compute_output_shape says {wanted} float32")


def check_params(subject: Subject, expected: int | None) -> None:
    layer = subject.layer
    held = sum(tensor.numel() for tensor in layer.state_dict().values())
    needing_gradient = sum(parameter.numel() for parameter in layer.parameters() if parameter.requires_grad)
    trainable, _ = layer.param_counts()
    if layer.count_params() != held:
        raise subject.failure("params", f"count_params() is {layer.count_params():,} but its parameters and buffers "
                              f"hold {held:,} numbers; list every weight in keras_weights()")
    if trainable != needing_gradient:
        raise subject.failure("params", f"{trainable:,} trainable params counted but {needing_gradient:,} "
                              "parameters need a gradient")
    if expected is not None and layer.count_params() != expected:
        raise subject.failure("params", f"count_params() is {layer.count_params():,}; expected {expected:,}")


def check_config(subject: Subject) -> None:
    layer = subject.layer
    try:
        config = json_round_trip(layer.get_config())
    except TypeError as error:
        raise subject.failure("config", f"get_config() is not JSON: {error}") from error
    clone = subject.layer_cls.from_config(config)
    if json_round_trip(clone.get_config()) != config:
        raise subject.failure("config", f"from_config(get_config()) has config {clone.get_config()}; the layer's "
                              f"is {config}")
    one_layer_model(clone, subject.input_shape)
    if json_round_trip(clone.get_config()) != config:
        raise subject.failure("config", "building the layer changed its config")
    clone.set_weights(layer.get_weights())
    expected, got = subject.infer(layer), subject.infer(clone)
    if not torch.equal(expected, got):
        raise subject.failure("config", "from_config(get_config()) with the weights copied gives other outputs "
                              f"({describe_difference(expected, got)})")


def check_save(subject: Subject) -> None:
    model = subject.model
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model"
        model.save(path)
        loaded = load_model(path)
    if json_round_trip(loaded.get_config()) != json_round_trip(model.get_config()):
        raise subject.failure("save", f"load_model(model.save(...)) has config {loaded.get_config()}; saved "
                              f"{model.get_config()}")
    if isinstance(subject.layer, InputLayer):
        return  # a model of an InputLayer alone computes nothing to compare
    expected, got = model.predict(subject.arrays()), loaded.predict(subject.arrays())
    if not np.array_equal(expected, got):
        raise subject.failure("save", f"the loaded model predicts otherwise ({describe_difference(expected, got)})")


def check_training_step(subject: Subject) -> str | None:
    model, layer = subject.model, subject.layer
    if isinstance(layer, InputLayer):
        return "an InputLayer has nothing to train"
    slots = [(name, tensor) for name, tensor, _ in layer.keras_weights()
             if isinstance(tensor, torch.nn.Parameter) and tensor.requires_grad]
    if not slots:
        return "no trainable weights"
    before = [tensor.detach().cpu().clone() for _, tensor in slots]
    output_shape = layer.compute_output_shape(subject.shapes(subject.inputs))
    targets = subject.random([size for size in output_shape if size is not None]).numpy()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.01), loss="mse", precision="float32", device="cpu")
    loss = model.train_on_batch(subject.arrays(), targets)
    if not math.isfinite(float(loss)):
        raise subject.failure("train", f"one SGD step on mean squared error gave the loss {loss}")
    for (name, tensor), old in zip(slots, before):
        new = tensor.detach().cpu()
        if not torch.isfinite(new).all():
            raise subject.failure("train", f"weight '{name}' is not finite after one SGD step")
        if torch.equal(new, old):
            raise subject.failure("train", f"weight '{name}' did not change in one SGD step (no gradient reached it)")
    return None
