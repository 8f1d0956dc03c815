"""Turn the harness's report (plain data) into the comparison table and the RESULTS.md entry."""

from __future__ import annotations

from typing import Any

from bench_common import FORWARD_FLOPS, TARGET_ACCURACY

Run = dict[str, Any]


def find(report: dict[str, Any], peer: str, kind: str, batch: int | None = None, busy: int = 0) -> Run | None:
    for run in report["runs"]:
        if (run["peer"] == peer and run["kind"] == kind and (batch is None or run.get("batch") == batch)
                and run.get("busy", 0) == busy):
            return None if "error" in run else run
    return None


def busy_cells(report: dict[str, Any], peer: str, batch: int) -> dict[str, str]:
    """Throughput with competing processes, and its share of the same peer's idle throughput."""
    column: dict[str, str] = {}
    idle = find(report, peer, "throughput", batch)
    for busy in sorted({run.get("busy", 0) for run in report["runs"]} - {0}):
        run = find(report, peer, "throughput", batch, busy)
        if run is None:
            continue
        label = f"batch {batch}, {busy} busy process{'es' if busy > 1 else ''}"
        column[f"train images/s, {label}"] = f"{run['images_per_s']:,.0f}"
        if idle is not None:
            column[f"busy / idle training, {label}"] = f"{run['images_per_s'] / idle['images_per_s']:.2f}"
        if run.get("predict_images_per_s"):
            column[f"predict images/s, {label}"] = f"{run['predict_images_per_s']:,.0f}"
    return column


def peak_for(report: dict[str, Any], precision: str) -> float | None:
    peak = report.get("peak", {})
    key = "peak_bfloat16_gflops" if "bfloat16" in precision or precision == "unknown" else "peak_float32_gflops"
    return peak.get(key)


def cells(report: dict[str, Any], peer: str) -> dict[str, str]:
    """One column of the table: every metric for one peer, as text."""
    column: dict[str, str] = {}
    batches = sorted({run["batch"] for run in report["runs"] if run["kind"] == "throughput"})
    for batch in batches:
        run = find(report, peer, "throughput", batch)
        if run is None:
            continue
        column[f"train images/s, batch {batch}"] = f"{run['images_per_s']:,.0f}"
        if "images_per_s_rounds" in run:
            column[f"train images/s per round, batch {batch}"] = " / ".join(
                f"{speed:,.0f}" for speed in run["images_per_s_rounds"])
        column[f"epoch train s, batch {batch}"] = " / ".join(f"{s:.1f}" for s in run["epoch_train_s"])
        column[f"test accuracy per epoch, batch {batch}"] = " / ".join(f"{a:.4f}" for a in run["test_accuracy"])
        peak = peak_for(report, run.get("precision", "unknown"))
        if peak:
            used = run["images_per_s"] * 3 * forward_flops(report) / 1e9  # backward costs about twice the forward
            column[f"% of peak FLOP/s, batch {batch}"] = f"{100 * used / peak:.1f}% of {peak:.0f}"
        for predict_batch, speed in run.get("predict_images_per_s_by_batch", {}).items():
            column[f"predict images/s, batch {predict_batch}"] = f"{speed:,.0f}"
        column.update(busy_cells(report, peer, batch))
    seeded = [run for run in report["runs"]
              if run["peer"] == peer and run.get("batch") == 128 and run["kind"] in ("throughput", "accuracy")
              and run.get("busy", 0) == 0
              and "error" not in run and run.get("test_accuracy")]
    finals = [run["test_accuracy"][-1] for run in seeded]
    if len(finals) > 1:
        epochs = len(seeded[0]["test_accuracy"])
        column[f"test accuracy after {epochs} epochs, batch 128, mean over seeds (min-max)"] = (
            f"{sum(finals) / len(finals):.4f} ({min(finals):.4f}-{max(finals):.4f}, {len(finals)} seeds)")
    target = find(report, peer, "target")
    if target is not None:
        best = max(target["test_accuracy"], default=0.0)
        if target.get("time_to_target_s") is not None:
            column[f"time to {TARGET_ACCURACY:.0%} s (epochs)"] = (
                f"{target['time_to_target_s']:.1f} ({target['epochs_to_target']})")
        else:
            column[f"time to {TARGET_ACCURACY:.0%} s (epochs)"] = (
                f"not reached: best {best:.4f} in {len(target['test_accuracy'])} ep, "
                f"{target['since_start_s'][-1]:.0f} s")
    runs = [r for r in report["runs"] if r["peer"] == peer and "error" not in r]
    if runs:
        column["peak RSS MiB (max of runs)"] = f"{max(r['peak_rss_mb'] for r in runs):,.0f}"
        column["precision"] = str(runs[0].get("precision", "unknown"))
    return column


