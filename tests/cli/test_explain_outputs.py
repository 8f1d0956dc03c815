"""`convscope explain` in a fresh process: every action runs without help from earlier imports,
and --out gets files for each."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import run_fresh

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_explain_pool_in_a_fresh_process_writes_into_out(run_folder: Path, digit: Path, tmp_path: Path) -> None:
    out = tmp_path / "pool"
    result = run_fresh("explain", "pool", "--model", str(run_folder), "--image", str(digit), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "MaxPooling2D 'max_pooling2d', channel 0, output position (6, 6)" in result.stdout
    steps = json.loads((out / "pool_steps.json").read_text())
    assert steps["kind"] == "MaxPooling2D" and len(steps["window_positions"]) == 4 and steps["agrees"]
    assert steps["output"] == max(steps["values"])
    for name in ("00_conv2d.png", "01_max_pooling2d.png"):
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE


def test_explain_pool_of_a_matrix_writes_its_steps(tmp_path: Path) -> None:
    result = run_fresh("explain", "pool", "--matrix", "[[2,0],[3,5]]", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    steps = json.loads((tmp_path / "pool_steps.json").read_text())
    assert steps["values"] == [2, 0, 3, 5] and steps["output"] == 5 and steps["winner"] == [1, 1]


def test_explain_conv_of_a_1d_input_writes_its_picture(tmp_path: Path) -> None:
    result = run_fresh("explain", "conv", "--matrix", "[1,2,3,4]", "--kernel", "[1,0,-1]", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Total = -2" in result.stdout and f"wrote {tmp_path / 'conv_steps.png'}" in result.stdout
    assert (tmp_path / "conv_steps.png").read_bytes()[:8] == PNG_SIGNATURE


def test_explain_conv_of_a_run_writes_its_stages_and_channel_table(run_folder: Path, digit: Path, tmp_path: Path) -> None:
    result = run_fresh("explain", "conv", "--model", str(run_folder), "--image", str(digit), "--layer", "conv2d_1",
                       "--position", "4,5", "--filter", "3", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "64 input channels; partial sums" in result.stdout and "... 56 more channels add" in result.stdout
    assert (tmp_path / "conv_steps.png").read_bytes()[:8] == PNG_SIGNATURE
    steps = json.loads((tmp_path / "conv_steps.json").read_text())
    assert [stage["name"] for stage in steps["stages"]] == ["window", "weights", "products", "channel_sums",
                                                           "total", "bias", "activation", "output"]
    sums = [entry["partial_sum"] for entry in steps["channels"]]
    assert len(sums) == steps["channel_count"] == 64 and [abs(s) for s in sums] == sorted(map(abs, sums), reverse=True)
    assert abs(sum(sums) - steps["weighted_sum"]) < 1e-9 and steps["agrees"]


def test_explain_pool_of_a_run_draws_its_window(run_folder: Path, digit: Path, tmp_path: Path) -> None:
    result = run_fresh("explain", "pool", "--model", str(run_folder), "--image", str(digit), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "pool_steps.png").read_bytes()[:8] == PNG_SIGNATURE
    steps = json.loads((tmp_path / "pool_steps.json").read_text())
    assert [stage["name"] for stage in steps["stages"]] == ["window", "reduce", "output"]
    assert steps["stages"][1]["value"] == max(steps["values"])


def test_explain_refuses_a_npy_whose_header_is_too_large_before_loading(tmp_path: Path) -> None:
    from numpy.lib import format as npy_format

    huge = tmp_path / "huge.npy"
    with open(huge, "wb") as handle:  # a header claiming 74.5 GiB, and no data
        npy_format.write_array_header_1_0(handle, {"descr": "<f8", "fortran_order": False,
                                                   "shape": (100000, 100000)})
    for argv in (("explain", "maps", "--model", "seed-cnn", "--image", str(huge)),
                 ("explain", "interpret", "--model", "seed-cnn", "--x", str(huge), "--y", str(huge))):
        done = run_fresh(*argv)
        assert done.returncode != 0
        assert "huge.npy: its header declares a 100000x100000 float64 array (74.5 GiB)" in done.stderr, done.stderr
        assert "MemoryError" not in done.stderr and "Traceback" not in done.stderr
