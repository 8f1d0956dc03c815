"""`convscope predict` on what users pass: folders, 8-bit .npy arrays, and .npy files whose
header asks for more memory than any input needs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from cli_helpers import run_fresh
from numpy.lib import format as npy_format
from PIL import Image


def test_a_folder_predicts_every_image_and_array_in_it(run_folder: Path, digit: Path, tmp_path: Path) -> None:
    pixels = np.load(digit)
    np.save(tmp_path / "a_uint8.npy", pixels)
    np.save(tmp_path / "b_float.npy", pixels.astype(np.float32) / 255)
    Image.fromarray(pixels).save(tmp_path / "c.png")
    (tmp_path / "notes.txt").write_text("not an input")
    result = run_fresh("predict", str(run_folder), str(tmp_path), "--json", "--top", "10")
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert [Path(answer["file"]).name for answer in answers] == ["a_uint8.npy", "b_float.npy", "c.png"]
    as_uint8, as_float = ({entry["class"]: entry["probability"] for entry in answer["top"]} for answer in answers[:2])
    assert as_uint8 == as_float  # 8-bit values are divided by 255, as PNG pixels are
    assert answers[0]["notes"][0] == "uint8 values multiplied by 0.00392157 (1/255 for 8-bit pixels), as in training"
    assert answers[2]["notes"][0] == "read PNG 28x28 L"


def test_an_empty_folder_says_what_predict_takes(run_folder: Path, tmp_path: Path) -> None:
    result = run_fresh("predict", str(run_folder), str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.splitlines()[:2] == [
        f"convscope predict: error: {tmp_path}: no images or .npy files in this folder",
        "hint: predict takes PNG/JPEG (or other Pillow-readable) images, .npy arrays, or folders of them"]


def test_a_npy_header_claiming_a_huge_array_is_refused_unread(run_folder: Path, tmp_path: Path) -> None:
    huge = tmp_path / "huge.npy"
    with open(huge, "wb") as handle:
        npy_format.write_array_header_1_0(handle, {"descr": "<f8", "fortran_order": False,
                                                   "shape": (100000, 100000)})
    result = run_fresh("predict", str(run_folder), str(huge))
    assert result.returncode == 1 and "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    assert (f"convscope predict: error: {huge}: its header declares a 100000x100000 float64 array (74.5 GiB); "
            "the limit is 256.0 MiB.") in result.stderr
