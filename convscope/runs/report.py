"""report.html: one self-contained page of a run (configuration, layer table, test metrics,
history and plots), readable offline and in any browser.

    >>> write_report(Path("runs/fashion"))
    PosixPath('runs/fashion/report.html')
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from convscope._atomic import write_text_atomic
from convscope.runs.folder import (
    CONFIG_FILE,
    METRICS_FILE,
    PLOTS_DIR,
    REPORT_FILE,
    SUMMARY_FILE,
    read_history,
)


def _image_tag(file: Path, alt: str) -> str:
    if not file.is_file():
        return ""
    encoded = base64.b64encode(file.read_bytes()).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}"><figcaption>' \
           f"{html.escape(alt)}</figcaption></figure>"


def _table(rows: list[list[str]], head: list[str]) -> str:
    header = "".join(f"<th>{html.escape(cell)}</th>" for cell in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


REPORT_STYLE = """body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:right}
th{background:#f4f4f4}pre{background:#f7f7f7;padding:.8rem;overflow:auto;font-size:.85rem}
figure{display:inline-block;margin:.5rem}img{max-width:100%}figcaption{font-size:.8rem;color:#666}
.big{font-size:1.3rem;font-weight:600}"""


def _test_heading(metrics: Mapping[str, Any]) -> str:
    """The test result in words, e.g. "Test set: loss 0.12, accuracy 97.1% (10,000 examples)"."""
    parts = []
    for key, value in metrics.items():
        if not isinstance(value, float) or key == "test_samples":
            continue
        name = key.removeprefix("test_").replace("_", " ")
        parts.append(f"{name} {value:.1%}" if "accuracy" in name else f"{name} {value:.3g}")
    if not parts:
        return "Test set: not evaluated"
    samples = metrics.get("test_samples")
    counted = f" ({samples:,} examples)" if isinstance(samples, int) else ""
    return f"Test set: {', '.join(parts)}{counted}"


def _history_heading(key: str) -> str:
    """A history.csv column in words: "val_loss" -> "validation loss"."""
    split, name = ("validation", key[4:]) if key.startswith("val_") else ("training", key)
    name = name.replace("_", " ")
    return name if name in ("learning rate", "lr") else f"{split} {name}"


def _history_cell(key: str, value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.1%}" if "accuracy" in key else f"{value:.4g}"


def _epochs_note(history: Mapping[str, list[float]]) -> str:
    epochs = max((len(v) for v in history.values()), default=0)
    if epochs == 1:
        return ("<p>Trained for 1 epoch: each curve is a single point. Train with more epochs "
                "to see how loss and accuracy change.</p>")
    return f"<p>Trained for {epochs} epochs.</p>" if epochs else "<p>No epochs recorded.</p>"


def write_report(folder: Path) -> Path:
    """report.html: config, summary, test metrics, history and plots in one offline page."""
    config = json.loads((folder / CONFIG_FILE).read_text())
    metrics = json.loads((folder / METRICS_FILE).read_text()) if (folder / METRICS_FILE).is_file() else {}
    history = read_history(folder)
    summary = (folder / SUMMARY_FILE).read_text() if (folder / SUMMARY_FILE).is_file() else ""
    train = config.get("train", {})
    title = f"{train.get('model', 'model')} on {train.get('data', 'data')}"
    history_rows = [[str(i + 1), *(_history_cell(k, history[k][i]) if i < len(history[k]) else "-"
                                   for k in history)]
                    for i in range(max((len(v) for v in history.values()), default=0))]
    metric_rows = [[key, f"{value:.4f}" if isinstance(value, float) else str(value)] for key, value in metrics.items()]
    plots = "".join(_image_tag(folder / PLOTS_DIR / f"{stem}.png", caption) for stem, caption in (
        ("curves", "training curves: loss and accuracy per epoch, training and validation sets"),
        ("confusion", "confusion matrix on the test set: actual class down, predicted class across"),
        ("samples", "training samples per class")))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>convscope run: {html.escape(title)}</title>
<style>{REPORT_STYLE}</style></head><body>
<h1>convscope run: {html.escape(title)}</h1>
<p class="big">{html.escape(_test_heading(metrics))}</p>
{_epochs_note(history)}
<h2>Plots</h2>{plots}
<h2>History</h2>{_table(history_rows, ['epoch', *(_history_heading(k) for k in history)])}
<h2>Test metrics</h2>{_table(metric_rows, ['metrics.json key', 'value']) if metric_rows else '<p>none</p>'}
<h2>Model</h2><pre>{html.escape(summary)}</pre>
<h2>Configuration</h2><pre>{html.escape(json.dumps(config, indent=2))}</pre>
<p>Repeat this run with: <code>{html.escape(config.get('command', ''))}</code></p>
</body></html>
"""
    return write_text_atomic(folder / REPORT_FILE, page)

