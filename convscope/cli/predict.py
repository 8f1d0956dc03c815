"""`convscope predict RUN FILE...`: classify images (PNG/JPEG of any size or colour) or .npy arrays.

Each image is converted the way the run's model needs (grayscale or colour, background
polarity, MNIST-style centring or resizing); a note says what was done.

    convscope predict runs/fashion shoe.jpg --top 3
    convscope predict runs/fashion shoe.jpg --json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from convscope.cli import CommandError


def register(subparsers: Any) -> None:
    """Add the `predict` command."""
    parser = subparsers.add_parser("predict", help="classify image files with a trained run",
                                   description="Top-k classes and probabilities for each file.")
    parser.add_argument("run", metavar="RUN", help="run folder from `convscope train`, a saved model folder "
                        "or a built-in model name")
    parser.add_argument("files", metavar="FILE", nargs="+", help="PNG/JPEG images, or .npy arrays shaped like one input")
    parser.add_argument("--top", type=int, default=3, help="how many classes to list (default 3)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)


def read_input(path: Path, spec: Any) -> tuple[Any, list[str]]:
    """(model input, notes) for one file."""
    import numpy as np

    from convscope.serve.images import InputError, decode_image, image_to_input, pixels_to_input

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file.")
    try:
        if path.suffix.lower() == ".npy":
            return pixels_to_input(np.load(path, allow_pickle=False).tolist(), spec)
        return image_to_input(decode_image(path.read_bytes()), spec)
    except InputError as error:
        raise CommandError(f"{path}: {error}", hint="pass a PNG or JPEG image (or a .npy array shaped "
                           f"{tuple(spec.shape)})") from error


def run(args: argparse.Namespace) -> int:
    from convscope.cli import open_model
    from convscope.serve.inference import Predictor

    if args.top < 1:
        raise ValueError(f"--top must be at least 1; got {args.top}.")
    predictor = Predictor(open_model(args.run))
    results = []
    for name in args.files:
        pixels, notes = read_input(Path(name), predictor.spec)
        top = predictor.top(predictor.probabilities(pixels), args.top)
        results.append({"file": name, "prediction": top[0], "top": top, "notes": notes})
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for result in results:
        best = result["prediction"]
        print(f"{result['file']}: {best['name']} ({best['probability']:.1%})")
        for entry in result["top"]:
            print(f"  {entry['probability']:7.2%}  {entry['name']}")
        print(f"  note: {'; '.join(result['notes'])}")
    return 0
