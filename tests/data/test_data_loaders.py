"""`load`: the real MNIST and Fashion-MNIST files, discovery order, errors, digits, MNIST-1D."""

from __future__ import annotations

import gzip
import hashlib
import random
from pathlib import Path

import numpy as np
import pytest

from convscope import datasets
from convscope.data.integrity import IntegrityError, known_checksums


def test_mnist_from_the_data_dir(shared_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(shared_data_dir))
    (x_train, y_train), (x_test, y_test) = datasets.load("mnist", download=False)
    assert x_train.shape == (60000, 28, 28, 1) and x_test.shape == (10000, 28, 28, 1)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8 and y_test.shape == (10000,)
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # the well-known first labels
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert x_train.max() == 255 and x_train.min() == 0


def test_mnist_without_channel_axis_is_keras_shaped(shared_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(shared_data_dir))
    (x_train, _), (x_test, _) = datasets.load_data("mnist", download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)


def test_recorded_mnist_hashes_match_the_shared_sums(shared_data_dir: Path) -> None:
    lines = (shared_data_dir / "mnist" / "SHA256SUMS-uncompressed").read_text().splitlines()
    published = {line.split()[1].removesuffix(".gz"): line.split()[0] for line in lines if line.strip()}
    assert known_checksums("mnist") == published


def test_fashion_mnist_from_the_system_package(fashion_dir: Path, no_data_dir: None) -> None:
    (x_train, y_train), (x_test, y_test) = datasets.load("fashion_mnist", download=False)
    assert x_train.shape == (60000, 28, 28, 1) and x_test.shape == (10000, 28, 28, 1)
    assert np.bincount(y_train).tolist() == [6000] * 10 and np.bincount(y_test).tolist() == [1000] * 10
    assert datasets.class_names("fashion_mnist")[y_train[0]] == "Ankle boot"


def test_recorded_fashion_hashes_match_the_installed_files(fashion_dir: Path) -> None:
    expected = known_checksums("fashion_mnist")
    for raw_name, digest in expected.items():
        content = gzip.decompress((fashion_dir / f"{raw_name}.gz").read_bytes())
        assert hashlib.sha256(content).hexdigest() == digest


def test_explicit_path_comes_first(tiny_idx, trust_tiny, shared_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, arrays, hashes = tiny_idx
    trust_tiny(hashes)
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(shared_data_dir))  # would give the real MNIST
    (x_train, y_train), (x_test, y_test) = datasets.load("mnist", path=folder, download=False)
    np.testing.assert_array_equal(x_train[..., 0], arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])


def test_data_dir_comes_before_the_cache(tmp_path: Path, make_idx_folder, trust_tiny,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    data_arrays, hashes = make_idx_folder(tmp_path / "data" / "mnist", seed=1)
    cache_arrays, cache_hashes = make_idx_folder(datasets.cache_dir() / "mnist", seed=2)
    trust_tiny(hashes | cache_hashes)  # both copies valid: only the order decides
    monkeypatch.setattr("convscope.data.loaders.known_checksums", lambda name: {})
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(tmp_path / "data"))
    (x_train, _), _ = datasets.load("mnist", download=False)
    np.testing.assert_array_equal(x_train[..., 0], data_arrays["x_train"])
    monkeypatch.delenv("CONVSCOPE_DATA_DIR")
    (x_train, _), _ = datasets.load("mnist", download=False)
    np.testing.assert_array_equal(x_train[..., 0], cache_arrays["x_train"])


def test_raw_idx_files_and_dashed_folder_names(tmp_path: Path, make_idx_folder, trust_tiny,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    arrays, hashes = make_idx_folder(tmp_path / "fashion-mnist", compress=False)
    trust_tiny(hashes)
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(tmp_path))
    (x_train, y_train), _ = datasets.load("fashion_mnist", download=False, channel_axis=False)
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    assert y_train.tolist() == arrays["y_train"].tolist()


def test_an_incomplete_explicit_path_warns_and_falls_through(tmp_path: Path, shared_data_dir: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(shared_data_dir))
    (tmp_path / "empty").mkdir()
    with pytest.warns(UserWarning, match="lacks the dataset's files; using CONVSCOPE_DATA_DIR"):
        (_, y_train), _ = datasets.load("mnist", path=tmp_path / "empty", download=False)
    assert len(y_train) == 60000


