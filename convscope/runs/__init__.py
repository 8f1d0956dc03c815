"""Run folders: what `convscope train` writes, and how every command reads a model.

    folder.py    the folder's layout, `Run` and `resolve_model` (reading), `prepare_folder`,
                 history.csv, `save_model_run` (a run folder for a model trained elsewhere)
    recorder.py  `RunRecorder`: keeps history.csv and checkpoints/last, best up to date in `fit`
    report.py    `write_report`: report.html

    >>> from convscope.runs import resolve_model
    >>> run = resolve_model("runs/fashion")
    >>> run.description, run.preprocessing.shape
    ('run folder runs/fashion (final model)', (28, 28, 1))

`InputSpec`, `infer_input_spec` and `input_scale` are the names this module gave
`convscope.inference.Preprocessing`, `infer_preprocessing` and `input_scale` before they moved
there; the `write_*_atomic` helpers are `convscope._atomic`'s.
"""

from __future__ import annotations

from convscope._atomic import write_bytes_atomic, write_json_atomic, write_text_atomic
from convscope.inference.preprocessing import Preprocessing, infer_preprocessing, input_scale
from convscope.runs.folder import (
    BEST_CHECKPOINT,
    BUILTIN_FORMAT,
    CHECKPOINTS_DIR,
    CONFIG_FILE,
    HISTORY_FILE,
    INPUT_KEY,
    KERAS_FORMAT,
    LAST_CHECKPOINT,
    METRICS_FILE,
    MODEL_DIR,
    MODEL_FORMAT,
    PLOTS_DIR,
    REPORT_FILE,
    RUN_FORMAT,
    RUN_FORMAT_VERSION,
    STEP_CHECKPOINTS,
    SUMMARY_FILE,
    Run,
    prepare_folder,
    read_history,
    resolve_model,
    save_model_run,
    write_history,
)
from convscope.runs.recorder import RunRecorder
from convscope.runs.report import write_report

InputSpec = Preprocessing
infer_input_spec = infer_preprocessing

__all__ = [
    "BEST_CHECKPOINT", "BUILTIN_FORMAT", "CHECKPOINTS_DIR", "CONFIG_FILE", "HISTORY_FILE", "INPUT_KEY",
    "KERAS_FORMAT", "LAST_CHECKPOINT", "METRICS_FILE", "MODEL_DIR", "MODEL_FORMAT", "PLOTS_DIR",
    "REPORT_FILE", "RUN_FORMAT", "RUN_FORMAT_VERSION", "STEP_CHECKPOINTS", "SUMMARY_FILE",
    "InputSpec", "Preprocessing", "Run", "RunRecorder", "infer_input_spec", "infer_preprocessing",
    "input_scale", "prepare_folder", "read_history", "resolve_model", "save_model_run",
    "write_bytes_atomic", "write_history", "write_json_atomic", "write_report", "write_text_atomic",
]
