"""Write what real Keras's utils give (tests/keras/test_keras_utils.py compares convscope with it).

Run with the Keras venv (benchmarks/setup_keras.sh), from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_utils_fixtures.py
It writes tests/keras/fixtures/keras_utils.npz (pad_sequences outputs, timeseries windows and
targets, split_dataset splits) and keras_utils.json (Progbar's printed text under a fixed clock).
"""

from __future__ import annotations

import io
import json
import os
import sys
from contextlib import redirect_stdout
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras.src.utils import progbar as keras_progbar  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from keras_utils_cases import PAD_CASES, PAD_SEQUENCES, PROGBAR_CASES, SPLIT_CASES, TIMESERIES_CASES  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


class Clock:
    """time.time() for Progbar: each call advances by `tick` seconds."""

    def __init__(self, tick: float) -> None:
        self.now, self.tick = 1000.0, tick

    def time(self) -> float:
        self.now += self.tick
        return self.now


def progbar_text(arguments: dict, steps: list, tick: float) -> str:
    real_time = keras_progbar.time
    keras_progbar.time = Clock(tick)  # type: ignore[assignment]
    try:
        out = io.StringIO()
        with redirect_stdout(out):
            bar = keras.utils.Progbar(**arguments)
            for method, count, values in steps:
                getattr(bar, method)(count, [tuple(pair) for pair in values])
        return out.getvalue()
    finally:
        keras_progbar.time = real_time


def main() -> None:
    arrays: dict[str, np.ndarray] = {}
    for case, arguments in PAD_CASES.items():
        arrays[f"pad/{case}"] = keras.utils.pad_sequences(PAD_SEQUENCES, **arguments)
    for case, (data, targets, arguments) in TIMESERIES_CASES.items():
        dataset = keras.utils.timeseries_dataset_from_array(data, targets, **arguments)
        batches = list(dataset.as_numpy_iterator())
        if arguments.get("batch_size", 128) is None:  # single windows: batch them here for saving
            batches = [tuple(np.stack(column) for column in zip(*batches)) if targets is not None
                       else np.stack(batches)]
        windows = [batch[0] if targets is not None else batch for batch in batches]
        arrays[f"timeseries/{case}/windows"] = np.concatenate(windows)
        arrays[f"timeseries/{case}/batch_sizes"] = np.array([len(window) for window in windows])
        if targets is not None:
            arrays[f"timeseries/{case}/targets"] = np.concatenate([batch[1] for batch in batches])
    for case, (dataset, arguments) in SPLIT_CASES.items():
        left, right = keras.utils.split_dataset(dataset, **arguments)
        for side, split in (("left", left), ("right", right)):
            samples = list(split.as_numpy_iterator())
            for k in range(len(samples[0]) if isinstance(samples[0], tuple) else 1):
                column = [sample[k] if isinstance(sample, tuple) else sample for sample in samples]
                arrays[f"split/{case}/{side}/{k}"] = np.stack(column)
    printed = {case: progbar_text(arguments, steps, tick) for case, (arguments, steps, tick) in PROGBAR_CASES.items()}
    FIXTURES.mkdir(exist_ok=True)
    np.savez(FIXTURES / "keras_utils.npz", **arrays)
    (FIXTURES / "keras_utils.json").write_text(json.dumps({"keras": keras.__version__, "progbar": printed},
                                                          indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(arrays)} arrays and {len(printed)} progress bars with Keras {keras.__version__}")


if __name__ == "__main__":
    main()
