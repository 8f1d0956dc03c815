"""`convscope demo --out DIR`: the seed CNN on Fashion-MNIST, end to end, in a couple of minutes.

It loads Fashion-MNIST (Debian's dataset-fashion-mnist package, or a verified download), prints
the model summary, trains with a progress bar, prints the test accuracy and leaves a complete
run folder in DIR: `convscope serve DIR` then shows the network working on photos of clothing
you upload (a drawn stroke means nothing to a clothing model, so the page takes uploads only).
It is `convscope train seed-cnn --data fashion_mnist` with the default recipe: four epochs of
Adam with a one-cycle learning rate, batch 128, bfloat16 where the CPU does it natively.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `demo` command."""
    from convscope.cli.recipe_options import add_arguments

    parser = subparsers.add_parser("demo", help="train the seed CNN on Fashion-MNIST and save the run",
                                   description="Train seed-cnn on Fashion-MNIST with the default recipe and save "
                                               "the run folder (model, history, plots, report).")
    parser.add_argument("--out", default="demo-model", help="run folder (default demo-model; replaced if it holds a run)")
    add_arguments(parser)
    parser.set_defaults(func=run, model="seed-cnn", data="fashion_mnist", overwrite=True)


def run(args: argparse.Namespace) -> int:
    from convscope.cli.recipe_options import settings_from_args, train

    folder = train(settings_from_args(args), Path(args.out), overwrite=True)
    print(f"Next: convscope serve {folder}   (then open http://127.0.0.1:8000 and upload a picture of "
          "a garment, or try the Sliding window and Lesson views)")
    return 0
