"""Golden files for the tables the CLI prints beyond `summary seed-cnn` (test_commands.py): the
1-D summary, `explain shapes`, the conv and pool step tables, and `data describe`. Rewrite them
with `pytest --update-golden` when a change is intended."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import mask, run_cli

Golden = Callable[[str, str], None]


@pytest.mark.parametrize(("argv", "name"), [
    (("summary", "spectrum-cnn"), "summary-spectrum-cnn.txt"),
    (("explain", "shapes", "--model", "seed-cnn"), "explain-shapes-seed-cnn.txt"),
    (("explain", "shapes", "--model", "spectrum-cnn", "--input-shape", "300,1"), "explain-shapes-spectrum-cnn-300.txt"),
    (("explain", "conv", "--matrix", "[[1,2,3],[4,5,6],[7,8,9]]", "--kernel", "[[1,0],[0,-1]]"),
     "explain-conv-3x3-matrix.txt"),
    (("explain", "conv", "--matrix", "[1,2,3,4]", "--kernel", "[1,0,-1]"), "explain-conv-1d-matrix.txt"),
    (("explain", "pool", "--matrix", "[[2,0,1,4],[3,5,6,1],[0,1,2,2],[7,1,0,3]]", "--position", "1,1"),
     "explain-pool-4x4-matrix.txt"),
    (("explain", "pool", "--matrix", "[[2,0,1],[3,5,6],[0,1,2]]", "--reduction", "average", "--padding", "same",
      "--position", "1,1"), "explain-pool-average-same.txt"),
])
def test_printed_table(argv: tuple[str, ...], name: str, golden: Golden) -> None:
    code, out, err = run_cli(*argv)
    assert code == 0, err
    golden(name, out)


def test_data_describe_of_an_image_folder(bars_dir: Path, golden: Golden) -> None:
    code, out, err = run_cli("data", "describe", str(bars_dir))
    assert code == 0, err
    golden("data-describe-bars.txt", mask(out, DATA=bars_dir))
