"""The optimizer's state and the compile settings in Keras's files, both ways: files real Keras
wrote after one epoch (fixtures/opt_*, made by make_keras_optimizer_fixtures.py from the cases in
keras_optimizer_cases.py) continue training in convscope as they did in Keras; files convscope
writes hold what Keras's hold. Real Keras reading convscope's files is in
test_keras_optimizer_state_real.py."""

from __future__ import annotations

import io
import json
import shutil
import warnings
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import torch
from keras_optimizer_cases import (
    BATCH_SIZE,
    OPTIMIZER_STATE_CASES,
    build_objects,
    case_data,
    keras_writes_h5,
)

from convscope import losses, metrics, optimizers
from convscope.models import Model, keras_files, load_model

FIXTURES = Path(__file__).parent / "fixtures"
SUFFIXES = (".keras", ".h5")
CASE_FILES = [(case, suffix) for case in OPTIMIZER_STATE_CASES for suffix in SUFFIXES
              if suffix == ".keras" or keras_writes_h5(case)]  # the files Keras wrote
STEPS = {"seed_cnn": 3, "dense": 4, "two_heads": 3}  # batches of 8 in one epoch


def fixture(case: str, suffix: str) -> Path:
    return FIXTURES / f"opt_{case}{suffix}"


def arrays(case: str, kind: str) -> list[np.ndarray]:
    """The weights Keras had before training ("initial") or after its second epoch ("after")."""
    with np.load(FIXTURES / f"opt_{case}.npz") as archive:
        return [archive[f"{kind}_{index}"] for index in range(sum(key.startswith(kind) for key in archive))]


def train_one_epoch(model: Model, case: str) -> None:
    x, y = case_data(OPTIMIZER_STATE_CASES[case][0])
    model.fit(x, y, epochs=1, batch_size=BATCH_SIZE, shuffle=False, verbose=0)


def compiled_like_keras(case: str) -> Model:
    """The case's model with Keras's initial weights, compiled as the fixture writer compiled it."""
    _, (optimizer_class, optimizer_arguments), arguments = OPTIMIZER_STATE_CASES[case]
    model = load_model(fixture(case, ".keras"), compile=False)
    model.set_weights(arrays(case, "initial"))
    settings: dict[str, Any] = dict(arguments)
    settings["loss"] = build_objects(settings["loss"], lambda name, config: getattr(losses, name)(**config))
    for key in ("metrics", "weighted_metrics"):
        settings[key] = build_objects(settings.get(key), lambda name, config: getattr(metrics, name)(**config))
    model.compile(optimizer=getattr(optimizers, optimizer_class)(**optimizer_arguments), precision="float32",
                  **settings)
    return model


def torch_state(model: Model) -> list[dict[str, torch.Tensor]]:
    """Each parameter's optimizer state (tensors only), in parameter order."""
    compiled = model.require_compiled("torch_state")
    return [{key: torch.as_tensor(value).detach().clone() for key, value in compiled.optimizer.state[param].items()
             if value is not None} for param in model.parameters() if param in compiled.optimizer.state]


# -- reading what Keras wrote -----------------------------------------------------------------------
@pytest.mark.parametrize(("case", "suffix"), CASE_FILES)
def test_keras_file_continues_training_as_keras(case: str, suffix: str) -> None:
    model = load_model(fixture(case, suffix))
    optimizer = model.optimizer
    assert optimizer is not None
    assert optimizer.iterations == STEPS[OPTIMIZER_STATE_CASES[case][0]]
    assert torch_state(model)  # every trainable weight has its slots
    train_one_epoch(model, case)
    for ours, keras_weights in zip(model.get_weights(), arrays(case, "after"), strict=True):
        np.testing.assert_allclose(ours, keras_weights, rtol=1e-5, atol=2e-6)


