"""Your own files: image folders (PNG/JPEG) and arrays of signals (.npy/.npz/.csv)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convscope import datasets


def _image_folder(root: Path, sizes: dict[str, tuple[int, int]], per_class: int = 5) -> None:
    """Class `name` gets `per_class` images whose pixel value encodes the class and index."""
    for label, (name, size) in enumerate(sizes.items()):
        (root / name).mkdir(parents=True)
        for index in range(per_class):
            pixels = np.full((*size, 3), 40 * label + index, dtype=np.uint8)
            suffix = ".png" if index % 2 == 0 else ".jpg"
            Image.fromarray(pixels).save(root / name / f"{index}{suffix}", quality=100)


def test_image_folder_reads_classes_and_splits_by_class(tmp_path: Path) -> None:
    _image_folder(tmp_path / "shapes", {"circle": (6, 7), "square": (6, 7), "triangle": (6, 7)})
    (x_train, y_train), (x_test, y_test) = datasets.image_folder(tmp_path / "shapes")
    assert datasets.class_names(tmp_path / "shapes") == ["circle", "square", "triangle"]
    assert x_train.shape == (12, 6, 7, 3) and x_test.shape == (3, 6, 7, 3) and x_train.dtype == np.uint8
    assert np.bincount(y_test).tolist() == [1, 1, 1]
    assert (x_train[:, 0, 0, 0] // 40 == y_train).all()  # each image kept its class


def test_image_folder_resizes_and_converts(tmp_path: Path) -> None:
    _image_folder(tmp_path / "mixed", {"a": (10, 12), "b": (20, 8)})
    with pytest.raises(ValueError, match="images have different sizes.*pass image_size"):
        datasets.image_folder(tmp_path / "mixed")
    (x_train, _), _ = datasets.image_folder(tmp_path / "mixed", image_size=(16, 9), color_mode="grayscale")
    assert x_train.shape == (8, 16, 9, 1)


def test_image_folder_with_train_and_test_subfolders(tmp_path: Path) -> None:
    _image_folder(tmp_path / "data" / "train", {"cat": (4, 4), "dog": (4, 4)}, per_class=3)
    _image_folder(tmp_path / "data" / "test", {"cat": (4, 4), "dog": (4, 4)}, per_class=2)
    (x_train, y_train), (x_test, y_test) = datasets.image_folder(tmp_path / "data", color_mode="rgb")
    assert len(x_train) == 6 and len(x_test) == 4 and y_test.tolist() == [0, 0, 1, 1]
    assert datasets.class_names(str(tmp_path / "data")) == ["cat", "dog"]


def test_image_folder_names_a_bad_file(tmp_path: Path) -> None:
    _image_folder(tmp_path / "f", {"a": (4, 4)}, per_class=2)
    (tmp_path / "f" / "a" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"broken\.png: cannot be read as an image"):
        datasets.image_folder(tmp_path / "f")


def test_arrays_from_csv_with_a_label_header(tmp_path: Path) -> None:
    rows = ["label,w1,w2,w3"] + [f"{i % 2},{i},{i + 0.5},{-i}" for i in range(10)]
    (tmp_path / "spectra.csv").write_text("\n".join(rows) + "\n")
    (x_train, y_train), (x_test, y_test) = datasets.arrays(tmp_path / "spectra.csv")
    assert x_train.shape == (8, 3, 1) and x_test.shape == (2, 3, 1) and x_train.dtype == np.float32
    assert y_train.dtype == np.int64 and sorted(y_test.tolist()) == [0, 1]
    assert ((x_train[:, 0, 0] % 2) == y_train).all() and (x_train[:, 1, 0] - x_train[:, 0, 0] == 0.5).all()


def test_arrays_from_csv_without_header_by_column_index(tmp_path: Path) -> None:
    np.savetxt(tmp_path / "s.csv", np.column_stack([np.arange(20.0), np.arange(20) % 4]), delimiter=",")
    (x, y), _ = datasets.arrays(tmp_path / "s.csv", label_column=-1, channel_axis=False, test_fraction=0.25)
    assert x.shape == (16, 1) and (x[:, 0] % 4 == y).all()  # 1 of the 5 rows of each class held out
    with pytest.raises(ValueError, match="no labels found.*label_column"):
        datasets.arrays(tmp_path / "s.csv")


def test_arrays_from_npy_with_a_labels_file_and_from_npz(tmp_path: Path) -> None:
    signals = np.random.default_rng(0).normal(size=(30, 50))
    labels = np.arange(30) % 3
    np.save(tmp_path / "x.npy", signals)
    np.save(tmp_path / "y.npy", labels)
    (x, y), (x_test, _) = datasets.arrays(tmp_path / "x.npy", labels=tmp_path / "y.npy")
    assert x.shape == (24, 50, 1) and len(x_test) == 6
    np.savez(tmp_path / "d.npz", x=signals, y=labels)
    (x2, y2), _ = datasets.arrays(tmp_path / "d.npz")
    np.testing.assert_array_equal(x2, x)
    np.testing.assert_array_equal(y2, y)


def test_arrays_reports_mismatched_lengths_and_missing_files(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((5, 8)))
    with pytest.raises(ValueError, match=r"expected signals \(N, L\) and N labels; got signals \(5, 8\) and 4"):
        datasets.arrays(tmp_path / "x.npy", labels=[0, 1, 0, 1])
    with pytest.raises(FileNotFoundError, match=r"nope\.csv: no such file"):
        datasets.arrays(tmp_path / "nope.csv")


def _npy_header_only(path: Path, shape: tuple[int, ...], descr: str = "<f8") -> Path:
    """A .npy file whose header claims `shape` but which holds no data."""
    from numpy.lib import format as npy_format

    with open(path, "wb") as handle:
        npy_format.write_array_header_1_0(handle, {"descr": descr, "fortran_order": False, "shape": shape})
    return path


def test_load_npy_refuses_a_huge_header_before_allocating(tmp_path: Path) -> None:
    from convscope.data.files import load_npy

    huge = _npy_header_only(tmp_path / "huge.npy", (100000, 100000))
    with pytest.raises(ValueError, match=r"huge\.npy: its header declares a 100000x100000 float64 array "
                                         r"\(74\.5 GiB\); the limit is 4\.0 GiB"):
        load_npy(huge)
    with pytest.raises(ValueError, match=r"the limit is 4\.0 GiB"):  # the signals loader checks too
        datasets.arrays(huge, labels=np.zeros(100000))


def test_load_npy_names_a_truncated_file_and_reads_a_good_one(tmp_path: Path) -> None:
    from convscope.data.files import load_npy

    short = _npy_header_only(tmp_path / "short.npy", (10, 4), "|u1")
    with pytest.raises(ValueError, match=r"short\.npy: its header declares a 10x4 uint8 array \(40 bytes\) but "
                                         "the file holds only"):
        load_npy(short)
    np.save(tmp_path / "good.npy", np.arange(12, dtype=np.int16).reshape(3, 4))
    assert load_npy(tmp_path / "good.npy", max_bytes=24).tolist() == np.arange(12).reshape(3, 4).tolist()
    with pytest.raises(ValueError, match=r"\(24 bytes\); the limit is 23 bytes"):
        load_npy(tmp_path / "good.npy", max_bytes=23)
    (tmp_path / "text.npy").write_text("not numpy")
    with pytest.raises(ValueError, match=r"text\.npy: not a readable \.npy file"):
        load_npy(tmp_path / "text.npy")


def test_npz_members_are_checked_like_npy_files_before_loading(tmp_path: Path) -> None:
    import zipfile

    header = _npy_header_only(tmp_path / "x.npy", (100000, 100000))
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(bomb, "w") as archive:  # what np.savez writes, with a lying member
        archive.write(header, "x.npy")
        with archive.open("y.npy", "w") as handle:
            np.save(handle, np.zeros(3))
    with pytest.raises(ValueError, match=r"bomb\.npz \(array 'x'\): its header declares a 100000x100000 float64 "
                                         r"array \(74\.5 GiB\); the limit is 4\.0 GiB"):
        datasets.arrays(bomb)
    np.savez_compressed(tmp_path / "good.npz", x=np.ones((4, 16), np.float32), y=np.arange(4))
    from convscope.data.files import load_npz_member

    assert load_npz_member(tmp_path / "good.npz", "x").shape == (4, 16)
    with pytest.raises(ValueError, match=r"\(array 'x'\).*the limit is 63 bytes"):
        load_npz_member(tmp_path / "good.npz", "x", max_bytes=63)
