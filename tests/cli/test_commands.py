"""Fast CLI checks: help speed, summary golden files, predict --json golden, readable errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import mask, run_cli
from PIL import Image, ImageDraw

from convscope import runs, utils, zoo

SPEC_YAML = """name: tiny
input_shape: [28, 28, 1]
layers:
  - Conv2D: {filters: 4, kernel_size: 3, activation: relu}
  - type: MaxPooling2D
    pool_size: 2
  - {class_name: Flatten, config: {}}
  - Dense: {units: 10, activation: softmax}
"""


def test_help_imports_nothing_heavy() -> None:
    """`convscope --help` stays fast by importing no torch, matplotlib, FastAPI or Pillow (their
    import times, not a wall-clock bound that a busy machine would break, are what it saves)."""
    code = ("import sys; from convscope.cli import build_parser; build_parser().format_help(); "
            "print(sorted(m for m in ('torch', 'matplotlib', 'fastapi', 'PIL', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    shown = subprocess.run([sys.executable, "-m", "convscope", "--help"], capture_output=True, text=True, check=True)
    assert "train" in shown.stdout and "explain" in shown.stdout


@pytest.mark.parametrize("options", [(), ("--details", "--macs")])
def test_summary_seed_cnn_golden(options: tuple[str, ...], golden: Callable[[str, str], None]) -> None:
    code, out, err = run_cli("summary", "seed-cnn", *options)
    assert code == 0 and err == "model: built-in model seed-cnn (untrained: random weights)\n"
    golden(f"summary-seed-cnn{''.join(options).replace('--', '-')}.txt", out)


def test_summary_list_and_every_zoo_model_builds() -> None:
    code, out, _ = run_cli("summary", "--list")
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == zoo.names()
    assert set(zoo.names()) >= {"seed-cnn", "lenet5", "mnist-convnet", "mnist1d-cnn", "spectrum-cnn"}
    kinds = [type(layer).__name__ for layer in zoo.build("seed-cnn").layers]
    assert kinds == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]
    assert zoo.build("spectrum-cnn", (300, 1), 3).output_shape == (None, 3)
    assert zoo.build("mnist1d-cnn").count_params() > 0 and zoo.build("lenet5").output_shape == (None, 10)


def test_summary_of_yaml_json_and_python_specs(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(SPEC_YAML)
    code, out, _ = run_cli("summary", str(tmp_path / "tiny.yaml"))
    assert code == 0 and 'Model: "tiny"' in out and "Total params: 6,810" in out
    model = zoo.build("lenet5")
    (tmp_path / "lenet.json").write_text(json.dumps(model.get_config()))
    assert "Total params: 61,706" in run_cli("summary", str(tmp_path / "lenet.json"))[1]
    (tmp_path / "net.py").write_text("from convscope import zoo\n\ndef build_model(num_classes=10):\n"
                                     "    return zoo.build('mnist-convnet', num_classes=num_classes)\n")
    assert "(None, 3)" in run_cli("summary", str(tmp_path / "net.py"), "--classes", "3")[1]


@pytest.fixture(scope="module")
def fixed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    utils.set_seed(0, deterministic=False)
    return runs.save_model_run(zoo.build("seed-cnn"), tmp_path_factory.mktemp("cli") / "run",
                               preprocessing=runs.Preprocessing((28, 28, 1), 1 / 255, "dark", "center", 20),
                               class_names=[str(i) for i in range(10)])


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 'photo' of a dark 7 on light paper, bigger than 28x28 and in colour."""
    image = Image.new("RGB", (240, 320), (235, 230, 220))
    ImageDraw.Draw(image).line([(60, 80), (180, 80), (100, 260)], fill=(20, 20, 40), width=18)
    path = tmp_path_factory.mktemp("images") / "seven.png"  # PNG decodes identically everywhere
    image.save(path)
    return path


def test_predict_json_golden(fixed_run: Path, photo: Path, golden: Callable[[str, str], None]) -> None:
    code, out, err = run_cli("predict", str(fixed_run), str(photo), "--json", "--top", "3")
    assert code == 0 and err == f"model: run folder {fixed_run} (final model)\n"
    result = json.loads(out)[0]
    assert [t["probability"] for t in result["top"]] == sorted((t["probability"] for t in result["top"]), reverse=True)
    rounded = json.loads(out, parse_float=lambda text: round(float(text), 4))
    golden("predict-seven.json", mask(json.dumps(rounded, indent=2) + "\n", IMAGE=photo))


def test_predict_text_names_the_conversion(fixed_run: Path, photo: Path) -> None:
    code, out, _ = run_cli("predict", str(fixed_run), str(photo))
    assert code == 0 and out.startswith(f"{photo}: ") and "note: read PNG 240x320 RGB; converted RGB to grayscale; " \
        "inverted" in out


@pytest.mark.parametrize(("argv", "first", "hint"), [
    (("predict", "{run}", "{text}"), "not an image Pillow can read", "pass a PNG or JPEG"),
    (("predict", "{run}", "{missing}"), "no such file or folder", None),
    (("predict", "{missing}", "{text}"), "no saved model here", None),
    (("train", "no-such-net", "--data", "digits"), "unknown model 'no-such-net'", None),
    (("train", "--data", "digits"), "train needs MODEL and --data", "convscope summary --list"),
    (("summary", "{text}"), "a file, not a model", None),
    (("evaluate", "{missing}"), "no saved model here", None),
    (("train", "seed-cnn", "--data", "digits", "--epochs", "0"), "--epochs must be at least 1", None),
])
def test_errors_are_one_line_with_a_hint(argv: tuple[str, ...], first: str, hint: str | None, fixed_run: Path,
                                         tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    values = {"run": fixed_run, "text": text, "missing": tmp_path / "missing"}
    code, out, err = run_cli(*(part.format(**values) for part in argv))
    lines = [line for line in err.splitlines() if not line.startswith("model: ")]
    assert code == 1 and "Traceback" not in err and first in lines[0]
    assert lines[-1] == "(run with --debug for the full traceback)" and len(lines) <= 3
    if hint:
        assert lines[1].startswith("hint: ") and hint in lines[1]


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        run_cli("--debug", "evaluate", str(tmp_path / "missing"))