def test_keras_optimizer_settings_are_read() -> None:
    recipe = load_model(fixture("dense_adam", ".h5")).optimizer
    assert isinstance(recipe, optimizers.Adam)
    assert recipe.get_config() == pytest.approx({"learning_rate": 0.01, "beta_1": 0.85, "beta_2": 0.999,
                                                 "epsilon": 1e-7, "amsgrad": True, "weight_decay": None,
                                                 "clipnorm": 1.0})
    recipe = load_model(fixture("dense_sgd", ".keras")).optimizer
    assert isinstance(recipe, optimizers.SGD)
    assert recipe.get_config() == pytest.approx({"learning_rate": 0.05, "momentum": 0.8, "nesterov": True,
                                                 "weight_decay": None})


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_keras_loss_and_metric_objects_are_read(suffix: str) -> None:
    compiled = load_model(fixture("dense_adam", suffix)).require_compiled("test")
    assert isinstance(compiled.loss, losses.SparseCategoricalCrossentropy) and compiled.loss.from_logits
    names = [name for name, _ in compiled.metrics]
    assert names == ["sparse_top_k_categorical_accuracy", "accuracy"]
    top_k = compiled.metrics[0][1]
    assert isinstance(top_k, metrics.SparseTopKCategoricalAccuracy) and top_k.k == 2
    assert load_model(fixture("dense_sgd", suffix)).require_compiled("test").heads[0].loss_weight == 0.5


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_keras_settings_of_several_outputs_are_read(suffix: str) -> None:
    compiled = load_model(fixture("two_heads_adam", suffix)).require_compiled("test")
    assert [(head.key, type(head.loss).__name__, head.loss_weight) for head in compiled.heads] == [
        ("class_out", "SparseCategoricalCrossentropy", 1.0), ("reg_out", "MeanSquaredError", 0.5)]
    assert [name for name, _ in compiled.metrics] == ["class_out_accuracy", "reg_out_mae", "reg_out_mse_metric",
                                                      "class_out_weighted_accuracy"]


# -- tf.keras 2's optimizer weights ------------------------------------------------------------------
def tf_keras_2_style(source: Path, target: Path, interleaved: bool) -> None:
    """Rewrite a Keras 3 .h5's optimizer as tf.keras 2 saved it: OptimizerV2 (2.10 and before)
    named slots "Adam/<layer>/<weight>/m:0" with every m before every v; 2.11+ named them
    "Adam/m/<layer>/<weight>:0", interleaved per weight, and registered the class as "Custom>Adam"."""
    shutil.copy(source, target)
    with h5py.File(target, "a") as file:
        old = file["optimizer_weights"]
        names = [name.decode() if isinstance(name, bytes) else name for name in old.attrs["weight_names"]]
        values = [np.asarray(old[name]) for name in names]
        del file["optimizer_weights"]
        slots = values[2:]
        paths = [f"{layer}/{weight}" for layer, weight in (("conv2d", "kernel"), ("conv2d", "bias"),
                                                           ("conv2d_1", "kernel"), ("conv2d_1", "bias"),
                                                           ("dense", "kernel"), ("dense", "bias"))]
        if interleaved:
            renamed = [(f"Adam/{slot}/{path}:0", slots[2 * index + offset])
                       for index, path in enumerate(paths) for offset, slot in enumerate(("m", "v"))]
        else:
            renamed = [(f"Adam/{path}/{slot}:0", slots[2 * index + offset])
                       for offset, slot in enumerate(("m", "v")) for index, path in enumerate(paths)]
        entries = [("Adam/iter:0", values[0]), *renamed]
        group = file.create_group("optimizer_weights")
        group.attrs["weight_names"] = [name.encode() for name, _ in entries]
        for name, value in entries:
            group.create_dataset(name, data=value)
        training = json.loads(file.attrs["training_config"])
        training["optimizer_config"] = {
            "class_name": "Custom>Adam" if interleaved else "Adam",
            "config": {"name": "Adam", "learning_rate": 0.002, "decay": 0.0, "beta_1": 0.9, "beta_2": 0.999,
                       "epsilon": 1e-7, "amsgrad": False, **({"is_legacy_optimizer": False, "jit_compile": True}
                                                             if interleaved else {})}}
        file.attrs["training_config"] = json.dumps(training)


