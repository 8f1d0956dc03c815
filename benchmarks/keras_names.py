"""Every public Keras name, and whether `convscope.keras` serves it: the table in docs/keras.md.

Two steps, so the docs need no Keras:

    benchmarks/.keras-env/bin/python benchmarks/keras_names.py --write-fixture   # real Keras's names
    python benchmarks/keras_names.py --write-docs                                # the docs section

The first writes tests/keras/fixtures/keras_names.json: for each Keras module, its public names
(modules left out, except the datasets, which are modules). The second reads that file, looks
each name up in the live `convscope.keras` namespace and rewrites the section of docs/keras.md
between the marker comments. tests/keras/test_keras_names.py fails when the page is stale.

A name is "supported" when `convscope.keras.<module>.<name>` exists, "differs" when it exists
and DIFFERS says how it differs, and "missing" when it is absent or a stub whose call only
raises NotImplementedError.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import json
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "keras" / "fixtures" / "keras_names.json"
DOCS = REPO / "docs" / "keras.md"
START, END = "<!-- names:start -->", "<!-- names:end -->"
WRITE_DOCS = "python benchmarks/keras_names.py --write-docs"

# Keras modules, by their path under `keras` ("" is `keras` itself).
MODULES = ("", "layers", "activations", "losses", "metrics", "optimizers", "optimizers.schedules", "callbacks",
           "initializers", "regularizers", "constraints", "models", "utils", "datasets", "backend",
           "preprocessing.image")
MODULES_ARE_NAMES = ("datasets",)  # keras.datasets.mnist is the name a program uses

PRECISION = ('`compile(precision="auto")` trains in bfloat16 where the CPU has it natively and the model gains from it (float32 weights) and '
             'evaluates and predicts in float32; `precision="float32"` trains as Keras does')
NAMING = "automatic layer names are numbered within each model, not across the session"
SAMPLE_WEIGHT = ("a plain (N,) `sample_weight` on a per-timestep or per-pixel loss covers every element of its "
                 "sample, where Keras needs (N, 1); `class_weight` is refused for per-element outputs")
SUMMARY = ("`summary()` gives `print_fn` (and a pipe) Keras's underscore-ruled text, a terminal a rich table "
           "(same rows, arguments and totals as Keras 3; no memory sizes)")
LOGS = ("fit's logs (callbacks, `history.history`, the progress line) keep `loss` first where Keras 3 sorts them "
        "by name; no `compiled_loss`/`compiled_metrics` (deprecated, TensorFlow backend only); `predict` defaults "
        "to `verbose=0`; no custom `train_step`/`test_step`")
MODEL_NOTE = f"{PRECISION}; {NAMING}; {SAMPLE_WEIGHT}; {SUMMARY}; {LOGS}"
CHANNELS_LAST = '`data_format="channels_first"` is refused: images are (height, width, channels)'
DECODING = "Pillow decodes the file; a colour file read as `\"grayscale\"` may differ by a grey level"
DOWNLOAD = "local copies first (`$CONVSCOPE_DATA_DIR`, the cache, system folders), then a checked download"

# How a name that exists differs from Keras, by (module, name). Hand-written: keep it true.
DIFFERS: dict[tuple[str, str], str] = {
    ("", "Model"): MODEL_NOTE,
    ("", "Sequential"): "as `keras.Model`",
    ("models", "Model"): "as `keras.Model`",
    ("models", "Sequential"): "as `keras.Model`",
    ("metrics", "AUC"): "`multi_label=True` and `label_weights` are refused (one curve over all labels)",
    ("callbacks", "TensorBoard"): "`write_images`, `profile_batch` and `embeddings_freq` are refused; no graph "
                                  "is written",
    ("utils", "image_dataset_from_directory"): f"{CHANNELS_LAST}; `interpolation` is exact for `\"bilinear\"` "
                                               "and `\"nearest\"`, through Pillow for `\"bicubic\"`, `\"area\"`, "
                                               "`\"lanczos3\"`, refused otherwise; an unseeded shuffle uses "
                                               "NumPy's generator",
    ("utils", "load_img"): DECODING,
    ("preprocessing.image", "load_img"): DECODING,
    **{(path, name): CHANNELS_LAST for path in ("utils", "preprocessing.image")
       for name in ("img_to_array", "array_to_img", "save_img")},
    ("backend", "clear_session"): "only frees memory: convscope keeps no global graph",
    ("datasets", "mnist"): DOWNLOAD,
    ("datasets", "fashion_mnist"): DOWNLOAD,
    ("datasets", "cifar10"): DOWNLOAD,
}


def keras_names() -> dict[str, Any]:
    """{"keras": version, "modules": {path: public names}} for each module in MODULES, read from
    the installed Keras."""
    import keras

    names: dict[str, list[str]] = {}
    for path in MODULES:
        module = importlib.import_module(f"keras.{path}" if path else "keras")
        public = [name for name in dir(module) if not name.startswith("_")]
        keep_modules = path in MODULES_ARE_NAMES
        names[path] = sorted(name for name in public
                             if keep_modules or not isinstance(getattr(module, name), ModuleType))
    return {"keras": keras.__version__, "modules": names}


def convscope_module(path: str) -> ModuleType | None:
    """`convscope.keras.<path>`, or None where convscope has no such module."""
    module: Any = importlib.import_module("convscope.keras")
    for part in filter(None, path.split(".")):
        module = getattr(module, part, None)
        if not isinstance(module, ModuleType):
            return None
    return module


def raises_only_not_implemented(function: Any) -> bool:
    """True for a function whose body (past its docstring) is one `raise NotImplementedError`."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return False
    definition = tree.body[0]
    if not isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    body = [statement for statement in definition.body
            if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))]
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    raised = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"


