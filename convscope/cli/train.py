"""`convscope train MODEL --data NAME|PATH --out DIR`: train a model and keep a run folder.

MODEL is a built-in name (`convscope summary --list` shows them), a .json/.yaml spec, or a .py
file defining `build_model()`. The recipe is `convscope.training`'s; the run folder is
described in `convscope.runs`, and its config.json records the command line that repeats the run.

    convscope train seed-cnn --data fashion_mnist --out runs/fashion
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from convscope.cli import CommandError
from convscope.cli.recipe_options import add_arguments, settings_from_args, train


def register(subparsers: Any) -> None:
    """Add the `train` command."""
    parser = subparsers.add_parser("train", help="train a model and save a run folder",
                                   description="Train a built-in model, a JSON/YAML spec or a Python "
                                               "build_model() on a dataset; save everything to --out.")
    add_arguments(parser)
    parser.add_argument("model", metavar="MODEL", nargs="?",
                        help="built-in model name, a .json/.yaml spec, or a .py file defining build_model()")
    parser.add_argument("--data",
                        help="dataset name (mnist, fashion_mnist, cifar10, cifar100, digits, mnist1d), an image "
                             "folder (one subfolder per class), or a .npy/.npz/.csv file of signals")
    parser.add_argument("--out", help="run folder (default: runs/<model>-<data>-<time>)")
    parser.add_argument("--resume", metavar="RUN",
                        help="continue an interrupted run from its newest good checkpoint (same settings; "
                             "--epochs then gives the new total)")
    parser.add_argument("--checkpoint-every", type=int, metavar="N",
                        help="also checkpoint every N steps, not only at each epoch's end")
    parser.add_argument("--nproc", type=int, default=1, help="train on N local processes (torch.distributed)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from convscope import training

    resume = bool(args.resume)
    if resume:
        settings, out = training.resume_settings(args.resume, args.epochs), Path(args.resume).expanduser()
    elif not args.model or not args.data:
        raise CommandError("train needs MODEL and --data", hint="e.g. convscope train seed-cnn --data fashion_mnist "
                           "(convscope summary --list shows the built-in models)")
    else:
        settings = settings_from_args(args)
        out = Path(args.out) if args.out else training.default_run_folder(settings)
    train(settings, out, overwrite=args.overwrite and not resume, resume=resume, nproc=args.nproc,
          checkpoint_every=args.checkpoint_every)
    return 0
