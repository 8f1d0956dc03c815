"""Real Keras 3 continues training from the .keras files convscope writes (optimizer state and
compile settings) exactly as convscope continues: the seed CNN (two 64-filter convs) with Adam,
the Dense model with AMSGrad, Nesterov SGD, centered RMSprop with momentum, Adamax, Adagrad,
Adadelta and Ftrl, the small seed CNN with Adafactor and Lion, and the model with two outputs. Marked keras; skipped without benchmarks/.keras-env."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest
from keras_optimizer_cases import BATCH_SIZE, OPTIMIZER_STATE_CASES, case_data
from test_keras_optimizer_state import compiled_like_keras, train_one_epoch

from convscope import optimizers, zoo
from convscope.models import Model

REPO = Path(__file__).resolve().parents[2]
KERAS_PYTHON = REPO / "benchmarks" / ".keras-env" / "bin" / "python"
needs_keras = pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")
CASES = ("dense_adam", "dense_sgd", "dense_rmsprop", "dense_adamax", "dense_adagrad", "two_heads_adam",
         "seed_cnn_adafactor", "seed_cnn_lion", "dense_adadelta", "dense_ftrl")

# For each model: load NAME.keras, note its optimizer's iterations, fit one epoch on NAME.npz's
# batches (not shuffled) and write the weights and the epoch's logs; for the seed CNN also note
# what Keras restores from the .h5 (its legacy loader builds the optimizer over no variables, so
# only iterations and the learning rate come back).
KERAS_CONTINUES = textwrap.dedent("""
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, keras
    folder, names, batch_size = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
    report = {}
    for name in names:
        data = np.load(os.path.join(folder, name + ".npz"))
        x = [data[key] for key in sorted(data) if key.startswith("x")]
        y = [data[key] for key in sorted(data) if key.startswith("y")]
        model = keras.models.load_model(os.path.join(folder, name + ".keras"))
        entry = {"iterations": int(model.optimizer.iterations), "optimizer": model.optimizer.get_config()}
        history = model.fit(x if len(x) > 1 else x[0], y if len(y) > 1 else y[0], epochs=1, batch_size=batch_size,
                            shuffle=False, verbose=0)
        entry["logs"] = {key: float(values[-1]) for key, values in history.history.items()}
        np.savez(os.path.join(folder, name + "_keras.npz"), *model.get_weights())
        if os.path.exists(os.path.join(folder, name + ".h5")):
            legacy = keras.models.load_model(os.path.join(folder, name + ".h5"))
            entry["h5"] = [int(legacy.optimizer.iterations), float(legacy.optimizer.learning_rate)]
        report[name] = entry
    json.dump(report, open(os.path.join(folder, "report.json"), "w"))
""")


def write_data(folder: Path, name: str, x: object, y: object) -> None:
    xs, ys = (x if isinstance(x, list) else [x]), (y if isinstance(y, list) else [y])
    np.savez(folder / f"{name}.npz", **{f"x{index}": array for index, array in enumerate(xs)},
             **{f"y{index}": array for index, array in enumerate(ys)})


def seed_cnn() -> tuple[Model, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(9)
    model = zoo.seed_cnn()
    model.compile(optimizer=optimizers.Adam(learning_rate=0.001), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], precision="float32")
    return model, rng.normal(size=(32, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 32)


@pytest.mark.keras
@needs_keras
def test_real_keras_continues_convscope_files_as_convscope_does(tmp_path: Path) -> None:
    ours: dict[str, tuple[list[np.ndarray], dict[str, float]]] = {}
    model, x, y = seed_cnn()
    model.fit(x, y, epochs=1, batch_size=BATCH_SIZE, shuffle=False, verbose=0)
    model.save(tmp_path / "seed_cnn.keras")
    model.save(tmp_path / "seed_cnn.h5")
    write_data(tmp_path, "seed_cnn", x, y)
    history = model.fit(x, y, epochs=1, batch_size=BATCH_SIZE, shuffle=False, verbose=0)
    ours["seed_cnn"] = model.get_weights(), {key: values[-1] for key, values in history.history.items()}
    for case in CASES:
        model = compiled_like_keras(case)
        train_one_epoch(model, case)
        model.save(tmp_path / f"{case}.keras")
        write_data(tmp_path, case, *case_data(OPTIMIZER_STATE_CASES[case][0]))
        x_case, y_case = case_data(OPTIMIZER_STATE_CASES[case][0])
        history = model.fit(x_case, y_case, epochs=1, batch_size=BATCH_SIZE, shuffle=False, verbose=0)
        ours[case] = model.get_weights(), {key: values[-1] for key, values in history.history.items()}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    done = subprocess.run([str(KERAS_PYTHON), "-c", KERAS_CONTINUES, str(tmp_path), ",".join(ours), str(BATCH_SIZE)],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["seed_cnn"]["iterations"] == 4 and report["seed_cnn"]["h5"] == [4, pytest.approx(0.001)]
    assert report["dense_adam"]["optimizer"]["amsgrad"] is True
    assert report["dense_adam"]["optimizer"]["clipnorm"] == 1.0
    assert report["dense_sgd"]["optimizer"]["nesterov"] is True
    for name, (weights, logs) in ours.items():
        with np.load(tmp_path / f"{name}_keras.npz") as archive:
            theirs = [archive[f"arr_{index}"] for index in range(len(archive.files))]
        for index, (our_weight, keras_weight) in enumerate(zip(weights, theirs, strict=True)):
            np.testing.assert_allclose(our_weight, keras_weight, rtol=1e-4, atol=1e-5, err_msg=f"{name} #{index}")
        assert sorted(logs) == sorted(report[name]["logs"]), name
        for key, value in report[name]["logs"].items():
            assert logs[key] == pytest.approx(value, rel=1e-4, abs=1e-5), (name, key)