def is_stub(value: Any) -> bool:
    """A name that exists but cannot be used: a function, or a class whose own `__init__`, that
    only raises NotImplementedError. The abstract methods of a base class (`Layer.call`,
    `Initializer.__call__`) do not count: a subclass fills them in, as in Keras."""
    if inspect.isclass(value):
        return "__init__" in value.__dict__ and raises_only_not_implemented(value.__dict__["__init__"])
    return inspect.isfunction(value) and raises_only_not_implemented(value)


def status(path: str, name: str) -> tuple[str, str]:
    """("supported" | "differs" | "missing", note) for `keras.<path>.<name>` in convscope."""
    module = convscope_module(path)
    if module is None or not hasattr(module, name):
        return "missing", ""
    value = getattr(module, name)
    if is_stub(value):
        return "missing", "present, but raises NotImplementedError"
    if (path, name) in DIFFERS:
        return "differs", DIFFERS[path, name]
    return "supported", ""


def module_title(path: str) -> str:
    return f"keras.{path}" if path else "keras"


def render_section(fixture: dict[str, Any]) -> str:
    """The generated part of docs/keras.md: a count per module, then one table per module."""
    version, names = fixture["keras"], fixture["modules"]
    tables: list[str] = []
    counts: list[str] = []
    for path in MODULES:
        rows = [(name, *status(path, name)) for name in names[path]]
        served = sum(1 for _, state, _ in rows if state != "missing")
        differs = sum(1 for _, state, _ in rows if state == "differs")
        counts.append(f"{module_title(path)} {served}/{len(rows)}" + (f" ({differs} differ)" if differs else ""))
        lines = [f"### `{module_title(path)}`", "", "| name | status | note |", "|---|---|---|"]
        lines += [f"| `{name}` | {state} | {note} |" for name, state, note in rows]
        tables.append("\n".join(lines))
    summary = "Served of Keras's public names: " + ", ".join(counts) + "."
    origin = (f"Generated from Keras {version} by `{WRITE_DOCS}`; `tests/keras/test_keras_names.py` fails "
              "when this section is stale.")
    return "\n\n".join([START, summary, origin, *tables, END])


def replace_section(text: str, section: str) -> str:
    """`text` with the part from START to END replaced by `section`.

    Raises:
        ValueError: when the markers are missing or out of order.
    """
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{DOCS}: the markers {START} and {END} are missing or out of order; put them where "
                         "the generated tables belong.")
    return text[:start] + section + text[end + len(END):]


def expected_docs() -> str:
    """docs/keras.md as it should read with the section generated from the fixture."""
    names = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return replace_section(DOCS.read_text(encoding="utf-8"), render_section(names))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write-fixture", action="store_true", help=f"write {FIXTURE.name} (needs Keras)")
    action.add_argument("--write-docs", action="store_true", help="rewrite the generated section of docs/keras.md")
    args = parser.parse_args(argv)
    if args.write_fixture:
        FIXTURE.write_text(json.dumps(keras_names(), indent=0) + "\n", encoding="utf-8")
        print(f"wrote {FIXTURE.relative_to(REPO)}")
    else:
        DOCS.write_text(expected_docs(), encoding="utf-8")
        print(f"wrote {DOCS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
