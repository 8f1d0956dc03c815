"""`convscope export RUN --format onnx|torchscript`: write an inference file for a trained model.

RUN is a run folder from `convscope train` (its final model, or its best checkpoint when
training did not finish), a folder written by `model.save(...)`, or a built-in model name
(untrained), resolved by `convscope.runs.resolve_model`. The file goes into the folder given
unless --out says where. For ONNX the command also runs the file with ONNX Runtime on a random
batch and prints the largest difference from convscope's own predictions.

    convscope export runs/mnist --format onnx
    convscope export runs/mnist/model --format torchscript --out mnist.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}


def register(subparsers: Any) -> None:
    """Add the `export` command."""
    parser = subparsers.add_parser("export", help="export a trained model to ONNX or TorchScript",
                                   description="Export a saved model to ONNX or TorchScript (channels-last "
                                               "input with a dynamic batch axis).")
    parser.add_argument("run", metavar="RUN", help="run folder from `convscope train`, a saved model folder "
                        "or a built-in model name")
    parser.add_argument("--format", choices=tuple(SUFFIX), default=None,
                        help="onnx (default) or torchscript; guessed from --out's suffix when omitted")
    parser.add_argument("--out", help="output file (default: RUN/model.onnx or RUN/model.pt; NAME.onnx for "
                        "a built-in model)")
    parser.add_argument("--opset", type=int, help="ONNX opset version (default: the exporter's)")
    parser.set_defaults(func=run)


def output_path(args: argparse.Namespace) -> tuple[Path, str]:
    """Where to write and in which format: --out, else model.onnx (or .pt) in the folder given,
    or <name>.onnx here for a built-in model."""
    from convscope.export import resolve_format

    if args.out:
        return Path(args.out), resolve_format(args.out, args.format)
    chosen = args.format or "onnx"
    given = Path(args.run).expanduser()
    path = given / f"model{SUFFIX[chosen]}" if given.is_dir() else Path(f"{args.run}{SUFFIX[chosen]}")
    return path, chosen


def run(args: argparse.Namespace) -> int:
    """Load, export, and (for ONNX) check the file against convscope's predictions."""
    from convscope.cli import open_model
    from convscope.export import export_model

    model = open_model(args.run).load_model(device="cpu")
    path, chosen = output_path(args)
    export_model(model, path, chosen, opset=args.opset)
    print(f"wrote {path} ({chosen}, {path.stat().st_size / 1024:.1f} KiB)")
    input_shape, output_shape = model.require_built("export"), model.require_output_shape("export")
    from convscope.inference.tokens import example_token_ids, token_vocabulary

    vocabulary = token_vocabulary(model)
    kind = "channels-last" if vocabulary is None else f"token ids in 0..{vocabulary - 1} (0 pads)"
    print(f"input:  (batch, {', '.join(map(str, input_shape[1:]))}) float32, {kind}")
    print(f"output: (batch, {', '.join(map(str, output_shape[1:]))})")
    if chosen == "onnx":
        import numpy as np

        from convscope.export.onnx import onnx_predict

        sizes = tuple(size for size in input_shape[1:] if size is not None)  # the export fixed them all
        if vocabulary is None:
            sample, what = np.random.default_rng(0).random((8, *sizes), dtype=np.float32), "random inputs"
        else:  # random floats would all truncate to id 0, the padding: nothing would be compared
            sample, what = example_token_ids(vocabulary, sizes, 8), "random token sequences, padded"
        difference = float(np.abs(onnx_predict(path, sample) - model.predict(sample, verbose=0)).max())
        print(f"ONNX Runtime vs convscope on 8 {what}: max abs difference {difference:.2e}")
    return 0
