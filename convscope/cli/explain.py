"""`convscope explain conv|pool|merge|shapes|maps|filters|edges|interpret`: show what a CNN computes.

Each action calls `convscope.explain`, prints readable text and, with --out, writes PNGs through
`convscope.plots`. `conv` and `pool` also work on plain matrices (--matrix, --kernel) without a
model, so the textbook examples can be checked by hand. torch and matplotlib load only when an
action runs.

    convscope explain conv --matrix "[[0,64,128],[48,192,144],[142,226,168]]" \\
        --kernel "[[-1,0,-2],[0.5,4.5,-1.5],[1.5,2,-3]]"
    convscope explain shapes --model runs/mnist/model
    convscope explain maps --model runs/mnist/model --data mnist --index 0 --out maps/
    convscope explain merge --model runs/residual --data mnist --layer add --position 5,7
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from convscope.cli import CommandError, dataset_not_found

ACTIONS = ("conv", "pool", "merge", "shapes", "maps", "filters", "edges", "interpret")
MODEL_HELP = "run folder from `convscope train`, a saved model folder or a built-in model name"


def register(subparsers: Any) -> None:
    """Add the `explain` command and its actions."""
    parser = subparsers.add_parser("explain", help="show what a CNN computes, step by step",
                                   description="Explain convolution, pooling, shapes, feature maps, "
                                               "filters, edge filters and trained predictions.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    helps = {
        "conv": "one conv output value as a sum of input x weight terms",
        "pool": "one pooling window and its result",
        "merge": "one cell of a merge layer (Add, Concatenate, ...): the values it combined",
        "shapes": "each layer's output shape and the arithmetic behind it",
        "maps": "PNGs of every layer's feature maps for one input",
        "filters": "PNG of a conv layer's learned filters",
        "edges": "hand-set vertical/horizontal line filters on a dataset image, before and after",
        "interpret": "confusion matrix, per-class accuracy, top losses, saliency, training curves",
    }
    sub = {name: actions.add_parser(name, help=helps[name], description=helps[name]) for name in ACTIONS}
    for name in ("conv", "pool", "maps", "filters", "interpret"):
        sub[name].add_argument("--model", help=MODEL_HELP)
    sub["merge"].add_argument("--model", required=True, help=MODEL_HELP)
    for name in ("conv", "pool", "merge", "maps", "edges"):
        _add_input_arguments(sub[name])
    for name in ACTIONS:
        if name != "shapes":
            sub[name].add_argument("--out", help="folder for PNG (and JSON) files (none written without it)")
    _add_conv_arguments(sub["conv"])
    _add_pool_arguments(sub["pool"])
    sub["merge"].add_argument("--layer", help="merge layer name or index (default: the first)")
    sub["merge"].add_argument("--position", help="output position, e.g. 5,7 (default: the centre)")
    sub["merge"].add_argument("--channel", type=int, default=0, help="which output channel")
    sub["shapes"].add_argument("--model", required=True, help=MODEL_HELP)
    sub["shapes"].add_argument("--input-shape", help="one example's shape, e.g. 28,28,1 (default: the model's)")
    sub["maps"].add_argument("--layers", help="comma-separated layer names or indices (default: all)")
    sub["maps"].add_argument("--max-channels", type=int, default=32, help="channels drawn per layer")
    sub["filters"].add_argument("--layer", help="conv layer name or index (default: the first); "
                                                "a nested model's layer: model/layer")
    _add_interpret_arguments(sub["interpret"])
    for name in ACTIONS:
        sub[name].set_defaults(func=globals()[f"run_{name}"])


def _add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="dataset name (mnist, fashion_mnist, cifar10, cifar100, digits, mnist1d)")
    parser.add_argument("--path", help="folder holding the dataset's files (searched first)")
    parser.add_argument("--split", choices=("train", "test"), default="test")
    parser.add_argument("--index", type=int, default=0, help="which example of the split (default 0)")
    parser.add_argument("--image", help="an input file instead: .npy array, or a PNG/JPEG image")
    parser.add_argument("--raw", action="store_true", help="keep 0-255 pixel values (default: divide by 255)")


def _add_conv_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--matrix", help="input as JSON, e.g. '[[1,0,2],[3,1,0],[0,0,4]]' (no model needed)")
    parser.add_argument("--kernel", help="kernel as JSON, with --matrix")
    parser.add_argument("--bias", type=float, default=0.0, help="bias, with --matrix")
    parser.add_argument("--stride", default="1", help="stride, e.g. 1 or 2,2 (with --matrix)")
    parser.add_argument("--padding", default="valid", help="valid, same or an int (with --matrix)")
    parser.add_argument("--mode", choices=("correlation", "convolution"), default="correlation",
                        help="correlation (what layers compute) or convolution (flipped kernel)")
    parser.add_argument("--layer", help="conv layer name or index (default: the first); a nested model's "
                                        "layer: model/layer, or its own name when unique")
    parser.add_argument("--position", help="output position, e.g. 5,7 (default: the centre)")
    parser.add_argument("--filter", type=int, default=0, help="which filter (output channel)")


def _add_pool_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--matrix", help="input as JSON, e.g. '[[2,0],[3,5]]' (no model needed)")
    parser.add_argument("--pool-size", default="2", help="window, e.g. 2 or 2,2 (with --matrix)")
    parser.add_argument("--strides", help="strides (with --matrix; default: the pool size)")
    parser.add_argument("--padding", default="valid", choices=("valid", "same"))
    parser.add_argument("--reduction", choices=("max", "average"), default="max")
    parser.add_argument("--layer", help="pooling layer name or index (default: the first)")
    parser.add_argument("--position", help="output position, e.g. 0,0 (default: the centre)")
    parser.add_argument("--channel", type=int, default=0, help="which channel")


def _add_interpret_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="dataset name; its --split is predicted")
    parser.add_argument("--path", help="folder holding the dataset's files (searched first)")
    parser.add_argument("--split", choices=("train", "test"), default="test")
    parser.add_argument("--x", help=".npy file of inputs (instead of --data)")
    parser.add_argument("--y", help=".npy file of labels (with --x)")
    parser.add_argument("--limit", type=int, help="use only the first N examples")
    parser.add_argument("--raw", action="store_true", help="keep 0-255 pixel values (default: divide by 255)")
    parser.add_argument("--top", type=int, default=9, help="how many top losses to show")
    parser.add_argument("--history", help="JSON of a History ({'loss': [...], ...}) to plot as curves")
    parser.add_argument("--batch-size", type=int, default=256)


# --------------------------------------------------------------------------- helpers


def _ints(text: str | None, option: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError as error:
        raise ValueError(f"{option} expects integers separated by commas, e.g. 5,7; got {text!r}.") from error


def _matrix(text: str, option: str) -> Any:
    import numpy as np

    try:
        return np.asarray(json.loads(text), dtype=np.float64)
    except (json.JSONDecodeError, TypeError, ValueError) as error:
        raise ValueError(f"{option} expects a JSON array such as [[1,0],[0,1]]; got {text!r}.") from error


def _padding(text: str) -> Any:
    return int(text) if text.lstrip("-").isdigit() else text


def _scaled(values: Any, raw: bool) -> Any:
    import numpy as np

    values = np.asarray(values)
    if values.dtype == np.uint8 and not raw:
        return values.astype(np.float32) / np.float32(255)
    return values.astype(np.float32)


def _load_model(source: str | None) -> Any:
    return _load_run(source)[0]


def _load_run(source: str | None) -> tuple[Any, Any]:
    """(model, Run) for --model; the Run knows the class names a run folder recorded."""
    if not source:
        raise CommandError("this action needs --model", hint="pass a run folder, a saved model folder "
                           "or a built-in model name")
    from convscope.cli import open_model

    run = open_model(source)
    return run.load_model(), run


def _dataset(args: argparse.Namespace) -> tuple[Any, Any, list[str] | None]:
    from convscope import datasets

    try:
        (x_train, y_train), (x_test, y_test) = datasets.load(args.data, path=args.path)
    except datasets.DatasetNotFoundError as error:
        raise dataset_not_found(args.data, error) from error
    names = datasets.class_names(args.data)
    return (x_train, y_train, names) if args.split == "train" else (x_test, y_test, names)


def _example(args: argparse.Namespace, model: Any = None) -> Any:
    """One input example (channels-last, float32) from --image or --data/--index."""
    import numpy as np

    if args.image:
        path = Path(args.image)
        if path.suffix == ".npy":
            from convscope.data.files import load_npy

            return _scaled(load_npy(path), args.raw)
        from PIL import Image

        channels = (getattr(model, "input_shape", None) or (None, None, None, 1))[-1]
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L" if channels == 1 else "RGB"))
        return _scaled(pixels[..., None] if pixels.ndim == 2 else pixels, args.raw)
    if not args.data:
        raise CommandError("no input given", hint="pass --data mnist --index 0, or --image FILE")
    x, _, _ = _dataset(args)
    if not 0 <= args.index < len(x):
        raise ValueError(f"--index {args.index} is outside the {args.split} split (0..{len(x) - 1}).")
    return _scaled(x[args.index], args.raw)


def _centre(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(n // 2 for n in shape)


def _out(args: argparse.Namespace) -> Path | None:
    return Path(args.out) if getattr(args, "out", None) else None


def _chosen_layer(args: argparse.Namespace, kinds: tuple[str, ...]) -> tuple[Any, Any, Any, tuple[int, ...]]:
    """(model, example, node, position) for --model, the input (--data or --image), --layer (one
    of `kinds`) and --position (default: the centre of the layer's output)."""
    model = _load_model(args.model)
    example = _example(args, model)
    node = _find(model, _layer_argument(args.layer), kinds)
    position = _ints(args.position, "--position") or _centre(node.output_shape[:-1])
    return model, example, node, position


def _show_steps(steps: Any, args: argparse.Namespace, write: Callable[[Any, Path], list[Path]]) -> int:
    """Print the steps; with --out, make the folder, `write(steps, out)` their files and name each.
    Exit status 0 when the steps' result equals the layer's own output, 1 otherwise."""
    print(steps.text())
    out = _out(args)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for path in write(steps, out):
            print(f"wrote {path}")
    return 0 if steps.agrees else 1


# --------------------------------------------------------------------------- actions


def run_conv(args: argparse.Namespace) -> int:
    from convscope import explain
    from convscope.explain import reference

    if args.matrix is not None:
        if args.kernel is None:
            raise CommandError("--matrix needs --kernel", hint="e.g. --kernel '[[1,0],[0,1]]'")
        matrix, kernel = _matrix(args.matrix, "--matrix"), _matrix(args.kernel, "--kernel")
        if args.mode == "convolution":  # the steps then show the flipped kernel actually used
            kernel = kernel[tuple(slice(None, None, -1) for _ in range(min(kernel.ndim, matrix.ndim)))]
        stride = _ints(args.stride, "--stride") or (1,)
        full = (reference.conv2d if matrix.ndim == 2 else reference.conv1d)(
            matrix, kernel, args.bias, stride=stride if len(stride) > 1 else stride[0],
            padding=_padding(args.padding))
        position = _ints(args.position, "--position") or _centre(full.shape)
        steps = explain.conv_steps_from_arrays(matrix, kernel, args.bias, position=position, filter=0,
                                               stride=stride if len(stride) > 1 else stride[0],
                                               padding=_padding(args.padding))
        print(f"{args.mode} of the {matrix.shape} input with the {kernel.shape} kernel:")
        if args.mode == "convolution":
            print("(convolution flips the kernel; the steps below use the flipped kernel)")
        print(_format_matrix(full))
    else:
        from convscope.explain.steps import CONV_KINDS

        model, example, node, position = _chosen_layer(args, CONV_KINDS)
        steps = explain.conv_steps(model, example, position=position, filter=args.filter, layer=node.index)
    return _show_steps(steps, args, _write_conv)


def _write_conv(steps: Any, out: Path) -> list[Path]:
    from convscope._atomic import write_json_atomic
    from convscope.plots.explain import plot_conv_steps

    return [plot_conv_steps(steps, out / "conv_steps.png"),
            write_json_atomic(out / "conv_steps.json", steps.to_dict())]


def run_pool(args: argparse.Namespace) -> int:
    steps, model, example, index = _pool_of_matrix(args) if args.matrix is not None else _pool_of_model(args)
    return _show_steps(steps, args, lambda steps, out: _write_pool(steps, out, model, example, index))


def _pool_of_matrix(args: argparse.Namespace) -> tuple[Any, None, None, int]:
    from convscope import explain

    matrix = _matrix(args.matrix, "--matrix")
    size = _ints(args.pool_size, "--pool-size") or (2,)
    size = size * matrix.ndim if len(size) == 1 else size
    strides = _ints(args.strides, "--strides")
    position = _ints(args.position, "--position") or (0,) * matrix.ndim
    steps = explain.pool_steps_from_arrays(matrix, size, strides, args.padding, position=position,
                                           reduction=args.reduction)
    return steps, None, None, 0


def _pool_of_model(args: argparse.Namespace) -> tuple[Any, Any, Any, int]:
    """(steps, model, example, pooling layer index) for --model with --data or --image."""
    from convscope import explain
    from convscope.explain.steps import POOL_KINDS

    model, example, node, position = _chosen_layer(args, POOL_KINDS)
    steps = explain.pool_steps(model, example, position=position, channel=args.channel, layer=node.index)
    return steps, model, example, node.index


def _write_pool(steps: Any, out: Path, model: Any, example: Any, index: int) -> list[Path]:
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

    model, example, node, position = _chosen_layer(args, MERGE_KINDS)
    steps = explain.merge_steps(model, example, position=position, channel=args.channel, layer=node.index)
    return _show_steps(steps, args, _write_merge)


def _write_merge(steps: Any, out: Path) -> list[Path]:
    from convscope._atomic import write_json_atomic

    return [write_json_atomic(out / "merge_steps.json", steps.to_dict())]


def run_shapes(args: argparse.Namespace) -> int:
    from convscope.explain import format_shape_journey, shape_journey

    model = _load_model(args.model)
    steps = shape_journey(model, _ints(args.input_shape, "--input-shape"))
    print(format_shape_journey(steps))
    return 0 if all(step.agrees for step in steps) else 1


def run_maps(args: argparse.Namespace) -> int:
    from convscope.explain import feature_maps
    from convscope.explain._model import is_graph

    model, run = _load_run(args.model)
    chosen = None if not args.layers else [_layer_argument(item) for item in args.layers.split(",")]
    all_maps = feature_maps(model, _example(args, model), layers=chosen)
    graph = is_graph(model)
    for maps in all_maps:
        values = maps.maps
        reads = f" <- {', '.join(maps.sources)}" if graph and maps.sources else ""
        print(f"{maps.index:>2} {maps.kind} '{maps.layer}'{reads}: {tuple(values.shape)}, "
              f"min {values.min():.4g}, max {values.max():.4g}, mean {values.mean():.4g}")
    out = _out(args)
    if out is not None:
        from convscope.plots.explain import plot_all_feature_maps

        for path in plot_all_feature_maps(all_maps, out, args.max_channels, _class_names(run, model, None)):
            print(f"wrote {path}")
    return 0


def run_filters(args: argparse.Namespace) -> int:
    from convscope.explain import learned_filters

    filters = learned_filters(_load_model(args.model), _layer_argument(args.layer))
    kernel = filters.kernel
    print(f"{filters.kind} '{filters.layer}': kernel {tuple(kernel.shape)} (Keras layout), "
          f"weights from {kernel.min():.4g} to {kernel.max():.4g}")
    if filters.groups > 1:
        print(f"{filters.groups} groups: each filter reads {filters.kernel.shape[-2]} of the layer's "
              f"{filters.kernel.shape[-2] * filters.groups} input channels, those of its group")
    for index in range(min(filters.count, 4)):
        one = filters.filter(index)
        print(f"filter {index} (input channel {filters.input_channels(index)[0]}):")
        print(_format_matrix(one[..., 0]))
    out = _out(args)
    if out is not None:
        from convscope.plots.explain import plot_filters

        name = re.sub(r"[^A-Za-z0-9_.-]", "_", filters.layer)  # a nested model's "base/conv2d" is one file
        print(f"wrote {plot_filters(filters, out / f'filters_{name}.png')}")
    return 0


def run_edges(args: argparse.Namespace) -> int:
    from convscope.explain import edge_demo

    demo = edge_demo(_example(args))
    for name, kernel in demo.kernels.items():
        print(f"'{name}' kernel:")
        print(_format_matrix(kernel))
        print(f"  input {demo.image.shape} -> filtered {demo.filtered[name].shape} -> pooled "
              f"{demo.pooled[name].shape}; mean response after ReLU {demo.response[name]:.4g}")
    out = _out(args)
    if out is not None:
        from convscope.plots.explain import plot_edge_demo

        print(f"wrote {plot_edge_demo(demo, out / 'edges.png')}")
    return 0


def run_interpret(args: argparse.Namespace) -> int:
    import numpy as np

    from convscope.explain import grad_cam, gradient_saliency, interpret, training_curves

    model, run = _load_run(args.model)
    if args.x:
        if not args.y:
            raise CommandError("--x needs --y", hint="pass the labels as a .npy file")
        from convscope.data.files import load_npy

        x, y, names = load_npy(args.x), load_npy(args.y), None
    elif args.data:
        x, y, names = _dataset(args)
    else:
        raise CommandError("no data given", hint="pass --data mnist, or --x X.npy --y Y.npy")
    x, y = _scaled(x[: args.limit], args.raw), np.asarray(y[: args.limit])
    result = interpret(model, x, y, class_names=_class_names(run, model, names), batch_size=args.batch_size)
    print(result.text(k=args.top))
    out = _out(args)
    if out is None:
        return 0
    from convscope.plots import interpret as plots

    written = [plots.plot_confusion_matrix(result, out / "confusion_matrix.png"),
               plots.plot_per_class_accuracy(result, out / "per_class_accuracy.png"),
               plots.plot_top_losses(result, x, out / "top_losses.png", k=args.top)]
    from convscope.explain._model import graph_nodes
    from convscope.explain.steps import CONV_KINDS

    worst = result.top_losses(1)
    if worst and any(node.kind in CONV_KINDS for node in graph_nodes(model)):  # nested models' convs too
        example = x[worst[0].index]
        names = result.class_names
        print(f"saliency: example {worst[0].index} (the worst top loss), actual class '{names[worst[0].actual]}', "
              f"explaining predicted class '{names[worst[0].predicted]}'")
        written.append(plots.plot_saliency(gradient_saliency(model, example, worst[0].predicted, class_names=names),
                                           out / "saliency_gradient.png"))
        written.append(plots.plot_saliency(grad_cam(model, example, worst[0].predicted, class_names=names),
                                           out / "saliency_grad_cam.png"))
    if args.history:
        record = json.loads(Path(args.history).read_text())
        written.append(plots.plot_training_curves(training_curves(record.get("history", record)),
                                                  out / "training_curves.png"))
    for path in written:
        print(f"wrote {path}")
    return 0


def _class_names(run: Any, model: Any, fallback: list[str] | None) -> list[str] | None:
    """The class names the run folder recorded when they fit the model's outputs, else `fallback`."""
    recorded = list(run.config.get("data", {}).get("class_names") or [])
    classes = (getattr(model, "output_shape", None) or (None, 0))[-1]
    return recorded if recorded and len(recorded) == classes else fallback


def _layer_argument(text: str | None) -> Any:
    if text is None:
        return None
    return int(text) if text.lstrip("-").isdigit() else text


def _find(model: Any, layer: Any, kinds: tuple[str, ...]) -> Any:
    """The node (`convscope.explain._model.GraphNode`) of --layer, one of `kinds`; a layer of a
    nested model is "model/layer", or its own name when no other layer has it."""
    from convscope.explain._model import find_node

    return find_node(model, layer, kinds)


def _format_matrix(values: Any) -> str:
    """A small array as aligned rows; larger ones are summarised."""
    import numpy as np

    array = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if array.ndim > 2 or array.size > 400:
        return f"  array {np.shape(values)} (too large to print)"
    cells = [[f"{v:.4g}" for v in row] for row in array]
    width = max(len(c) for row in cells for c in row)
    return "\n".join("  [" + " ".join(c.rjust(width) for c in row) + "]" for row in cells)
