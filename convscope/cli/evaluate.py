"""`convscope evaluate RUN`: test loss and accuracy of a trained run on its own test data
(or another dataset with --data), with the per-class view on request.

    convscope evaluate runs/fashion
    convscope evaluate runs/fashion --data fashion_mnist --limit 1000 --json
    convscope evaluate model.keras --data test.npz        # x (N, *input shape) and y (N,): all of it

An .npz whose 'x' is shaped like the model's inputs (N, *input shape) is evaluated whole, as
stored: token ids for a model that starts with an Embedding, 8-bit pixels divided by 255, any
other values as they are. Other files are read as signals (`convscope.datasets.arrays`).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convscope.runs import Run
    from convscope.training import TrainSettings


def register(subparsers: Any) -> None:
    """Add the `evaluate` command."""
    parser = subparsers.add_parser("evaluate", help="test loss and accuracy of a trained run",
                                   description="Evaluate a run's model on its test split.")
    parser.add_argument("run", metavar="RUN", help="run folder from `convscope train`, a saved model "
                        "folder or a built-in model name (the last two need --data)")
    parser.add_argument("--data", help="dataset name or path (default: the one the run was trained on); an .npz "
                        "with x shaped (N, *input shape) and y (N,) is evaluated whole")
    parser.add_argument("--path", dest="data_path", help="folder holding a named dataset's files")
    parser.add_argument("--limit", type=int, help="use only the first N test samples")
    parser.add_argument("--per-class", action="store_true", help="also print per-class accuracy and confusions")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)


def data_settings(args: argparse.Namespace, target: Run) -> TrainSettings:
    """Which data to evaluate on: --data, else the test split the run was trained with."""
    from convscope.training import TrainSettings

    if target.kind != "run folder" and not args.data:
        raise ValueError(f"{args.run}: a {target.kind} does not say what it was trained on; pass --data NAME.")
    recorded = target.config.get("train", {}) if not args.data else {}
    return TrainSettings(model="", data=args.data or recorded["data"],
                         data_path=args.data_path or recorded.get("data_path"),
                         limit=2, test_limit=args.limit or recorded.get("test_limit"))


def model_shaped_arrays(source: str, shape: tuple[int, ...], limit: int | None) -> Any:
    """The `Data` of an .npz whose 'x' is (N, *shape) with N labels in 'y', whole (cut to `limit`),
    or None for anything else."""
    from pathlib import Path

    import numpy as np

    from convscope.data.files import load_npz_member
    from convscope.training.data import Data

    path = Path(source).expanduser()
    if path.suffix.lower() != ".npz" or not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as stored:
        names = set(stored.files)
    if not {"x", "y"} <= names:
        return None
    x = load_npz_member(path, "x")
    if tuple(x.shape[1:]) != tuple(shape):
        return None
    y = load_npz_member(path, "y").reshape(-1)
    if len(y) != len(x) or not np.all(np.mod(y, 1) == 0):
        raise ValueError(f"{path}: expected {len(x)} whole-number labels in 'y' (one per sample of 'x'); "
                         f"got {y.shape} {y.dtype}.")
    x, y = x[:limit], y[:limit].astype(np.int64)
    classes = int(y.max()) + 1 if len(y) else 0
    return Data(x[:0], y[:0], x, y, [str(i) for i in range(classes)], f"arrays {source}")


def run(args: argparse.Namespace) -> int:
    from convscope import explain
    from convscope.cli import dataset_not_found, open_model
    from convscope.datasets import DatasetNotFoundError
    from convscope.inference import input_scale
    from convscope.inference.tokens import token_vocabulary
    from convscope.training import as_inputs, load_data

    target = open_model(args.run)
    settings = data_settings(args, target)
    data = model_shaped_arrays(settings.data, target.preprocessing.shape, settings.test_limit)
    try:
        data = data or load_data(settings)
    except DatasetNotFoundError as error:
        raise dataset_not_found(settings.data, error) from error
    model = target.load_model()
    scale = target.preprocessing.scale if target.kind == "run folder" and not args.data else input_scale(data.x_test)
    if token_vocabulary(model) is not None:
        scale = 1.0  # token ids are indices, never pixels
    x_test = as_inputs(data.x_test, scale)
    interpretation = explain.interpret(model, x_test, data.y_test, class_names=target.class_names(
        model.output_units("evaluate")))
    losses = interpretation.losses
    result = {"run": str(target.path), "data": data.source, "samples": len(x_test),
              "loss": float(losses.mean()), "accuracy": interpretation.accuracy}
    if args.json:
        if args.per_class:
            result["per_class_accuracy"] = dict(zip(interpretation.class_names,
                                                    map(float, interpretation.per_class_accuracy())))
        print(json.dumps(result, indent=2))
        return 0
    print(f"{target.path}: {data.source}, {len(x_test)} samples - loss {result['loss']:.4f} - "
          f"accuracy {result['accuracy']:.4f}")
    if args.per_class:
        print(interpretation.text())
    return 0