RATIO_ROWS = ("train images/s", "predict images/s")


def ratio(mine: str | None, theirs: str | None, metric: str) -> str:
    """convscope / peer for throughputs; peer / convscope for time to target (both: >1 is better)."""
    if not mine or not theirs:
        return ""
    try:
        if metric.startswith(RATIO_ROWS):
            return f"{float(mine.replace(',', '')) / float(theirs.replace(',', '')):.2f}x"
        if metric.startswith("test accuracy after") and "mean over seeds" in metric:
            return f"{100 * (float(mine.split()[0]) - float(theirs.split()[0])):+.2f} points"
        if metric.startswith("time to") and not theirs.startswith("not"):
            return f"{float(theirs.split()[0]) / float(mine.split()[0]):.2f}x"
    except (ValueError, ZeroDivisionError):
        return ""
    return ""


def column_order(report: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The table's columns: convscope's (one per precision the run asked, "convscope float32",
    ... or just "convscope"), then the other peers'; and the convscope columns among them."""
    labels = list(dict.fromkeys(run["peer"] for run in report["runs"]))
    mine = [label for label in labels if label.startswith("convscope")]
    others = [p for p in ("torch", "keras") if p in labels]
    return mine + others, mine


def forward_flops(report: dict[str, Any]) -> float:
    """FLOPs of one forward pass of the report's model (the seed CNN in reports made before
    the harness had --model)."""
    return FORWARD_FLOPS[report.get("model", "seed")]


def render_table(report: dict[str, Any]) -> str:
    """A Markdown table: one row per metric, one column per peer, then convscope's ratios."""
    peers, mine = column_order(report)
    columns = {peer: cells(report, peer) for peer in peers}
    metrics: list[str] = []
    for column in columns.values():
        metrics += [m for m in column if m not in metrics]
    pairs = [(own, p) for own in mine for p in peers if p not in mine]
    header = ["metric", *peers, *[f"{own} / {p}" for own, p in pairs]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for metric in metrics:
        row = [metric, *[columns[p].get(metric, "-") for p in peers]]
        row += [ratio(columns[own].get(metric), columns[p].get(metric), metric) for own, p in pairs]
        lines.append("| " + " | ".join(row) + " |")
    errors = [f"- {r['peer']} ({r['kind']}): {r['error']}" for r in report["runs"] if "error" in r]
    if report.get("params_error"):
        errors.append(f"- {report['params_error']}")
    counts = report.get("params") or {}
    params = f" ({next(iter(counts.values())):,} parameters in every peer)" if len(set(counts.values())) == 1 else ""
    notes = [
        f"Model: {report.get('model', 'seed')}{params}. Cost: {3 * forward_flops(report) / 1e6:.1f} MFLOP per "
        f"training image, {forward_flops(report) / 1e6:.1f} per predicted image, counted as direct "
        "convolutions (a float32 convscope run computes the seed CNN's second convolution as Winograd "
        "tiles with 2.25x fewer multiplications, so its % of peak can pass 100). Peak (measured): "
        + ", ".join(f"{k} {v}" for k, v in report.get("peak", {}).items() if k.endswith("gflops")) + ".",
        f"Load average before/after: {report['load_before']} / {report['load_after']}.",
    ]
    return "\n".join(lines + [""] + notes + errors)


def render_markdown(report: dict[str, Any], table: str) -> str:
    m = report["machine"]
    versions = sorted({r["version"] for r in report["runs"] if "version" in r})
    caps = f"- Instruction sets capped for every peer: `{m['caps']}`\n" if m.get("caps") else ""
    return (
        f"\n## {report['date']}\n\n"
        f"- Machine: {m['cpu']}, {m['cores']} cores ({m['flags']}); {m['os']}, Python {m['python']}\n"
        f"{caps}"
        f"- Peers: {'; '.join(versions)}\n"
        f"- Command: `{report['command']}`\n\n{table}\n"
    )
