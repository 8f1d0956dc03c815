"""`convscope summary SPEC|RUN`: the layer table of a built-in model, a spec file, a Python
`build_model()`, a run folder or a saved model, without training anything.

    convscope summary seed-cnn
    convscope summary my_model.yaml --input-shape 28,28,1 --details
    convscope summary --list
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `summary` command."""
    parser = subparsers.add_parser("summary", help="layer table of a model, spec or run",
                                   description="Print a model's layers, output shapes and parameter counts.")
    parser.add_argument("source", metavar="SPEC|RUN", nargs="?",
                        help="built-in model name, .json/.yaml spec, .py with build_model(), run or model folder")
    parser.add_argument("--list", action="store_true", help="list the built-in models")
    parser.add_argument("--input-shape", help="one example's shape, e.g. 28,28,1 (default: the model's)")
    parser.add_argument("--classes", type=int, help="number of classes for built-in models")
    parser.add_argument("--details", action="store_true", help="add kernel, stride and padding")
    parser.add_argument("--macs", action="store_true", help="add multiply-accumulates per sample")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(",") if part.strip())
    except ValueError as error:
        raise ValueError(f"--input-shape must be integers like 28,28,1; got {text!r}.") from error
    if not shape or min(shape) < 1:
        raise ValueError(f"--input-shape must be positive integers like 28,28,1; got {text!r}.")
    return shape


def load_any(source: str, input_shape: tuple[int, ...] | None, classes: int | None) -> Any:
    """A model from a .json/.yaml spec or a .py `build_model()`, else as every command resolves
    one: a run folder, a saved-model folder or a built-in name."""
    from convscope.training import build_model, is_spec_file

    if is_spec_file(source) and not Path(source).expanduser().is_dir():
        return build_model(source, input_shape, classes)
    from convscope.cli import open_model

    return open_model(source, input_shape=input_shape, num_classes=classes).load_model()


def run(args: argparse.Namespace) -> int:
    if args.list:
        from convscope import zoo

        for name in zoo.names():
            entry = zoo.MODELS[name]
            print(f"{name:<14} input {'x'.join(map(str, entry.input_shape)):<9} {entry.description}")
        return 0
    if not args.source:
        raise ValueError("summary needs SPEC|RUN (e.g. `convscope summary seed-cnn`), or --list.")
    model = load_any(args.source, parse_shape(args.input_shape), args.classes)
    if args.json:
        print(json.dumps(model.summary_data(), indent=2))
        return 0
    from convscope.models.summary import summary_text

    print(summary_text(model, show_details=args.details, show_macs=args.macs))
    return 0