@pytest.mark.parametrize("interleaved", [False, True])
def test_tf_keras_2_optimizer_weights_are_read_by_name(interleaved: bool, tmp_path: Path) -> None:
    tf_keras_2_style(fixture("seed_cnn_adam", ".h5"), tmp_path / "old.h5", interleaved)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load_model(tmp_path / "old.h5")
    assert not [str(item.message) for item in caught if "optimizer" in str(item.message)]
    reference = load_model(fixture("seed_cnn_adam", ".h5"))
    for ours, theirs in zip(torch_state(model), torch_state(reference), strict=True):
        assert ours.keys() == theirs.keys()
        for key in ours:
            torch.testing.assert_close(ours[key], theirs[key])
    train_one_epoch(model, "seed_cnn_adam")
    for ours, keras_weights in zip(model.get_weights(), arrays("seed_cnn_adam", "after"), strict=True):
        np.testing.assert_allclose(ours, keras_weights, rtol=1e-5, atol=2e-6)


# -- what cannot be mapped is dropped with a warning ------------------------------------------------
def edited_archive(source: Path, target: Path, edit: Any) -> None:
    """A copy of a .keras archive whose compile_config `edit` changes in place."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = old.read(name)
            if name == "config.json":
                document = json.loads(data)
                edit(document["compile_config"])
                data = json.dumps(document).encode()
            new.writestr(name, data)


def test_optimizer_convscope_lacks_warns_and_drops_its_state(tmp_path: Path) -> None:
    def to_lamb(compile_config: dict[str, Any]) -> None:
        compile_config["optimizer"]["class_name"] = "Lamb"

    edited_archive(fixture("seed_cnn_adam", ".keras"), tmp_path / "lamb.keras", to_lamb)
    with pytest.warns(UserWarning, match=r"lamb\.keras: Keras optimizer Lamb has no convscope equivalent; .*"
                                         r"RMSprop\(learning_rate=0\.002\).*state in the file are dropped"):
        model = load_model(tmp_path / "lamb.keras")
    assert isinstance(model.optimizer, optimizers.RMSprop)
    assert model.optimizer.iterations == 0 and not torch_state(model)


def test_options_convscope_lacks_are_named(tmp_path: Path) -> None:
    def with_ema(compile_config: dict[str, Any]) -> None:
        compile_config["optimizer"]["config"].update(use_ema=True, ema_momentum=0.9)

    edited_archive(fixture("seed_cnn_adam", ".keras"), tmp_path / "ema.keras", with_ema)
    with pytest.warns(UserWarning, match=r"Keras optimizer Adam: convscope does not implement use_ema=True, "
                                         r"ema_momentum=0\.9"):
        model = load_model(tmp_path / "ema.keras")
    assert model.optimizer is not None and model.optimizer.iterations == 3  # the state itself is read


def test_slots_that_do_not_fit_warn_and_start_fresh(tmp_path: Path) -> None:
    target = tmp_path / "short.h5"
    shutil.copy(fixture("seed_cnn_adam", ".h5"), target)
    with h5py.File(target, "a") as file:
        group = file["optimizer_weights"]
        group.attrs["weight_names"] = group.attrs["weight_names"][:-1]
    with pytest.warns(UserWarning, match=r"short\.h5: Keras optimizer Adam: the file holds 13 optimizer variables "
                                         r"where Adam over 6 trainable weights has 14, so its saved state"):
        model = load_model(target)
    assert model.optimizer is not None and model.optimizer.iterations == 0 and not torch_state(model)


def test_schedule_is_read_and_unknown_metric_warns(tmp_path: Path) -> None:
    def edit(compile_config: dict[str, Any]) -> None:
        compile_config["optimizer"]["config"]["learning_rate"] = {
            "module": "keras.optimizers.schedules", "class_name": "ExponentialDecay",
            "config": {"initial_learning_rate": 0.01, "decay_steps": 100, "decay_rate": 0.9}}
        compile_config["metrics"] = ["accuracy", {"module": "my_lab.metrics", "class_name": "SignalToNoise",
                                                  "config": {"name": "snr"}}]

    edited_archive(fixture("seed_cnn_adam", ".keras"), tmp_path / "sched.keras", edit)
    with pytest.warns(UserWarning) as caught:
        model = load_model(tmp_path / "sched.keras")
    messages = " | ".join(str(item.message) for item in caught)
    # a schedule is no optimizer variable, so the Adam state saved with a fixed rate does not fit
    assert "the file holds 14 optimizer variables where Adam over 6 trainable weights has 13" in messages
    assert "metric SignalToNoise (snr) has no convscope equivalent and is dropped" in messages
    assert model.optimizer is not None and type(model.optimizer.schedule).__name__ == "ExponentialDecay"
    assert model.learning_rate == pytest.approx(0.01)
    assert [name for name, _ in model.require_compiled("test").metrics] == ["accuracy"]


# -- what convscope writes ----------------------------------------------------------------------------
def optimizer_variables(path: Path) -> tuple[list[str] | None, list[np.ndarray]]:
    return keras_files.optimizer_variables(path)


@pytest.mark.parametrize(("case", "suffix"), CASE_FILES)
def test_written_optimizer_matches_keras_file(case: str, suffix: str, tmp_path: Path) -> None:
    """One epoch in convscope from Keras's initial weights writes the optimizer variables Keras
    wrote after its epoch: same order, names, shapes and values."""
    model = compiled_like_keras(case)
    train_one_epoch(model, case)
    model.save(tmp_path / f"m{suffix}")
    our_names, ours = optimizer_variables(tmp_path / f"m{suffix}")
    keras_names, theirs = optimizer_variables(fixture(case, suffix))
    if suffix == ".h5":  # Keras numbers its optimizers' names (adam_1); the rest of each name is Keras's
        assert our_names is not None and keras_names is not None
        assert [name.split("/", 1)[1] for name in our_names] == [name.split("/", 1)[1] for name in keras_names]
    assert [np.shape(value) for value in ours] == [np.shape(value) for value in theirs]
    assert [np.asarray(value).dtype for value in ours] == [np.asarray(value).dtype for value in theirs]
    for ours_value, keras_value in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(ours_value, keras_value, rtol=1e-5, atol=1e-6)


def compile_config(path: Path) -> dict[str, Any]:
    if path.suffix == ".keras":
        with zipfile.ZipFile(path) as archive:
            return dict(json.loads(archive.read("config.json"))["compile_config"])
    with h5py.File(path, "r") as file:
        training = json.loads(file.attrs["training_config"])
    return {**training, "optimizer": training.pop("optimizer_config")}


@pytest.mark.parametrize(("case", "suffix"), CASE_FILES)
def test_written_compile_settings_are_keras(case: str, suffix: str, tmp_path: Path) -> None:
    """The optimizer's whole config, the metrics and loss weights as Keras wrote them; each
    loss as Keras wrote it or by its name where it has its class's defaults."""
    model = load_model(fixture(case, suffix))
    model.save(tmp_path / f"m{suffix}")
    ours, theirs = compile_config(tmp_path / f"m{suffix}"), compile_config(fixture(case, suffix))
    our_optimizer, keras_optimizer = ours.pop("optimizer"), theirs.pop("optimizer")
    assert our_optimizer["class_name"] == keras_optimizer["class_name"]
    assert set(our_optimizer["config"]) == set(keras_optimizer["config"])
    for key, value in keras_optimizer["config"].items():
        assert our_optimizer["config"][key] == (pytest.approx(value) if key != "name" else value), key
    for key in ("metrics", "loss_weights", "weighted_metrics", "run_eagerly", "steps_per_execution", "jit_compile"):
        assert ours[key] == theirs[key], key
    reread = load_model(tmp_path / f"m{suffix}").require_compiled("test")
    original = model.require_compiled("test")
    assert [(head.key, losses.serialize(head.loss) if head.loss else None, head.loss_weight) for head in reread.heads] \
        == [(head.key, losses.serialize(head.loss) if head.loss else None, head.loss_weight) for head in original.heads]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_convscope_round_trip_continues_exactly(suffix: str, tmp_path: Path) -> None:
    model = compiled_like_keras("dense_adam")
    train_one_epoch(model, "dense_adam")
    model.save(tmp_path / f"m{suffix}")
    reloaded = load_model(tmp_path / f"m{suffix}")
    assert reloaded.optimizer is not None and model.optimizer is not None
    assert reloaded.optimizer.iterations == model.optimizer.iterations == 4
    for ours, theirs in zip(torch_state(reloaded), torch_state(model), strict=True):
        for key in theirs:
            torch.testing.assert_close(ours[key], theirs[key], rtol=0, atol=1e-7)
    train_one_epoch(model, "dense_adam")
    train_one_epoch(reloaded, "dense_adam")
    for ours, theirs in zip(reloaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("case", ["dense_sgd", "dense_rmsprop"])
def test_momentum_written_after_a_rate_change_continues_exactly(case: str, suffix: str, tmp_path: Path) -> None:
    """Keras's momentum carries the rate it was made with; a file written after the rate changed
    (as ReduceLROnPlateau does between epochs) continues as the model never saved."""
    model = compiled_like_keras(case)
    train_one_epoch(model, case)
    assert model.optimizer is not None
    model.optimizer.learning_rate.assign(float(model.optimizer.learning_rate) / 4)
    model.save(tmp_path / f"m{suffix}")
    reloaded = load_model(tmp_path / f"m{suffix}")
    train_one_epoch(model, case)
    train_one_epoch(reloaded, case)
    for ours, theirs in zip(reloaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_untrained_optimizer_is_written_as_keras_builds_it(tmp_path: Path) -> None:
    """Before any step: iteration 0 and each slot at Keras's initial value (Adagrad's 0.1)."""
    model = load_model(fixture("seed_cnn_adam", ".keras"), compile=False)
    model.compile(optimizer=optimizers.Adagrad(initial_accumulator_value=0.25), loss="sparse_categorical_crossentropy")
    model.save(tmp_path / "m.keras")
    _, values = optimizer_variables(tmp_path / "m.keras")
    assert len(values) == 2 + 6 and int(values[0]) == 0
    assert all(np.all(value == 0.25) for value in values[2:])
    with zipfile.ZipFile(tmp_path / "m.keras") as archive, \
            h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as store:
        assert store["optimizer/vars"].attrs["name"] == "adagrad"
    assert load_model(tmp_path / "m.keras").optimizer.iterations == 0  # type: ignore[union-attr]


@pytest.mark.parametrize("case", ["seed_cnn_adam", "dense_rmsprop", "dense_adamax", "dense_adagrad"])
def test_folder_resume_keeps_the_iteration_count(case: str, tmp_path: Path) -> None:
    """Adam's epsilon and Adamax's bias correction follow the step, so a model saved in
    convscope's folder and loaded again continues exactly as one never saved."""
    model = compiled_like_keras(case)
    train_one_epoch(model, case)
    model.save(tmp_path / "folder")
    reloaded = load_model(tmp_path / "folder")
    assert reloaded.optimizer is not None
    assert reloaded.optimizer.iterations == STEPS[OPTIMIZER_STATE_CASES[case][0]]
    train_one_epoch(model, case)
    train_one_epoch(reloaded, case)
    for ours, theirs in zip(reloaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
