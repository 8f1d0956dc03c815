"""The Keras programs of examples/keras_programs/ run under convscope with one changed import.

Each program runs in a fresh interpreter and working folder, its one Keras/TensorFlow import
rewritten by benchmarks/keras_programs.py; it must exit 0 and print, in its `model.summary()`
tables, the parameter counts real Keras printed (fixtures/keras_programs.json, written by
`python benchmarks/keras_programs.py --keras-only --write-fixture tests/keras/fixtures/keras_programs.json`).
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "keras_programs.json"


def load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("keras_programs", REPO / "benchmarks" / "keras_programs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


runner = load_runner()
PROGRAMS = {path.stem: path for path in runner.programs()}
KERAS_PARAMS: dict[str, list[int]] = json.loads(FIXTURE.read_text())


def has_functional_models() -> bool:
    import convscope.keras as keras

    return hasattr(keras, "Model")


# Programs that fail for reasons outside the data pipeline; each turns the test red (strict)
# once it passes, so the mark is removed with the fix.
EXPECTED_TO_FAIL: dict[str, str] = {}


def marks(name: str) -> list[pytest.MarkDecorator]:
    if name == "functional_feature_maps":  # expected to pass from the moment keras.Model exists
        return [pytest.mark.xfail(condition=not has_functional_models(), strict=True,
                                  reason="functional models (keras.Model(inputs, outputs), layer.output) are not "
                                         "in convscope.keras yet")]
    if name in EXPECTED_TO_FAIL:
        return [pytest.mark.xfail(reason=EXPECTED_TO_FAIL[name], strict=True)]
    return []


def needs(source: str) -> list[str]:
    """The test-data fixtures a program's datasets need."""
    wanted = []
    if "mnist.load_data" in source.replace("fashion_mnist.load_data", ""):
        wanted.append("shared_data_dir")
    if "fashion_mnist" in source:
        wanted.append("fashion_dir")
    return wanted


@pytest.mark.slow
@pytest.mark.parametrize("name", [pytest.param(name, marks=marks(name)) for name in PROGRAMS])
def test_program_runs_under_convscope(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    program = PROGRAMS[name]
    for fixture in needs(program.read_text()):
        request.getfixturevalue(fixture)
    run = runner.run_convscope(program, tmp_path, timeout=600)
    assert run.ok, run.output[-4000:]
    assert run.params == KERAS_PARAMS[name], f"parameter counts {run.params}; Keras printed {KERAS_PARAMS[name]}"


def test_every_program_differs_from_its_convscope_run_by_one_import_line() -> None:
    assert len(PROGRAMS) >= 30
    for name, program in PROGRAMS.items():
        source = program.read_text()
        rewritten, original, changed = runner.rewrite(source)
        changes = [line for line in difflib.ndiff(source.splitlines(), rewritten.splitlines())
                   if line.startswith(("- ", "+ "))]
        assert changes == [f"- {original}", f"+ {changed}"], name
        assert "convscope" in changed and "convscope" not in source, name


@pytest.mark.parametrize(("original", "changed"), [
    ("import keras", "import convscope.keras as keras"),
    ("import keras as K", "import convscope.keras as K"),
    ("from keras import layers, models", "from convscope.keras import layers, models"),
    ("from keras.preprocessing.image import ImageDataGenerator",
     "from convscope.keras.preprocessing.image import ImageDataGenerator"),
    ("import tensorflow as tf", "import convscope as tf"),
    ("from tensorflow import keras", "from convscope import keras"),
    ("from tensorflow.keras import datasets, layers, models", "from convscope.keras import datasets, layers, models"),
    ("from tensorflow.keras.layers import Conv2D", "from convscope.keras.layers import Conv2D"),
])
def test_rewrite_spellings(original: str, changed: str) -> None:
    assert runner.rewrite(f"import numpy as np\n{original}\nx = 1\n") == (
        f"import numpy as np\n{changed}\nx = 1\n", original, changed)


def test_rewrite_refuses_programs_with_two_framework_imports() -> None:
    with pytest.raises(ValueError, match="exactly one line"):
        runner.rewrite("import keras\nfrom keras import layers\n")
    with pytest.raises(ValueError, match="exactly one line"):
        runner.rewrite("import numpy as np\n")
    with pytest.raises(ValueError, match="no convscope spelling"):
        runner.rewrite("import tensorflow\n")


KERAS_OUTPUT = """Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ c1 (Conv2D)                     │ (None, 26, 26, 32)     │           320 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ (None, 10)             │        54,090 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 163,232 (637.63 KB)
 Trainable params: 54,410 (212.54 KB)
 Non-trainable params: 0 (0.00 B)
 Optimizer params: 108,822 (425.09 KB)
Test loss: 0.25
Test accuracy: 0.9375
"""
CONVSCOPE_OUTPUT = """Model: "sequential"
 Layer (type)                  Output Shape              Param #
====================================================================
 c1 (Conv2D)                   (None, 26, 26, 32)        320
 dense (Dense)                 (None, 10)                54,090
====================================================================
Total params: 54,410
Trainable params: 54,410
Non-trainable params: 0
Test loss: 2.5e-01
Test accuracy: 0.9375
"""


@pytest.mark.parametrize("output", [KERAS_OUTPUT, CONVSCOPE_OUTPUT], ids=["keras", "convscope"])
def test_parse_reads_both_summary_styles(output: str) -> None:
    params, rows, metrics = runner.parse(output)
    assert params == [54410]  # trainable + non-trainable: Keras's total adds the optimizer's state
    assert rows == [("Conv2D", "(None,26,26,32)", "320"), ("Dense", "(None,10)", "54090")]
    assert metrics == {"Test loss": 0.25, "Test accuracy": 0.9375}


def test_the_fixture_has_keras_counts_for_every_program() -> None:
    assert sorted(KERAS_PARAMS) == sorted(PROGRAMS)
    assert all(counts and all(count > 0 for count in counts) for counts in KERAS_PARAMS.values())
