"""The training recipe's options, shared by `convscope train` and `convscope demo`: argparse
registration, their reading into `convscope.training.TrainSettings`, and the call that trains."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convscope.cli import dataset_not_found

if TYPE_CHECKING:
    from convscope.training import TrainSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The training recipe options shared by `train` and `demo`."""
    from convscope.training.recipe import DEFAULT, OPTIMIZERS, PRECISIONS, SCHEDULES

    parser.add_argument("--path", dest="data_path", help="folder holding a named dataset's files")
    parser.add_argument("--epochs", type=int, help=f"passes over the data (default {DEFAULT.epochs}, or the "
                                                   "built-in model's own: convscope summary --list)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT.batch_size,
                        help=f"samples per step (default {DEFAULT.batch_size})")
    parser.add_argument("--lr", type=float, default=DEFAULT.learning_rate,
                        help=f"learning rate; the peak rate with --schedule one-cycle (default {DEFAULT.learning_rate})")
    parser.add_argument("--schedule", choices=SCHEDULES, default=DEFAULT.schedule,
                        help="one-cycle: warm up to --lr over the first 30%% of steps, then decay (default); "
                             "constant: --lr throughout, as Keras does")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=DEFAULT.optimizer,
                        help=f"(default {DEFAULT.optimizer})")
    parser.add_argument("--beta-2", type=float, default=DEFAULT.beta_2,
                        help=f"Adam/AdamW second-moment decay (default {DEFAULT.beta_2}; Keras uses 0.999)")
    parser.add_argument("--validation-split", type=float, default=DEFAULT.validation_split,
                        help=f"share of the training data held out for validation (default {DEFAULT.validation_split})")
    parser.add_argument("--seed", type=int, default=DEFAULT.seed,
                        help=f"seed for weights and shuffling (default {DEFAULT.seed})")
    parser.add_argument("--device", default=DEFAULT.device,
                        help=f"auto, cpu, cuda or cuda:N (default {DEFAULT.device})")
    parser.add_argument("--precision", choices=PRECISIONS, default=DEFAULT.precision,
                        help="auto uses bfloat16 only where the hardware supports it natively")
    parser.add_argument("--limit", type=int, help="use only the first N training samples (quick runs)")
    parser.add_argument("--test-limit", type=int, help="use only the first N test samples")
    parser.add_argument("--overwrite", action="store_true", help="replace a run already in --out")


def settings_from_args(args: argparse.Namespace) -> TrainSettings:
    """The recipe options as `TrainSettings`, checked."""
    from convscope.training import DEFAULT, TrainSettings
    from convscope.training.recipe import recipe_defaults

    settings = TrainSettings(
        model=args.model, data=args.data, data_path=args.data_path,
        epochs=recipe_defaults(args.model).get("epochs", DEFAULT.epochs) if args.epochs is None else args.epochs,
        batch_size=args.batch_size, learning_rate=args.lr, optimizer=args.optimizer, beta_2=args.beta_2,
        schedule=args.schedule, validation_split=args.validation_split, seed=args.seed, device=args.device,
        precision=args.precision, limit=args.limit, test_limit=args.test_limit)
    settings.check()
    return settings


def train(settings: TrainSettings, out: Path, **options: Any) -> Path:
    """`convscope.training.train_run`, with a missing dataset reported as the CLI reports it."""
    from convscope.datasets import DatasetNotFoundError
    from convscope.training import train_run

    try:
        return train_run(settings, out, **options)
    except DatasetNotFoundError as error:
        raise dataset_not_found(settings.data, error) from error
