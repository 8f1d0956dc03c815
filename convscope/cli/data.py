"""`convscope data show|describe NAME`: plot or describe a dataset.

NAME is a dataset name (mnist, fashion_mnist, cifar10, cifar100, digits, mnist1d), a folder with one
subfolder per class, or a .npy/.npz/.csv file of signals. Nothing heavy is imported until a
command runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from convscope.cli import dataset_not_found


def register(subparsers: Any) -> None:
    """Add the `data` command with its `show` and `describe` actions."""
    parser = subparsers.add_parser("data", help="look at a dataset: sample grid, class counts, checks",
                                   description="Plot or describe a dataset.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="write PNGs of samples per class and the class distribution")
    describe = actions.add_parser("describe", help="print shapes, dtypes, value range, class counts, checks")
    for action in (show, describe):
        action.add_argument("name", metavar="NAME",
                            help="dataset name, image folder, or .npy/.npz/.csv file of signals")
        action.add_argument("--path", help="folder holding the dataset's files (searched first)")
        action.add_argument("--no-download", action="store_true", help="never download; fail if not found locally")
        action.add_argument("--label-column", help="for a CSV: the label column (index or header name)")
    show.add_argument("--out", default=".", help="folder for the PNG files (default: current folder)")
    show.add_argument("--samples", type=int, default=5, help="samples per class (default: 5)")
    show.add_argument("--split", choices=("train", "test"), default="train")
    show.add_argument("--seed", type=int, default=0, help="seed of the random choice of samples")
    describe.add_argument("--json", action="store_true", help="print JSON instead of text")
    show.set_defaults(func=run_show)
    describe.set_defaults(func=run_describe)


def _load(args: argparse.Namespace) -> tuple[str, tuple[Any, Any], list[str] | None]:
    """(display name, ((x, y), (x_test, y_test)), class names) for NAME."""
    from convscope import datasets

    source = Path(args.name).expanduser()
    if source.is_dir():
        return source.name, datasets.image_folder(source), datasets.class_names(source)
    if source.is_file():
        column = args.label_column
        column = int(column) if column is not None and column.lstrip("-").isdigit() else column
        return source.stem, datasets.arrays(source, label_column=column), None
    try:
        data = datasets.load(args.name, path=args.path, download=not args.no_download)
    except datasets.DatasetNotFoundError as error:
        raise dataset_not_found(args.name, error) from error
    return args.name, data, datasets.class_names(args.name)


def run_show(args: argparse.Namespace) -> int:
    from convscope.plots import data as plots

    if args.samples < 1:
        raise ValueError(f"--samples must be at least 1; got {args.samples}.")
    name, ((x_train, y_train), (x_test, y_test)), names = _load(args)
    x, y = (x_train, y_train) if args.split == "train" else (x_test, y_test)
    out = Path(args.out)
    is_signal = x.ndim == 2 or (x.ndim == 3 and x.shape[-1] == 1)  # (N, L) or (N, L, 1)
    stem = name.replace("/", "_")
    if is_signal:
        plots.plot_signals(x, y, class_names=names, signals_per_class=args.samples, seed=args.seed,
                           title=f"{name} ({args.split}): {args.samples} signals per class",
                           path=out / f"{stem}-signals.png")
    else:
        plots.plot_samples(x, y, class_names=names, samples_per_class=args.samples, seed=args.seed,
                           title=f"{name} ({args.split}): {args.samples} samples per class",
                           path=out / f"{stem}-samples.png")
    plots.plot_class_distribution(y, class_names=names, title=f"{name} ({args.split}): samples per class",
                                  path=out / f"{stem}-distribution.png")
    kind = "signals" if is_signal else "samples"
    print(f"wrote {out / f'{stem}-{kind}.png'}")
    print(f"wrote {out / f'{stem}-distribution.png'}")
    return 0


def run_describe(args: argparse.Namespace) -> int:
    from convscope import datasets

    name, data, names = _load(args)
    known = name in datasets.DATASETS
    description = datasets.describe(
        data, name=name, class_names=names,
        expected_sample_shape=datasets.DATASETS[name].sample_shape if known else None,
    )
    print(json.dumps(description.to_dict(), indent=2) if args.json else description)
    return 0 if description.ok else 1
