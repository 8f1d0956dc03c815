"""Run every Keras program in examples/keras_programs/ under real Keras and under convscope.

Each program is an ordinary Keras script with exactly one line importing Keras or TensorFlow.
Under Keras it runs as written (benchmarks/.keras-env/bin/python); under convscope the same
file runs with that one line rewritten (`import keras` -> `import convscope.keras as keras`,
`import tensorflow as tf` -> `import convscope as tf`, ...). Each run gets a fresh working folder
and one thread. Keras's `datasets.*.load_data` would download; in the Keras runs they return the
arrays convscope loads locally (written once to an .npz that a small start-up shim reads).

The table compares: did each run exit 0, are the parameter counts (every `model.summary()`)
equal, and the final metrics each program prints ("Test accuracy: 0.97").

    python benchmarks/keras_programs.py                      # all programs, both frameworks
    python benchmarks/keras_programs.py --only mnist_convnet
    python benchmarks/keras_programs.py --write-fixture tests/keras/fixtures/keras_programs.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROGRAMS = REPO / "examples" / "keras_programs"
KERAS_PYTHON = REPO / "benchmarks" / ".keras-env" / "bin" / "python"
SHARED_DATA = Path(os.environ.get("CONVSCOPE_TEST_SHARED_DATA", REPO.parent / "shared" / "data"))

# (pattern of the original import line, its convscope spelling); "\1" keeps what follows.
REWRITES = (
    (re.compile(r"^import keras$"), "import convscope.keras as keras"),
    (re.compile(r"^import keras as (\w+)$"), r"import convscope.keras as \1"),
    (re.compile(r"^from keras((?:\.\w+)*) import (.+)$"), r"from convscope.keras\1 import \2"),
    (re.compile(r"^import tensorflow as (\w+)$"), r"import convscope as \1"),
    (re.compile(r"^from tensorflow import keras$"), "from convscope import keras"),
    (re.compile(r"^from tensorflow\.keras((?:\.\w+)*) import (.+)$"), r"from convscope.keras\1 import \2"),
)
FRAMEWORK_IMPORT = re.compile(r"^\s*(import|from)\s+(keras|tensorflow)\b")
METRIC_LINE = re.compile(r"^([A-Z][A-Za-z0-9 _\-]*): (-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)$")
SUMMARY_ROW = re.compile(r"^[\s│|]*(\w+) \((\w+)\)[\s│|]+(\([^)]*\))[\s│|]+([\d,]+)")
COUNT_LINE = re.compile(r"^\s*(Trainable|Non-trainable) params: ([\d,]+)")

# Keras's datasets module names and the convscope loaders that provide their arrays.
DATASETS = ("mnist", "fashion_mnist")
SHIM = '''
import runpy, sys
import numpy as np
arrays = np.load(sys.argv[1])

def loader(name):
    def load_data(*args, **kwargs):
        return ((arrays[name + "_x_train"], arrays[name + "_y_train"]),
                (arrays[name + "_x_test"], arrays[name + "_y_test"]))
    return load_data

import importlib
for name in {datasets!r}:
    for module in ("keras.src.datasets.", "keras.datasets.", "keras._tf_keras.keras.datasets."):
        importlib.import_module(module + name).load_data = loader(name)
program = sys.argv[2]
sys.argv = [program]
runpy.run_path(program, run_name="__main__")
'''


def rewrite(source: str) -> tuple[str, str, str]:
    """(the convscope source, the original import line, its rewrite).

    Raises:
        ValueError: the program has no import of Keras or TensorFlow, more than one, or one
            that has no convscope spelling.
    """
    lines = source.splitlines(keepends=True)
    found = [i for i, line in enumerate(lines) if FRAMEWORK_IMPORT.match(line)]
    if len(found) != 1:
        raise ValueError(f"a Keras program must have exactly one line importing keras or tensorflow; found "
                         f"{len(found)}: {[lines[i].strip() for i in found]}")
    original = lines[found[0]].rstrip("\n")
    for pattern, replacement in REWRITES:
        if pattern.match(original):
            changed = pattern.sub(replacement, original)
            lines[found[0]] = changed + "\n"
            return "".join(lines), original, changed
    raise ValueError(f"no convscope spelling for {original!r}")


@dataclass
class Run:
    """What one program printed, parsed."""

    returncode: int
    seconds: float
    output: str
    params: list[int] = field(default_factory=list)  # one total per model.summary()
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (type, output shape, params)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def error(self) -> str:
        """The last line of a traceback (or of the output)."""
        lines = [line for line in self.output.strip().splitlines() if line.strip()]
        errors = [line for line in lines if re.match(r"^\w+(\.\w+)*(Error|Exception)\b", line)]
        return (errors or lines or ["(no output)"])[-1][:300]


def parse(output: str) -> tuple[list[int], list[tuple[str, str, str]], dict[str, float]]:
    """(parameter totals, summary rows, metrics) from a program's output."""
    params: list[int] = []
    rows: list[tuple[str, str, str]] = []
    metrics: dict[str, float] = {}
    pending: dict[str, int] = {}
    for line in output.splitlines():
        row = SUMMARY_ROW.match(line)
        if row:
            rows.append((row.group(2), row.group(3).replace(" ", ""), row.group(4).replace(",", "")))
        count = COUNT_LINE.match(line)
        if count:
            pending[count.group(1)] = int(count.group(2).replace(",", ""))
            if len(pending) == 2:  # trainable + non-trainable; Keras's total adds optimizer state after fit
                params.append(sum(pending.values()))
                pending = {}
        metric = METRIC_LINE.match(line.strip())
        if metric and not metric.group(1).endswith("params"):  # the summary's counts are not metrics
            metrics[metric.group(1)] = float(metric.group(2))
    return params, rows, metrics


