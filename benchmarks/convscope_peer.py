"""The convscope peer: the seed model (or, with --model residual, the zoo's residual-cnn) through
convscope's public API; prints one JSON line.

    python benchmarks/convscope_peer.py --batch 128 --epochs 2 [--precision auto]
    python benchmarks/convscope_peer.py --model residual --batch 32 --epochs 2
    python benchmarks/convscope_peer.py --recipe --until-target

With --recipe the run trains as `convscope train seed-cnn --data fashion_mnist` (or
`residual-cnn`) does by default (its batch size, optimizer, learning-rate schedule, epochs and
validation split; the test accuracy is still measured after every epoch): the recipe a user
gets, for the time-to-91% run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_common  # noqa: E402

ZOO_NAMES = {"seed": "seed-cnn", "residual": "residual-cnn"}


def build_model(convscope: Any, model: str = "seed") -> Any:
    """The seed CNN as a user writes it, or the zoo's residual CNN (keras_peer.py builds its twin)."""
    if model == "residual":
        from convscope import zoo

        return zoo.build(ZOO_NAMES[model])
    layers = convscope.layers
    return convscope.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


class EpochClock:
    """Keras-style callback: training time per epoch and test accuracy after it.

    It evaluates the test set itself at the end of each epoch (fit gets no validation_data), so
    the epoch's training time excludes validation exactly as the Keras peer's does, while the
    time since start includes it. Stopping sets `model.stop_training`.
    """

    def __init__(self, x_test: Any, y_test: Any, until_target: bool, max_seconds: float) -> None:
        self.x_test, self.y_test = x_test, y_test
        self.until_target, self.max_seconds = until_target, max_seconds
        self.epochs: list[dict[str, Any]] = []
        self.params: dict[str, Any] = {}
        self.fit_state: Any = None
        self.model: Any = None
        self.begin = 0.0

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def set_fit_state(self, fit_state: Any) -> None:
        self.fit_state = fit_state  # the images per epoch (Keras's params give steps only)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.begin = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        train_s = time.perf_counter() - self.begin
        scores = self.model.evaluate(self.x_test, self.y_test, batch_size=1000, verbose=0,
                                     return_dict=True)
        self.model.train()
        accuracy = float(scores["accuracy"])
        self.epochs.append({"images": self.fit_state.samples, "train_s": train_s,
                            "test_accuracy": accuracy, "since_start_s": bench_common.since_start()})
        reached = accuracy >= bench_common.TARGET_ACCURACY
        if (self.until_target and reached) or bench_common.since_start() > self.max_seconds:
            self.model.stop_training = True

    def __getattr__(self, name: str) -> Any:
        if name.startswith("on_"):  # every other hook: nothing to do
            return lambda *args, **kwargs: None
        raise AttributeError(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    bench_common.add_common_arguments(parser)
    parser.add_argument("--precision", default="auto", choices=["auto", "float32", "bfloat16"])
    parser.add_argument("--recipe", action="store_true",
                        help="train with `convscope train`'s default recipe (ignores --batch and --epochs)")
    args = parser.parse_args()

    import convscope

    convscope.set_seed(args.seed)
    x_train, y_train, x_test, y_test = bench_common.load_fashion(args.train_images, args.test_images)
    loaded_s = bench_common.since_start()
    model = build_model(convscope, args.model)
    clock = EpochClock(x_test, y_test, args.until_target, args.max_seconds)
    if args.recipe:
        fit_recipe(model, x_train, y_train, clock, ZOO_NAMES[args.model])
    else:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      precision=args.precision)
        model.fit(x_train, y_train, batch_size=args.batch, epochs=args.epochs, verbose=0, callbacks=[clock])
    batch = (clock.fit_state.batch_size if clock.fit_state else None) or args.batch
    result = {"peer": "convscope", "version": f"convscope {getattr(convscope, '__version__', '?')}",
              "precision": resolved_precision(model, args), "data_loaded_s": round(loaded_s, 2),
              "model": args.model, "params": model.count_params(),
              **bench_common.summarize_epochs(clock.epochs, batch)}
    if args.predict:
        result.update(bench_common.time_predict_batches(
            lambda batch: model.predict(x_test, batch_size=batch), args.predict_batch, len(x_test)))
    bench_common.emit(result)


def fit_recipe(model: Any, x_train: Any, y_train: Any, clock: EpochClock, name: str) -> None:
    """Compile and fit exactly as `convscope train NAME` does with its defaults."""
    from convscope.training import TrainSettings, compile_recipe, recipe_callbacks
    from convscope.training.recipe import recipe_defaults

    settings = TrainSettings(model=name, data="fashion_mnist", **recipe_defaults(name))
    compile_recipe(model, settings)
    model.fit(x_train, y_train, batch_size=settings.batch_size, epochs=settings.epochs,
              validation_split=settings.validation_split, verbose=0,
              callbacks=[*recipe_callbacks(settings), clock])


def resolved_precision(model: Any, args: argparse.Namespace) -> str:
    """What precision="auto" chose (the autocast dtype compile settled on); else what was asked."""
    compiled = getattr(model, "compiled", None)
    if compiled is not None and hasattr(compiled, "autocast_dtype"):
        dtype = compiled.autocast_dtype
        return "float32" if dtype is None else str(dtype).replace("torch.", "")
    return "unknown" if args.recipe or args.precision == "auto" else args.precision


if __name__ == "__main__":
    main()
