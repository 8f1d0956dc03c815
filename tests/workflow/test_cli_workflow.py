"""The CLI workflow on a real run folder, each command in a fresh process: train -> evaluate ->
predict -> summary -> every explain action -> export (checked in ONNX Runtime) -> serve ->
resume, for the seed CNN on MNIST and a Conv1D model on MNIST-1D signals."""

from __future__ import annotations

import json
import re
import shutil
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from workflow_helpers import (
    Workflow,
    is_png,
    reported_test_accuracy,
    user_environment,
)

from convscope import Sequential, datasets
from convscope.runs import Run

pytestmark = pytest.mark.slow

LIMITS = ("--limit", "3000", "--test-limit", "500")
CASES = {"seed-cnn": "mnist", "mnist1d-cnn": "mnist1d"}


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def workflow(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Workflow:
    """`convscope train MODEL --data DATA` for one epoch on a few thousand samples (a few seconds)."""
    model = request.param
    root = tmp_path_factory.mktemp(f"workflow-{model}")
    # MNIST comes from the shared test data; MNIST-1D is generated, so it runs without it
    data_dir = request.getfixturevalue("shared_data_dir") if CASES[model] == "mnist" else root / "no-data"
    flow = Workflow(model, CASES[model], root / "run", user_environment(data_dir, root / "cache"))
    flow.train_output = flow.cli("train", model, "--data", flow.data, *LIMITS, "--epochs", "1",
                                 "--out", str(flow.folder)).stdout
    load_path = data_dir / "mnist" if flow.data == "mnist" else None
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONVSCOPE_CACHE_DIR", str(root / "cache"))
        _, (x_test, y_test) = datasets.load(flow.data, path=load_path)
    flow.x_test, flow.y_test = x_test[:500], y_test[:500]
    return flow


@pytest.fixture(scope="module")
def trained_model(workflow: Workflow) -> Sequential:
    """The run's model through the Python API, to check the CLI's answers against."""
    return Run.open(workflow.folder).load_model(device="cpu")


def test_train_writes_a_complete_run_folder(workflow: Workflow) -> None:
    assert 0.0 <= reported_test_accuracy(workflow.train_output) <= 1.0
    for name in ("config.json", "history.csv", "summary.txt", "metrics.json", "report.html",
                 "model/config.json", "model/model.safetensors", "checkpoints/best/model.safetensors"):
        assert (workflow.folder / name).stat().st_size > 0, name
    for name in ("curves", "confusion", "samples"):
        assert is_png(workflow.folder / "plots" / f"{name}.png"), name
    assert json.loads((workflow.folder / "config.json").read_text())["status"] == "finished"


def test_evaluate_matches_what_train_reported(workflow: Workflow, trained_model: Sequential) -> None:
    result = workflow.cli("evaluate", str(workflow.folder), "--json")
    assert result.stderr == f"model: run folder {workflow.folder} (final model)\n"
    answer = json.loads(result.stdout)
    assert answer["samples"] == 500 and 0.0 <= answer["accuracy"] <= 1.0
    expected = float(np.mean(trained_model.predict(workflow.inputs).argmax(axis=1) == workflow.y_test))
    assert answer["accuracy"] == pytest.approx(expected, abs=1e-9)
    # train tests under the recipe's precision (bfloat16 where native); a few of 500 may differ
    assert answer["accuracy"] == pytest.approx(reported_test_accuracy(workflow.train_output), abs=0.01)


def test_predict_matches_the_python_api(workflow: Workflow, trained_model: Sequential, tmp_path: Path) -> None:
    for index in range(3):
        np.save(tmp_path / f"example{index}.npy", workflow.x_test[index].squeeze(-1))  # as stored: uint8 or float
    result = workflow.cli("predict", str(workflow.folder), str(tmp_path), "--json", "--top", "3")
    answers = json.loads(result.stdout)
    probabilities = trained_model.predict(workflow.inputs[:3])
    assert [Path(answer["file"]).name for answer in answers] == [f"example{i}.npy" for i in range(3)]
    for answer, expected in zip(answers, probabilities, strict=True):
        assert answer["prediction"]["class"] == int(expected.argmax())
        for entry in answer["top"]:
            assert entry["probability"] == pytest.approx(float(expected[entry["class"]]), abs=1e-5)


def test_summary_of_the_seed_cnn_shows_its_shapes(workflow: Workflow) -> None:
    if workflow.model != "seed-cnn":
        pytest.skip("the seed CNN's shapes")
    text = workflow.cli("summary", str(workflow.folder)).stdout
    shapes = re.findall(r"\(None, ([\d, ]+)\)", text)
    assert shapes == ["26, 26, 64", "13, 13, 64", "11, 11, 64", "5, 5, 64", "1600", "128", "10"]
    assert "Total params: 243,786" in text


def test_summary_matches_the_python_api(workflow: Workflow, trained_model: Sequential) -> None:
    text = workflow.cli("summary", str(workflow.folder), "--json").stdout
    summary = json.loads(text)
    assert summary["total_params"] == trained_model.count_params()
    assert [row["output_shape"] for row in summary["rows"]] == [list(layer.output_shape) for layer in trained_model.layers]


def test_explain_shapes_shows_the_arithmetic(workflow: Workflow) -> None:
    text = workflow.cli("explain", "shapes", "--model", str(workflow.folder)).stdout
    if workflow.model == "seed-cnn":
        assert "height: 28 - 3 + 1 = 26" in text and "Conv2D 'conv2d': (28, 28, 1) -> (26, 26, 64)" in text
        assert text.rstrip().splitlines()[-1] == "journey: 28 -> 26 -> 13 -> 11 -> 5 -> 1600 -> 128 -> 10"
    else:
        assert text.rstrip().splitlines()[-1] == "journey: 40 -> 20 -> 10 -> 64 -> 10"


def test_explain_conv_agrees_with_the_engine(workflow: Workflow, tmp_path: Path) -> None:
    text = workflow.cli("explain", "conv", "--model", str(workflow.folder), "--data", workflow.data,
                        "--index", "0", "--out", str(tmp_path)).stdout
    assert "(agrees;" in text and is_png(tmp_path / "conv_steps.png")


def test_explain_pool_writes_its_steps(workflow: Workflow, tmp_path: Path) -> None:
    text = workflow.cli("explain", "pool", "--model", str(workflow.folder), "--data", workflow.data,
                        "--out", str(tmp_path)).stdout
    steps = json.loads((tmp_path / "pool_steps.json").read_text())
    assert "(agrees;" in text and steps["agrees"] and steps["output"] == pytest.approx(max(steps["values"]))
    drawn = sorted(path.name for path in tmp_path.iterdir() if is_png(path))
    assert len(drawn) == 3 and "pool_steps.png" in drawn  # the window's steps, the maps into and out of it


def test_explain_maps_draws_every_layer(workflow: Workflow, trained_model: Sequential, tmp_path: Path) -> None:
    workflow.cli("explain", "maps", "--model", str(workflow.folder), "--data", workflow.data, "--out", str(tmp_path))
    drawn = sorted(path.name for path in tmp_path.iterdir() if is_png(path))
    assert drawn == [f"{index:02d}_{layer.name}.png" for index, layer in enumerate(trained_model.layers)]


def test_explain_filters_draws_the_first_conv_layer(workflow: Workflow, tmp_path: Path) -> None:
    text = workflow.cli("explain", "filters", "--model", str(workflow.folder), "--out", str(tmp_path)).stdout
    name = "conv2d" if workflow.model == "seed-cnn" else "conv1d"
    assert text.startswith(f"Conv{name[4]}D '{name}': kernel (") and is_png(tmp_path / f"filters_{name}.png")


def test_explain_interpret_matches_the_python_api(workflow: Workflow, trained_model: Sequential, tmp_path: Path) -> None:
    text = workflow.cli("explain", "interpret", "--model", str(workflow.folder), "--data", workflow.data,
                        "--limit", "200", "--out", str(tmp_path)).stdout
    expected = float(np.mean(trained_model.predict(workflow.inputs[:200]).argmax(axis=1) == workflow.y_test[:200]))
    assert text.startswith(f"accuracy {expected:.4f} on 200 examples")
    for name in ("confusion_matrix", "per_class_accuracy", "top_losses", "saliency_gradient", "saliency_grad_cam"):
        assert is_png(tmp_path / f"{name}.png"), name


def test_explain_edges_on_the_seed_cnns_data(workflow: Workflow, tmp_path: Path) -> None:
    if workflow.model != "seed-cnn":
        pytest.skip("edge filters are drawn on images")
    text = workflow.cli("explain", "edges", "--data", workflow.data, "--index", "0", "--out", str(tmp_path)).stdout
    assert "input (28, 28) -> filtered (26, 26) -> pooled (13, 13)" in text and is_png(tmp_path / "edges.png")


def test_export_onnx_predicts_like_the_model(workflow: Workflow, trained_model: Sequential, tmp_path: Path) -> None:
    import onnxruntime

    out = tmp_path / "model.onnx"
    text = workflow.cli("export", str(workflow.folder), "--out", str(out)).stdout
    assert float(re.search(r"max abs difference ([\d.e+-]+)", text).group(1)) < 1e-4  # type: ignore[union-attr]
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    inputs = workflow.inputs[:64]
    exported = session.run(None, {session.get_inputs()[0].name: inputs})[0]
    assert np.abs(exported - trained_model.predict(inputs)).max() < 1e-4


def test_serve_answers_a_prediction(workflow: Workflow, trained_model: Sequential) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))  # the load tools start servers
    import bench_serve

    with bench_serve.server_process(workflow.folder, env=workflow.env) as (url, _):
        example = workflow.inputs[0]
        request = urllib.request.Request(f"{url}/api/predict", method="POST",
                                         data=json.dumps({"pixels": example.tolist(), "top_k": 3}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
    expected = trained_model.predict(example[np.newaxis])[0]
    assert answer["prediction"]["class"] == int(expected.argmax()) and len(answer["top"]) == 3
    assert answer["probabilities"] == pytest.approx(expected.tolist(), abs=1e-5)


@pytest.fixture(scope="module")
def resumed(workflow: Workflow) -> tuple[Workflow, Path, str]:
    """A copy of the one-epoch run, resumed to two epochs."""
    copy = workflow.folder.parent / "resumed"
    shutil.copytree(workflow.folder, copy)
    return workflow, copy, workflow.cli("train", "--resume", str(copy), "--epochs", "2").stdout


def test_resume_continues_to_the_new_total(resumed: tuple[Workflow, Path, str]) -> None:
    _, folder, output = resumed
    assert "Resuming" in output and "Epoch 2/2" in output and "Epoch 1/2" not in output
    assert 0.0 <= reported_test_accuracy(output) <= 1.0
    assert len((folder / "history.csv").read_text().splitlines()) == 3  # header and two epochs
    assert json.loads((folder / "config.json").read_text())["epochs_done"] == 2


@pytest.fixture(scope="module")
def resumed_and_straight(workflow: Workflow) -> tuple[Path, Path]:
    """One epoch resumed to two, and two epochs in one go, at a constant learning rate: the
    one-cycle rate depends on the total epochs, so its one-epoch run follows another schedule."""
    recipe = ("train", workflow.model, "--data", workflow.data, *LIMITS, "--schedule", "constant")
    root = workflow.folder.parent
    workflow.cli(*recipe, "--epochs", "1", "--out", str(root / "constant-resumed"))
    workflow.cli("train", "--resume", str(root / "constant-resumed"), "--epochs", "2")
    workflow.cli(*recipe, "--epochs", "2", "--out", str(root / "constant-straight"))
    return root / "constant-resumed", root / "constant-straight"


def test_resumed_weights_equal_an_uninterrupted_run(resumed_and_straight: tuple[Path, Path]) -> None:
    from safetensors.numpy import load_file

    resumed, straight = (load_file(str(folder / "model" / "model.safetensors")) for folder in resumed_and_straight)
    assert sorted(resumed) == sorted(straight) and len(resumed) >= 6
    different = [name for name in resumed if not np.array_equal(resumed[name], straight[name])]
    assert different == [], f"weights differ after --resume: {different}"
