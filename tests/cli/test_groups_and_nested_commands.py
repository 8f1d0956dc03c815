"""`convscope explain` on a saved model with a grouped convolution inside a model used as a layer
(Keras's probability model, Sequential([base, Softmax()])): its conv, pool, filters, maps and
shapes actions reach the nested layers by "base/layer" or by their own names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import run_cli, run_fresh
from nested_models import nested_seed_cnn

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GROUP_WORDS = "filter 37 reads input channels 32-47 (group 3 of 4)"


@pytest.fixture(scope="module")
def saved_nested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("nested") / "probability_model"
    nested_seed_cnn().save(folder)
    return folder


def test_explain_conv_of_a_grouped_conv_in_a_nested_model(saved_nested: Path, digit: Path, tmp_path: Path) -> None:
    result = run_fresh("explain", "conv", "--model", str(saved_nested), "--image", str(digit), "--layer",
                       "base/conv2d_1", "--filter", "37", "--position", "5,5", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Conv2D 'base/conv2d_1', filter 37, output position (5, 5)"
    assert lines[1] == f"{GROUP_WORDS}: a grouped convolution's filter sees only its group's channels"
    assert lines[2] == "16 input channels; partial sums (window x weights, added), largest first:"
    assert "(agrees;" in result.stdout
    steps = json.loads((tmp_path / "conv_steps.json").read_text())
    assert steps["groups"] == 4 and steps["input_channels"] == list(range(32, 48)) and steps["channel_count"] == 16
    assert len(steps["channels"]) == 16 and {part["channel"] for part in steps["channels"]} == set(range(32, 48))
    assert (tmp_path / "conv_steps.png").read_bytes()[:8] == PNG_SIGNATURE


def test_a_nested_layer_answers_to_its_own_name(saved_nested: Path, digit: Path) -> None:
    code, by_path, err = run_cli("explain", "conv", "--model", str(saved_nested), "--image", str(digit), "--layer",
                                 "base/conv2d_1", "--filter", "37")
    assert code == 0, err
    code, by_name, err = run_cli("explain", "conv", "--model", str(saved_nested), "--image", str(digit), "--layer",
                                 "conv2d_1", "--filter", "37")
    assert code == 0, err
    assert by_name == by_path and GROUP_WORDS in by_name
    code, out, err = run_cli("explain", "pool", "--model", str(saved_nested), "--image", str(digit), "--layer",
                             "max_pooling2d_1", "--channel", "40")
    assert code == 0, err
    assert out.startswith("MaxPooling2D 'base/max_pooling2d_1', channel 40, output position (2, 2)")


def test_naming_the_nested_model_lists_its_convs(saved_nested: Path, digit: Path) -> None:
    code, out, err = run_cli("explain", "conv", "--model", str(saved_nested), "--image", str(digit), "--layer", "base")
    assert code == 1
    assert "'base' is a Sequential model used as a layer; name one of its layers: base/conv2d, base/conv2d_1" in err


def test_explain_shapes_of_the_nested_model_is_golden(saved_nested: Path, golden) -> None:
    code, out, err = run_cli("explain", "shapes", "--model", str(saved_nested))
    assert code == 0, err
    golden("explain-shapes-nested-seed-cnn.txt", out)


def test_explain_filters_of_a_grouped_conv(saved_nested: Path, tmp_path: Path) -> None:
    code, out, err = run_cli("explain", "filters", "--model", str(saved_nested), "--layer", "base/conv2d_1",
                             "--out", str(tmp_path))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Conv2D 'base/conv2d_1': kernel (3, 3, 16, 64) (Keras layout)")
    assert lines[1] == "4 groups: each filter reads 16 of the layer's 64 input channels, those of its group"
    assert "filter 0 (input channel 0):" in lines and "filter 3 (input channel 0):" in lines
    assert [path.name for path in tmp_path.iterdir()] == ["filters_base_conv2d_1.png"]  # one file, no folder
    assert (tmp_path / "filters_base_conv2d_1.png").read_bytes()[:8] == PNG_SIGNATURE


def test_explain_maps_lists_every_nested_layer(saved_nested: Path, digit: Path, tmp_path: Path) -> None:
    code, out, err = run_cli("explain", "maps", "--model", str(saved_nested), "--image", str(digit),
                             "--layers", "base/conv2d_1,softmax", "--out", str(tmp_path))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(" 2 Conv2D 'base/conv2d_1': (11, 11, 64), min ")
    assert lines[1].startswith(" 6 Softmax 'softmax': (10,), min ")
    assert sorted(path.name for path in tmp_path.glob("*.png")) == ["02_base_conv2d_1.png", "06_softmax.png"]
