"""`convscope explain conv|pool|merge|rnn|shapes|maps|filters|edges|interpret`: show what a CNN computes.

Each action calls `convscope.explain`, prints readable text and, with --out, writes PNGs through
`convscope.plots`. `conv` and `pool` also work on plain matrices (--matrix, --kernel) without a
model, so the textbook examples can be checked by hand. torch and matplotlib load only when an
action runs.

    convscope explain conv --matrix "[[0,64,128],[48,192,144],[142,226,168]]" \\
        --kernel "[[-1,0,-2],[0.5,4.5,-1.5],[1.5,2,-3]]"
    convscope explain shapes --model runs/mnist/model
    convscope explain maps --model runs/mnist/model --data mnist --index 0 --out maps/
    convscope explain merge --model runs/residual --data mnist --layer add --position 5,7
    convscope explain rnn --model runs/signals --image signal.npy --raw --step 9 --unit 2
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from convscope.cli.explain.interpret import run_interpret
from convscope.cli.explain.layers import run_edges, run_filters, run_maps, run_shapes
from convscope.cli.explain.recurrent import HELP as RNN_HELP
from convscope.cli.explain.recurrent import add_rnn_arguments, run_rnn
from convscope.cli.explain.steps import run_conv, run_merge, run_pool

ACTIONS = ("conv", "pool", "merge", "rnn", "shapes", "maps", "filters", "edges", "interpret")
RUNNERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "conv": run_conv, "pool": run_pool, "merge": run_merge, "rnn": run_rnn, "shapes": run_shapes, "maps": run_maps,
    "filters": run_filters, "edges": run_edges, "interpret": run_interpret,
}
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
        "rnn": RNN_HELP,
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
    sub["rnn"].add_argument("--model", required=True, help=MODEL_HELP)
    for name in ("conv", "pool", "merge", "rnn", "maps", "edges"):
        add_input_arguments(sub[name])
    for name in ACTIONS:
        if name != "shapes":
            sub[name].add_argument("--out", help="folder for PNG (and JSON) files (none written without it)")
    add_conv_arguments(sub["conv"])
    add_pool_arguments(sub["pool"])
    sub["merge"].add_argument("--layer", help="merge layer name or index (default: the first)")
    sub["merge"].add_argument("--position", help="output position, e.g. 5,7 (default: the centre)")
    sub["merge"].add_argument("--channel", type=int, default=0, help="which output channel")
    add_rnn_arguments(sub["rnn"])
    sub["shapes"].add_argument("--model", required=True, help=MODEL_HELP)
    sub["shapes"].add_argument("--input-shape", help="one example's shape, e.g. 28,28,1 (default: the model's)")
    sub["maps"].add_argument("--layers", help="comma-separated layer names or indices (default: all)")
    sub["maps"].add_argument("--max-channels", type=int, default=32, help="channels drawn per layer")
    sub["filters"].add_argument("--layer", help="conv layer name or index (default: the first); "
                                                "a nested model's layer: model/layer")
    add_interpret_arguments(sub["interpret"])
    for name in ACTIONS:
        sub[name].set_defaults(func=RUNNERS[name])


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="dataset name (mnist, fashion_mnist, cifar10, cifar100, digits, mnist1d)")
    parser.add_argument("--path", help="folder holding the dataset's files (searched first)")
    parser.add_argument("--split", choices=("train", "test"), default="test")
    parser.add_argument("--index", type=int, default=0, help="which example of the split (default 0)")
    parser.add_argument("--image", help="an input file instead: .npy array, or a PNG/JPEG image")
    parser.add_argument("--raw", action="store_true", help="keep 0-255 pixel values (default: divide by 255)")


def add_conv_arguments(parser: argparse.ArgumentParser) -> None:
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


def add_pool_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--matrix", help="input as JSON, e.g. '[[2,0],[3,5]]' (no model needed)")
    parser.add_argument("--pool-size", default="2", help="window, e.g. 2 or 2,2 (with --matrix)")
    parser.add_argument("--strides", help="strides (with --matrix; default: the pool size)")
    parser.add_argument("--padding", default="valid", choices=("valid", "same"))
    parser.add_argument("--reduction", choices=("max", "average"), default="max")
    parser.add_argument("--layer", help="pooling layer name or index (default: the first)")
    parser.add_argument("--position", help="output position, e.g. 0,0 (default: the centre)")
    parser.add_argument("--channel", type=int, default=0, help="which channel")


def add_interpret_arguments(parser: argparse.ArgumentParser) -> None:
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
