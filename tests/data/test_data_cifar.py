"""CIFAR-10 binary batches: decoding, validation, the verified tarball and its manifest."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from convscope import datasets
from convscope.data import cifar
from convscope.data.integrity import IntegrityError

RECORDS = 4  # per batch: tiny files, same format as the official 10,000


def _write_batches(folder: Path, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Write five training batches and a test batch; return the training images and labels."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for name in (*cifar.TRAIN_BATCHES, cifar.TEST_BATCH):
        batch_images = rng.integers(0, 256, (RECORDS, 32, 32, 3), dtype=np.uint8)
        batch_labels = rng.integers(0, 10, RECORDS).astype(np.uint8)
        cifar.write_batch(folder / name, batch_images, batch_labels)
        images.append(batch_images)
        labels.append(batch_labels)
    return np.concatenate(images[:5]), np.concatenate(labels[:5])


def _tarball(path: Path, batches: Path) -> str:
    with tarfile.open(path, "w:gz") as archive:
        for file in sorted(batches.iterdir()):
            archive.add(file, arcname=f"{cifar.BATCH_FOLDER}/{file.name}")
        note = b"not a batch"
        info = tarfile.TarInfo(f"{cifar.BATCH_FOLDER}/readme.html")
        info.size = len(note)
        archive.addfile(info, io.BytesIO(note))
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_record_layout_is_label_then_red_green_blue_planes() -> None:
    record = np.zeros(cifar.RECORD_BYTES, np.uint8)
    record[0] = 7
    record[1 + 0 * 1024 + 5 * 32 + 9] = 200  # red plane, row 5, column 9
    record[1 + 2 * 1024 + 0] = 50  # blue plane, row 0, column 0
    images, labels = cifar.parse_batch(record.tobytes(), "one.bin")
    assert images.shape == (1, 32, 32, 3) and labels.tolist() == [7]
    assert images[0, 5, 9].tolist() == [200, 0, 0] and images[0, 0, 0].tolist() == [0, 0, 50]


def test_load_from_a_folder_of_batches(tmp_path: Path, no_data_dir: None) -> None:
    x_expected, y_expected = _write_batches(tmp_path / "cifar" / cifar.BATCH_FOLDER)
    (x_train, y_train), (x_test, y_test) = datasets.load("cifar10", path=tmp_path / "cifar", download=False)
    assert x_train.shape == (5 * RECORDS, 32, 32, 3) and x_test.shape == (RECORDS, 32, 32, 3)
    assert x_train.dtype == np.uint8 and y_train.ndim == 1
    np.testing.assert_array_equal(x_train, x_expected)
    np.testing.assert_array_equal(y_train, y_expected)
    (keras_like, _), _ = datasets.load("cifar10", path=tmp_path / "cifar", channel_axis=False, download=False)
    assert keras_like.shape == (5 * RECORDS, 32, 32, 3)  # RGB keeps its channel axis


@pytest.mark.parametrize("cut, message", [(1, "got 12291 bytes"), (cifar.RECORD_BYTES * RECORDS, "got 0 bytes")])
def test_truncated_batches_are_refused(tmp_path: Path, no_data_dir: None, cut: int, message: str) -> None:
    _write_batches(tmp_path)
    batch = tmp_path / "data_batch_3.bin"
    batch.write_bytes(batch.read_bytes()[:-cut])
    with pytest.raises(ValueError, match=rf"data_batch_3\.bin: .*3073-byte records.*{message}"):
        datasets.load("cifar10", path=tmp_path, download=False)


def test_cifar100_like_labels_are_refused() -> None:
    record = np.zeros(cifar.RECORD_BYTES, np.uint8)
    record[0] = 42
    with pytest.raises(ValueError, match="record 0 has label 42; CIFAR-10 labels are 0-9"):
        cifar.parse_batch(record.tobytes(), "x.bin")


def test_tarball_is_verified_extracted_and_its_manifest_checked(tmp_path: Path, no_data_dir: None) -> None:
    x_expected, _ = _write_batches(tmp_path / "src")
    md5 = _tarball(tmp_path / cifar.TARBALL, tmp_path / "src")
    folder = cifar.extract_tarball(tmp_path / cifar.TARBALL, tmp_path / "out", expected_md5=md5)
    assert sorted(p.name for p in folder.iterdir()) == sorted([*cifar.TRAIN_BATCHES, cifar.TEST_BATCH, cifar.MANIFEST])
    assert set(cifar.read_manifest(folder)) == {*cifar.TRAIN_BATCHES, cifar.TEST_BATCH}
    np.testing.assert_array_equal(cifar.read_batches(folder)[0][0], x_expected)
    damaged = folder / "data_batch_2.bin"
    content = bytearray(damaged.read_bytes())
    content[100] ^= 1  # same length: only the manifest can tell
    damaged.write_bytes(bytes(content))
    with pytest.raises(IntegrityError, match=r"data_batch_2\.bin: content does not match"):
        cifar.read_batches(folder)


def test_a_tarball_that_is_not_the_official_one_is_refused(tmp_path: Path, no_data_dir: None) -> None:
    _write_batches(tmp_path / "src")
    (tmp_path / "local").mkdir()
    actual = _tarball(tmp_path / "local" / cifar.TARBALL, tmp_path / "src")
    with pytest.raises(IntegrityError) as caught:
        datasets.load("cifar10", path=tmp_path / "local", download=False)
    assert caught.value.algorithm == "md5"
    assert f"expected {cifar.TARBALL_MD5}, got {actual}" in str(caught.value)
    assert not (datasets.cache_dir() / "cifar10" / cifar.BATCH_FOLDER).exists()


def test_download_of_a_wrong_tarball_is_refused_and_not_cached(http_root, tmp_path: Path, no_data_dir: None) -> None:
    www, base = http_root
    _write_batches(tmp_path / "src")
    _tarball(www / cifar.TARBALL, tmp_path / "src")
    with pytest.raises(datasets.DatasetNotFoundError, match=rf"refused: .*expected {cifar.TARBALL_MD5}"):
        datasets.load("cifar10", mirrors=[base], progress=False)
    cache = datasets.cache_dir() / "cifar10"
    assert not cache.exists() or list(cache.iterdir()) == []


def test_download_of_a_good_tarball_extracts_into_the_cache(http_root, tmp_path: Path, no_data_dir: None,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    www, base = http_root
    x_expected, _ = _write_batches(tmp_path / "src")
    md5 = _tarball(www / cifar.TARBALL, tmp_path / "src")
    monkeypatch.setattr(cifar, "TARBALL_MD5", md5)
    monkeypatch.setattr(cifar.verify_tarball, "__defaults__", (md5,))
    monkeypatch.setattr(cifar.extract_tarball, "__defaults__", (md5,))
    (x_train, _), _ = datasets.load("cifar10", mirrors=[base], progress=False)
    np.testing.assert_array_equal(x_train, x_expected)
    cache = datasets.cache_dir() / "cifar10"
    assert sorted(p.name for p in cache.iterdir()) == [cifar.BATCH_FOLDER]  # the tarball is removed
    assert (cache / cifar.BATCH_FOLDER / cifar.MANIFEST).is_file()