def test_a_wrong_local_file_is_refused_with_expected_and_actual(tiny_idx, no_data_dir: None) -> None:
    folder, _, hashes = tiny_idx
    with pytest.raises(IntegrityError) as caught:
        datasets.load("mnist", path=folder, download=False)
    error = caught.value
    assert error.expected == known_checksums("mnist")[error.path.name.removesuffix(".gz")]
    assert error.actual == hashes[error.path.name.removesuffix(".gz")]
    assert str(folder) in str(error)


def test_offline_error_lists_every_place_in_order_and_how_to_fix(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from convscope.data.registry import DATASETS

    system = tmp_path / "usr-share" / "fashion-mnist"  # stands in for the Debian folder
    monkeypatch.setitem(DATASETS, "fashion_mnist", replace(DATASETS["fashion_mnist"], system_dirs=(str(system),)))
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(datasets.DatasetNotFoundError) as caught:
        datasets.load("fashion_mnist", path=tmp_path / "mine", download=False)
    message = str(caught.value)
    places = [f"path argument: {tmp_path / 'mine'} (no such folder)",
              f"CONVSCOPE_DATA_DIR: {tmp_path / 'data' / 'fashion_mnist'}",
              f"CONVSCOPE_DATA_DIR: {tmp_path / 'data' / 'fashion-mnist'}",
              f"user cache: {datasets.cache_dir() / 'fashion_mnist'}",
              f"system location: {system}", "download: skipped (download=False)"]
    positions = [message.index(place) for place in places]
    assert positions == sorted(positions)
    assert "apt-get install dataset-fashion-mnist" in message and "train-images-idx3-ubyte.gz" in message


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="Unknown dataset 'mnsit'; known datasets: cifar10, cifar100, digits"):
        datasets.load("mnsit")


def test_class_names() -> None:
    assert datasets.class_names("mnist") == [str(i) for i in range(10)]
    assert datasets.class_names("cifar10")[:3] == ["airplane", "automobile", "bird"]
    assert datasets.class_names("fashion-mnist")[0] == "T-shirt/top"
    assert len(datasets.class_names("mnist1d")) == 10


def test_digits_are_uint8_images_split_by_class() -> None:
    (x_train, y_train), (x_test, y_test) = datasets.load("digits")
    assert x_train.shape == (1438, 8, 8, 1) and x_test.shape == (359, 8, 8, 1)
    assert x_train.dtype == np.uint8 and x_train.max() == 255 and y_train.dtype == np.int64
    assert np.abs(np.bincount(y_test) - 36).max() <= 1  # stratified: about 20% of each class


def test_digits_match_scikit_learn() -> None:
    from sklearn.datasets import load_digits

    from convscope.data.loaders import _bundled_digits

    pixels, labels = _bundled_digits()
    reference = load_digits()
    np.testing.assert_array_equal(pixels, reference.data)
    np.testing.assert_array_equal(labels, reference.target)


def test_mnist1d_generation_leaves_global_rngs_alone_and_is_cached() -> None:
    from convscope.data.mnist1d import load_mnist1d

    random.seed(7)
    np.random.seed(7)
    expected_python, expected_numpy = random.random(), np.random.rand()
    random.seed(7)
    np.random.seed(7)
    (x_train, y_train), (x_test, _) = load_mnist1d(num_samples=300)  # small: the full set is a slow test
    assert (random.random(), np.random.rand()) == (expected_python, expected_numpy)
    assert x_train.shape == (240, 40) and x_test.shape == (60, 40) and x_train.dtype == np.float32
    assert y_train.dtype == np.int64 and sorted(np.unique(y_train)) == list(range(10))
    assert len(list((datasets.cache_dir() / "mnist1d").glob("mnist1d-*.npz"))) == 1
    (again, _), _ = load_mnist1d(num_samples=300)  # from the cache now
    np.testing.assert_array_equal(again, x_train)


@pytest.mark.slow
def test_mnist1d_default_split() -> None:
    (x_train, y_train), (x_test, y_test) = datasets.load("mnist1d")
    assert x_train.shape == (4000, 40, 1) and x_test.shape == (1000, 40, 1) and x_train.dtype == np.float32
    assert y_test.shape == (1000,) and np.bincount(y_train, minlength=10).min() > 300
    assert abs(float(np.concatenate([x_train, x_test]).std()) - 1.0) < 1e-3  # the generator standardizes
