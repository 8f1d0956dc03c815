"""The step-by-step views of `convscope explain`: conv, pool and merge, each one output cell
worked out from its inputs, on a model's layer or (conv, pool) a plain matrix."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from convscope.cli import CommandError
from convscope.cli.explain.inputs import (
    centre,
    chosen_layer,
    parse_ints,
    parse_matrix,
    parse_padding,
)
from convscope.cli.explain.report import format_matrix, show_steps


def run_conv(args: argparse.Namespace) -> int:
    from convscope import explain
    from convscope.explain import reference

    if args.matrix is not None:
        if args.kernel is None:
            raise CommandError("--matrix needs --kernel", hint="e.g. --kernel '[[1,0],[0,1]]'")
        matrix, kernel = parse_matrix(args.matrix, "--matrix"), parse_matrix(args.kernel, "--kernel")
        if args.mode == "convolution":  # the steps then show the flipped kernel actually used
            kernel = kernel[tuple(slice(None, None, -1) for _ in range(min(kernel.ndim, matrix.ndim)))]
        stride = parse_ints(args.stride, "--stride") or (1,)
        full = (reference.conv2d if matrix.ndim == 2 else reference.conv1d)(
            matrix, kernel, args.bias, stride=stride if len(stride) > 1 else stride[0],
            padding=parse_padding(args.padding))
        position = parse_ints(args.position, "--position") or centre(full.shape)
        steps = explain.conv_steps_from_arrays(matrix, kernel, args.bias, position=position, filter=0,
                                               stride=stride if len(stride) > 1 else stride[0],
                                               padding=parse_padding(args.padding))
        print(f"{args.mode} of the {matrix.shape} input with the {kernel.shape} kernel:")
        if args.mode == "convolution":
            print("(convolution flips the kernel; the steps below use the flipped kernel)")
        print(format_matrix(full))
    else:
        from convscope.explain.steps import CONV_KINDS

        model, example, node, position = chosen_layer(args, CONV_KINDS)
        steps = explain.conv_steps(model, example, position=position, filter=args.filter, layer=node.index)
    return show_steps(steps, args, write_conv)


def write_conv(steps: Any, out: Path) -> list[Path]:
    from convscope._atomic import write_json_atomic
    from convscope.plots.explain import plot_conv_steps

    return [plot_conv_steps(steps, out / "conv_steps.png"),
            write_json_atomic(out / "conv_steps.json", steps.to_dict())]


def run_pool(args: argparse.Namespace) -> int:
    steps, model, example, index = pool_of_matrix(args) if args.matrix is not None else pool_of_model(args)
    return show_steps(steps, args, lambda steps, out: write_pool(steps, out, model, example, index))


def pool_of_matrix(args: argparse.Namespace) -> tuple[Any, None, None, int]:
    from convscope import explain

    matrix = parse_matrix(args.matrix, "--matrix")
    size = parse_ints(args.pool_size, "--pool-size") or (2,)
    size = size * matrix.ndim if len(size) == 1 else size
    strides = parse_ints(args.strides, "--strides")
    position = parse_ints(args.position, "--position") or (0,) * matrix.ndim
    steps = explain.pool_steps_from_arrays(matrix, size, strides, args.padding, position=position,
                                           reduction=args.reduction)
    return steps, None, None, 0


def pool_of_model(args: argparse.Namespace) -> tuple[Any, Any, Any, int]:
    """(steps, model, example, pooling layer index) for --model with --data or --image."""
    from convscope import explain
    from convscope.explain.steps import POOL_KINDS

    model, example, node, position = chosen_layer(args, POOL_KINDS)
    steps = explain.pool_steps(model, example, position=position, channel=args.channel, layer=node.index)
    return steps, model, example, node.index


def write_pool(steps: Any, out: Path, model: Any, example: Any, index: int) -> list[Path]:
    """pool_steps.json (the window, its values, the winner, the output, the stages) and
    pool_steps.png, and for a model the feature maps going into and coming out of the pooling
    layer."""
    from convscope._atomic import write_json_atomic
    from convscope.plots.explain import plot_pool_steps

    written = [write_json_atomic(out / "pool_steps.json", steps.to_dict()),
               plot_pool_steps(steps, out / "pool_steps.png")]
    if model is not None:
        from convscope.explain import feature_maps
        from convscope.explain._model import find_node
        from convscope.plots.explain import plot_all_feature_maps

        node = find_node(model, index)
        chosen = [*node.inputs, index]  # in a graph, the layer it reads need not be the one listed before
        written += plot_all_feature_maps(feature_maps(model, example, layers=chosen), out)
    return written


def run_merge(args: argparse.Namespace) -> int:
    from convscope import explain
    from convscope.explain.merges import MERGE_KINDS

    model, example, node, position = chosen_layer(args, MERGE_KINDS)
    steps = explain.merge_steps(model, example, position=position, channel=args.channel, layer=node.index)
    return show_steps(steps, args, write_merge)


def write_merge(steps: Any, out: Path) -> list[Path]:
    from convscope._atomic import write_json_atomic

    return [write_json_atomic(out / "merge_steps.json", steps.to_dict())]
