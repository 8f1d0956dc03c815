"""`convscope predict RUN FILE|FOLDER...`: classify images (PNG/JPEG of any size or colour) or
.npy arrays; a folder stands for every image and .npy file in it. A .npy array holds one input,
or a batch of them (N, *input shape), answered row by row as FILE[0], FILE[1], ...; for a model
that reads token ids (an Embedding first) the values are ids, used as they are.

Each image is converted the way the run's model needs (grayscale or colour, background
polarity, MNIST-style centring or resizing); a note says what was done.

    convscope predict runs/fashion shoe.jpg --top 3
    convscope predict runs/fashion shoe.jpg --json
    convscope predict runs/fashion photos/
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from convscope.cli import CommandError

MAX_INPUT_BYTES = 256 * 1024**2  # a .npy of one input larger than this is refused unread
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
ACCEPTED = "PNG/JPEG (or other Pillow-readable) images, .npy arrays, or folders of them"


def register(subparsers: Any) -> None:
    """Add the `predict` command."""
    parser = subparsers.add_parser("predict", help="classify image files with a trained run",
                                   description="Top-k classes and probabilities for each file.")
    parser.add_argument("run", metavar="RUN", help="run folder from `convscope train`, a saved model folder "
                        "or a built-in model name")
    parser.add_argument("files", metavar="FILE", nargs="+",
                        help="PNG/JPEG images, .npy arrays shaped like one input or a batch of them (uint8 "
                             "values are divided by 255, as PNG pixels are, except token ids for a model that "
                             "starts with an Embedding), or folders: every such file in them")
    parser.add_argument("--top", type=int, default=3, help="how many classes to list (default 3)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)


def input_files(names: list[str]) -> list[Path]:
    """The files to classify: each FILE, and the images and .npy files inside each folder."""
    files: list[Path] = []
    for name in names:
        path = Path(name).expanduser()
        if path.is_dir():
            found = sorted(entry for entry in path.iterdir() if entry.is_file()
                           and entry.suffix.lower() in (*IMAGE_SUFFIXES, ".npy"))
            if not found:
                raise CommandError(f"{path}: no images or .npy files in this folder",
                                   hint=f"predict takes {ACCEPTED}")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder.")
    return files


def read_array(path: Path, predictor: Any) -> list[tuple[str, Any, list[str]]]:
    """(name, model input, notes) for each input in a .npy file: one, or each row of a batch
    (N, *input shape); integer values are scaled as training scaled them, token ids are not."""
    import numpy as np

    from convscope.data.files import load_npy

    array = load_npy(path, max_bytes=MAX_INPUT_BYTES)
    notes = []
    scale = predictor.preprocessing.scale
    if np.issubdtype(array.dtype, np.integer) and scale != 1.0 and predictor.vocabulary is None:
        notes.append(f"{array.dtype} values multiplied by {scale:.6g} (1/255 for 8-bit pixels), as in training")
        array = array.astype(np.float32) * np.float32(scale)
    shape = tuple(predictor.preprocessing.shape)
    if array.ndim == len(shape) + 1 and tuple(array.shape[1:]) == shape:  # a batch: one answer per row
        return [(f"{path}[{index}]", *with_notes(predictor.values_to_input(row), notes))
                for index, row in enumerate(array)]
    return [(str(path), *with_notes(predictor.values_to_input(array), notes))]


def with_notes(prepared: tuple[Any, list[str]], notes: list[str]) -> tuple[Any, list[str]]:
    return prepared[0], [*notes, *prepared[1]]


def read_input(path: Path, predictor: Any) -> list[tuple[str, Any, list[str]]]:
    """(name, model input, notes) for each input in one file."""
    from convscope.inference.images import InputError, decode_image, image_to_input

    shape = tuple(predictor.preprocessing.shape)
    try:
        if path.suffix.lower() == ".npy":
            return read_array(path, predictor)
        if predictor.input_kind in ("tokens", "sequence"):
            raise CommandError(f"{path}: this model reads {'token ids' if predictor.vocabulary else 'arrays'} shaped "
                               f"{shape}, not images", hint=f"pass a .npy array shaped {shape} or (N, {', '.join(map(str, shape))})")
        return [(str(path), *image_to_input(decode_image(path.read_bytes()), predictor.preprocessing))]
    except InputError as error:
        hint = f"pass a .npy array shaped {shape} or a batch (N, {', '.join(map(str, shape))})"
        if predictor.input_kind in ("drawing", "image"):
            hint = f"pass a PNG or JPEG image (or a .npy array shaped {shape})"
        raise CommandError(f"{path}: {error}", hint=hint) from error


def run(args: argparse.Namespace) -> int:
    from convscope.cli import open_model
    from convscope.inference.predictor import Predictor

    if args.top < 1:
        raise ValueError(f"--top must be at least 1; got {args.top}.")
    files = input_files(args.files)
    predictor = Predictor(open_model(args.run))
    results: list[dict[str, Any]] = []
    for path in files:
        for name, pixels, notes in read_input(path, predictor):
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
