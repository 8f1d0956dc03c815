"""Reading run folders: the preprocessing recorded under config.json's "input" key (including
folders written before every key existed), and the defaults for models with no record."""

from __future__ import annotations

import json
from pathlib import Path

from convscope import Sequential, layers, set_seed, zoo
from convscope.inference import Preprocessing
from convscope.runs import INPUT_KEY, Run, resolve_model, save_model_run


def test_a_run_folder_written_before_every_input_key_existed_still_loads(tmp_path: Path) -> None:
    set_seed(0, deterministic=False)
    folder = save_model_run(zoo.build("seed-cnn"), tmp_path / "run", preprocessing=Preprocessing((28, 28, 1)),
                            class_names=list("abcdefghij"))
    config = json.loads((folder / "config.json").read_text())
    assert config[INPUT_KEY] == {"shape": [28, 28, 1], "scale": 1 / 255, "background": "dark",
                                 "fit": "center", "box": 20}
    config[INPUT_KEY] = {"shape": [28, 28, 1]}  # an old run.json: the shape alone
    (folder / "config.json").write_text(json.dumps(config))
    assert Run.open(folder).preprocessing == Preprocessing((28, 28, 1), 1 / 255, "dark", "center", 20)


def test_preprocessing_round_trips_through_the_run_folder(tmp_path: Path) -> None:
    recorded = Preprocessing((28, 28, 1), 1 / 255, "light", "resize", 0)
    folder = save_model_run(zoo.build("seed-cnn"), tmp_path / "run", preprocessing=recorded)
    assert resolve_model(folder).preprocessing == recorded
    assert resolve_model(folder / "model").preprocessing == recorded  # the model/ folder inside the run


def test_a_saved_signal_model_gets_signal_defaults(tmp_path: Path) -> None:
    # A saved Conv1D model used to get the image defaults (scale 1/255, dark background, centred
    # in a box): `predict` then divided integer signals by 255.
    set_seed(0, deterministic=False)
    model = Sequential([layers.Conv1D(4, 3, activation="relu", input_shape=(40, 1)), layers.Flatten(),
                        layers.Dense(3, activation="softmax")])
    model.save(tmp_path / "saved")
    preprocessing = resolve_model(tmp_path / "saved").preprocessing
    assert preprocessing == Preprocessing((40, 1), 1.0, "mixed", "resize", 0)
    assert not preprocessing.is_image