def environment(data_dir: Path | None = None) -> dict[str, str]:
    """One thread, no GPU, quiet TensorFlow, local data."""
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
                "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow",
                "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"})
    if data_dir is not None:
        env["CONVSCOPE_DATA_DIR"] = str(data_dir)
    return env


def run_convscope(program: Path, workdir: Path, timeout: float, python: str = sys.executable) -> Run:
    """The program with its import line rewritten, in a fresh interpreter in `workdir`."""
    source, _, _ = rewrite(program.read_text())
    script = workdir / program.name
    script.write_text(source)
    return _run([python, str(script)], workdir, environment(SHARED_DATA), timeout)


def run_keras(program: Path, workdir: Path, arrays: Path, timeout: float) -> Run:
    """The program as written, under real Keras, with the local datasets in place of downloads."""
    shim = workdir / "_keras_datasets_shim.py"
    shim.write_text(SHIM.format(datasets=DATASETS))
    script = workdir / program.name
    script.write_text(program.read_text())
    return _run([str(KERAS_PYTHON), str(shim), str(arrays), str(script)], workdir, environment(), timeout)


def _run(command: list[str], workdir: Path, env: dict[str, str], timeout: float) -> Run:
    started = time.perf_counter()
    try:
        proc = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)
        stdout, stderr, code = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as error:
        stdout = error.stdout.decode() if isinstance(error.stdout, bytes) else error.stdout or ""
        stderr, code = f"TimeoutError: no exit after {timeout:.0f} s", -1
    run = Run(code, time.perf_counter() - started, f"{stdout}\n{stderr}")
    run.params, run.rows, run.metrics = parse(stdout)
    return run


def write_dataset_arrays(path: Path) -> None:
    """MNIST and Fashion-MNIST as convscope loads them, for the Keras runs."""
    os.environ.setdefault("CONVSCOPE_DATA_DIR", str(SHARED_DATA))
    from convscope.keras import datasets

    arrays = {}
    for name in DATASETS:
        (x_train, y_train), (x_test, y_test) = getattr(datasets, name).load_data()
        arrays.update({f"{name}_x_train": x_train, f"{name}_y_train": y_train,
                       f"{name}_x_test": x_test, f"{name}_y_test": y_test})
    import numpy as np

    np.savez(path, **arrays)


