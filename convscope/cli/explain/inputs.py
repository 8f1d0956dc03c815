"""What `convscope explain` reads: its option values parsed, the model, the dataset, the one
example and the layer an action works on."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from convscope.cli import CommandError, dataset_not_found


def parse_ints(text: str | None, option: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError as error:
        raise ValueError(f"{option} expects integers separated by commas, e.g. 5,7; got {text!r}.") from error


def parse_matrix(text: str, option: str) -> Any:
    import numpy as np

    try:
        return np.asarray(json.loads(text), dtype=np.float64)
    except (json.JSONDecodeError, TypeError, ValueError) as error:
        raise ValueError(f"{option} expects a JSON array such as [[1,0],[0,1]]; got {text!r}.") from error


def parse_padding(text: str) -> Any:
    return int(text) if text.lstrip("-").isdigit() else text


def scaled(values: Any, raw: bool) -> Any:
    import numpy as np

    values = np.asarray(values)
    if values.dtype == np.uint8 and not raw:
        return values.astype(np.float32) / np.float32(255)
    return values.astype(np.float32)


def load_model(source: str | None) -> Any:
    return load_run(source)[0]


def load_run(source: str | None) -> tuple[Any, Any]:
    """(model, Run) for --model; the Run knows the class names a run folder recorded."""
    if not source:
        raise CommandError("this action needs --model", hint="pass a run folder, a saved model folder "
                           "or a built-in model name")
    from convscope.cli import open_model

    run = open_model(source)
    return run.load_model(), run


def dataset(args: argparse.Namespace) -> tuple[Any, Any, list[str] | None]:
    from convscope import datasets

    try:
        (x_train, y_train), (x_test, y_test) = datasets.load(args.data, path=args.path)
    except datasets.DatasetNotFoundError as error:
        raise dataset_not_found(args.data, error) from error
    names = datasets.class_names(args.data)
    return (x_train, y_train, names) if args.split == "train" else (x_test, y_test, names)


def load_example(args: argparse.Namespace, model: Any = None) -> Any:
    """One input example (channels-last, float32) from --image or --data/--index."""
    import numpy as np

    if args.image:
        path = Path(args.image)
        if path.suffix == ".npy":
            from convscope.data.files import load_npy
            from convscope.inference.tokens import token_vocabulary

            tokens = model is not None and token_vocabulary(model) is not None  # ids, never pixels
            return scaled(load_npy(path), args.raw or tokens)
        from PIL import Image

        channels = (getattr(model, "input_shape", None) or (None, None, None, 1))[-1]
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L" if channels == 1 else "RGB"))
        return scaled(pixels[..., None] if pixels.ndim == 2 else pixels, args.raw)
    if not args.data:
        shape = tuple(getattr(model, "input_shape", None) or ())[1:]
        hint = "pass --data mnist --index 0, or --image FILE" if len(shape) == 3 else \
            f"pass --image FILE.npy holding one input shaped {shape}"
        raise CommandError("no input given", hint=hint)
    x, _, _ = dataset(args)
    if not 0 <= args.index < len(x):
        raise ValueError(f"--index {args.index} is outside the {args.split} split (0..{len(x) - 1}).")
    return scaled(x[args.index], args.raw)


def centre(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(n // 2 for n in shape)


def layer_argument(text: str | None) -> Any:
    if text is None:
        return None
    return int(text) if text.lstrip("-").isdigit() else text


def find_layer(model: Any, layer: Any, kinds: tuple[str, ...]) -> Any:
    """The node (`convscope.explain._model.GraphNode`) of --layer, one of `kinds`; a layer of a
    nested model is "model/layer", or its own name when no other layer has it."""
    from convscope.explain._model import find_node

    return find_node(model, layer, kinds)


def chosen_layer(args: argparse.Namespace, kinds: tuple[str, ...]) -> tuple[Any, Any, Any, tuple[int, ...]]:
    """(model, example, node, position) for --model, the input (--data or --image), --layer (one
    of `kinds`) and --position (default: the centre of the layer's output)."""
    model = load_model(args.model)
    example = load_example(args, model)
    node = find_layer(model, layer_argument(args.layer), kinds)
    position = parse_ints(args.position, "--position") or centre(node.output_shape[:-1])
    return model, example, node, position


def class_names(run: Any, model: Any, fallback: list[str] | None) -> list[str] | None:
    """The class names the run folder recorded when they fit the model's outputs, else `fallback`."""
    recorded = list(run.config.get("data", {}).get("class_names") or [])
    classes = (getattr(model, "output_shape", None) or (None, 0))[-1]
    return recorded if recorded and len(recorded) == classes else fallback
