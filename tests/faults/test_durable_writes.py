"""Durable writes (convscope._atomic): a file or folder appears whole or not at all, and the
rename that publishes it is flushed to disk with its parent folder, for saved models too."""

from __future__ import annotations

from pathlib import Path

import pytest

from convscope import Sequential, _atomic, layers


@pytest.fixture
def flushed_folders(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The folders whose entries were flushed to disk, in order."""
    seen: list[Path] = []
    real = _atomic.fsync_folder

    def record(folder: Path) -> None:
        seen.append(Path(folder))
        real(folder)

    monkeypatch.setattr(_atomic, "fsync_folder", record)
    return seen


def test_write_text_replaces_the_file_and_flushes_its_folder(tmp_path: Path, flushed_folders: list[Path]) -> None:
    target = tmp_path / "deep" / "summary.txt"
    assert _atomic.write_text_atomic(target, "first") == target
    _atomic.write_text_atomic(target, "second")
    assert target.read_text() == "second"
    assert sorted(path.name for path in target.parent.iterdir()) == ["summary.txt"]
    assert flushed_folders == [target.parent, target.parent]


def test_atomic_path_leaves_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), _atomic.atomic_path(target, suffix=".onnx") as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["model.onnx"]


def test_write_folder_swaps_a_whole_folder_in(tmp_path: Path, flushed_folders: list[Path]) -> None:
    target = tmp_path / "model"
    _atomic.write_folder(target, lambda staging: (staging / "a.json").write_text("1"))
    _atomic.write_folder(target, lambda staging: (staging / "b.json").write_text("2"))
    assert [path.name for path in target.iterdir()] == ["b.json"]
    assert [path.name for path in tmp_path.iterdir()] == ["model"]  # no staging or retired folder left
    assert flushed_folders[-1] == tmp_path


def test_write_folder_keeps_the_old_folder_when_the_writer_fails(tmp_path: Path) -> None:
    target = tmp_path / "model"
    _atomic.write_folder(target, lambda staging: (staging / "a.json").write_text("1"))

    def crash(staging: Path) -> None:
        (staging / "b.json").write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        _atomic.write_folder(target, crash)
    assert [path.name for path in target.iterdir()] == ["a.json"]
    assert [path.name for path in tmp_path.iterdir()] == ["model"]


def test_saving_a_model_flushes_the_folder_holding_it(tmp_path: Path, flushed_folders: list[Path]) -> None:
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    model.save(tmp_path / "model")
    model.save_weights(tmp_path / "weights.safetensors")
    assert flushed_folders.count(tmp_path) == 2


def test_saving_over_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model").write_text("not a folder")
    with pytest.raises(ValueError, match="cannot save a model to .*model: it exists and is not a folder"):
        Sequential([layers.Dense(2, input_shape=(3,))]).save(tmp_path / "model")
    assert (tmp_path / "model").read_text() == "not a folder"