def programs(only: list[str] | None = None) -> list[Path]:
    found = sorted(PROGRAMS.glob("*.py"))
    if only:
        found = [path for path in found if path.stem in only]
    return found


def metrics_text(keras: Run | None, convscope: Run | None) -> str:
    names = list(dict.fromkeys([*(keras.metrics if keras else {}), *(convscope.metrics if convscope else {})]))
    parts = []
    for name in names:
        ours = convscope.metrics.get(name) if convscope else None
        theirs = keras.metrics.get(name) if keras else None
        parts.append(f"{name} {_number(theirs)} / {_number(ours)}")
    return "; ".join(parts)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def table(results: dict[str, tuple[Run | None, Run | None]]) -> str:
    """A Markdown table: program, keras ok, convscope ok, params equal, metrics (Keras / convscope)."""
    lines = ["| program | keras ok | convscope ok | params equal | metrics (Keras / convscope) |",
             "|---|---|---|---|---|"]
    for name, (keras, convscope) in results.items():
        equal = "-" if keras is None or convscope is None or not keras.params else \
            ("yes" if keras.params == convscope.params else f"no ({keras.params} vs {convscope.params})")
        lines.append(f"| {name} | {_status(keras)} | {_status(convscope)} | {equal} | "
                     f"{metrics_text(keras, convscope)} |")
    return "\n".join(lines)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _status(run: Run | None) -> str:
    return "-" if run is None else _yes(run.ok)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="program names (file stems) to run")
    parser.add_argument("--no-keras", action="store_true", help="run under convscope alone")
    parser.add_argument("--keras-only", action="store_true", help="run under Keras alone (e.g. for --write-fixture)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per program run")
    parser.add_argument("--write-fixture", type=Path, help="write Keras's parameter counts to this JSON file")
    args = parser.parse_args(argv)
    use_keras = not args.no_keras
    if use_keras and not KERAS_PYTHON.exists():
        print(f"no Keras environment at {KERAS_PYTHON}; run benchmarks/setup_keras.sh (or pass --no-keras)")
        return 2
    results: dict[str, tuple[Run | None, Run | None]] = {}
    with tempfile.TemporaryDirectory(prefix="keras-programs-") as scratch:
        arrays = Path(scratch) / "datasets.npz"
        if use_keras:
            write_dataset_arrays(arrays)
        for program in programs(args.only):
            keras_run = None
            if use_keras:
                keras_run = run_keras(program, _fresh(scratch, program, "keras"), arrays, args.timeout)
            convscope_run = None
            if not args.keras_only:
                convscope_run = run_convscope(program, _fresh(scratch, program, "convscope"), args.timeout)
            results[program.stem] = (keras_run, convscope_run)
            status = ", ".join(f"{label} {_yes(run.ok)} ({run.seconds:.1f} s)"
                               for label, run in (("keras", keras_run), ("convscope", convscope_run)) if run)
            print(f"{program.stem}: {status}", flush=True)
            for label, run in (("keras", keras_run), ("convscope", convscope_run)):
                if run is not None and not run.ok:
                    print(f"    {label} error: {run.error()}")
    print()
    print(table(results))
    if args.write_fixture:
        counts = {name: keras.params for name, (keras, _) in results.items() if keras is not None and keras.ok}
        args.write_fixture.write_text(json.dumps(counts, indent=2, sort_keys=True) + "\n")
        print(f"\nwrote Keras's parameter counts of {len(counts)} programs to {args.write_fixture}")
    return 0


def _fresh(scratch: str, program: Path, label: str) -> Path:
    folder = Path(scratch) / f"{program.stem}-{label}"
    folder.mkdir()
    return folder


if __name__ == "__main__":
    sys.exit(main())
