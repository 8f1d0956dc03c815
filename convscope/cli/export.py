"""`convscope export RUN --format onnx|torchscript`: write an inference file for a trained model.

RUN is a folder written by `model.save(...)` or a run folder holding one in `model/`
(`convscope train` writes runs/<name>/model). The file goes next to the model unless --out says
where. For ONNX the command also runs the file with ONNX Runtime on a random batch and prints
the largest difference from convscope's own predictions.

    convscope export runs/mnist --format onnx
    convscope export runs/mnist/model --format torchscript --out mnist.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from convscope.cli import CommandError

SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}


def register(subparsers: Any) -> None:
    """Add the `export` command."""
    parser = subparsers.add_parser("export", help="export a trained model to ONNX or TorchScript",
                                   description="Export a saved model to ONNX or TorchScript (channels-last "
                                               "input with a dynamic batch axis).")
    parser.add_argument("run", metavar="RUN", help="run folder (with model/) or a saved model folder")
    parser.add_argument("--format", choices=tuple(SUFFIX), default=None,
                        help="onnx (default) or torchscript; guessed from --out's suffix when omitted")
    parser.add_argument("--out", help="output file (default: RUN/model.onnx or RUN/model.pt)")
    parser.add_argument("--opset", type=int, help="ONNX opset version (default: the exporter's)")
    parser.set_defaults(func=run)


def model_folder(run_path: Path) -> Path:
    """The saved-model folder inside `run_path` (the folder itself, or its model/)."""
    for candidate in (run_path, run_path / "model"):
        if (candidate / "config.json").is_file():
            return candidate
    raise CommandError(f"{run_path}: no saved model here (looked for config.json in {run_path} and "
                       f"{run_path / 'model'})", hint="pass a folder written by model.save(...) or convscope train")


def output_path(args: argparse.Namespace, run_path: Path) -> tuple[Path, str]:
    """Where to write and in which format."""
    from convscope.export import resolve_format

    if args.out:
        return Path(args.out), resolve_format(args.out, args.format)
    chosen = args.format or "onnx"
    base = run_path if run_path.is_dir() else run_path.parent
    return base / f"model{SUFFIX[chosen]}", chosen


def run(args: argparse.Namespace) -> int:
    """Load, export, and (for ONNX) check the file against convscope's predictions."""
    import numpy as np

    from convscope.models.saving import load_model

    run_path = Path(args.run)
    model = load_model(model_folder(run_path), compile=False, device="cpu")
    path, chosen = output_path(args, run_path)
    from convscope.export import export_model

    export_model(model, path, chosen, opset=args.opset)
    print(f"wrote {path} ({chosen}, {path.stat().st_size / 1024:.1f} KiB)")
    input_shape, output_shape = model.require_built("export"), model.require_output_shape("export")
    print(f"input:  (batch, {', '.join(map(str, input_shape[1:]))}) float32, channels-last")
    print(f"output: (batch, {', '.join(map(str, output_shape[1:]))})")
    if chosen == "onnx":
        from convscope.export.onnx import onnx_predict

        sizes = [size for size in input_shape[1:] if size is not None]  # the export fixed them all
        sample = np.random.default_rng(0).random((8, *sizes), dtype=np.float32)
        difference = float(np.abs(onnx_predict(path, sample) - model.predict(sample)).max())
        print(f"ONNX Runtime vs convscope on 8 random inputs: max abs difference {difference:.2e}")
    return 0
