"""`convscope.keras.datasets` cifar100, boston_housing, california_housing, imdb and reuters:
Keras's numbers on stand-in files of the real formats (fixtures written by
make_keras_datasets_fixtures.py), safe loading, clear errors, and downloads from a local server."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import shutil
import sys
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from convscope import datasets
from convscope.data import cifar100 as cifar100_files
from convscope.data.integrity import IntegrityError
from convscope.data.remote_files import REMOTE_FILES
from convscope.data.restricted_pickle import DatasetFileError
from convscope.keras.datasets import boston_housing, california_housing, cifar100, imdb, reuters

sys.path.insert(0, str(Path(__file__).parent))
from keras_datasets_cases import (  # noqa: E402
    BOSTON_CASES,
    CALIFORNIA_CASES,
    CIFAR100_CASES,
    EXPECTED_ARRAYS,
    EXPECTED_SEQUENCES,
    IMDB_CASES,
    REUTERS_CASES,
    STAND_INS,
)

EXPECTED = np.load(EXPECTED_ARRAYS)
SEQUENCES = json.loads(EXPECTED_SEQUENCES.read_text(encoding="utf-8"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def trust_stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Expect the stand-ins' hashes instead of the published ones (the loaders check every file)."""
    for name, remote in REMOTE_FILES.items():
        path = STAND_INS / name
        monkeypatch.setitem(REMOTE_FILES, name, replace(remote, digest=_md5(path) if remote.algorithm == "md5"
                                                          else _sha256(path)))
    monkeypatch.setattr(cifar100_files, "TARBALL_SHA256", _sha256(STAND_INS / cifar100_files.TARBALL))


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache and no CONVSCOPE_DATA_DIR; returns the cache folder."""
    monkeypatch.setenv("CONVSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CONVSCOPE_DATA_DIR", raising=False)
    return tmp_path / "cache"


def _assert_split(prefix: str, result: Any) -> None:
    (x_train, y_train), (x_test, y_test) = result
    for name, actual in (("x_train", x_train), ("y_train", y_train), ("x_test", x_test), ("y_test", y_test)):
        expected = EXPECTED[f"{prefix}_{name}"]
        assert actual.dtype == expected.dtype and actual.shape == expected.shape, f"{prefix}_{name}"
        np.testing.assert_array_equal(actual, expected)


def test_the_download_urls_and_hashes_are_keras_s() -> None:
    ours = {remote.base_url + remote.name: remote.digest for remote in REMOTE_FILES.values()}
    ours[datasets.DATASETS["cifar100"].mirrors[0] + cifar100_files.TARBALL] = cifar100_files.TARBALL_SHA256
    assert ours == SEQUENCES["keras_downloads"]


@pytest.mark.parametrize("case", CIFAR100_CASES)
def test_cifar100_matches_keras(case: str, trust_stand_ins: None, isolated: Path) -> None:
    _assert_split(f"cifar100_{case}", cifar100.load_data(path=str(STAND_INS), **CIFAR100_CASES[case]))


def test_cifar100_from_an_extracted_folder_and_through_datasets_load(tmp_path: Path, isolated: Path) -> None:
    with tarfile.open(STAND_INS / cifar100_files.TARBALL) as archive:
        archive.extractall(tmp_path, filter="data")
    (x_train, y_train), (x_test, y_test) = datasets.load("cifar100", path=tmp_path, download=False)
    np.testing.assert_array_equal(x_train, EXPECTED["cifar100_fine_x_train"])
    np.testing.assert_array_equal(y_train, EXPECTED["cifar100_fine_y_train"][:, 0])  # 1-D, as load() gives
    assert datasets.class_names("cifar100")[:3] == ["apple", "aquarium_fish", "baby"]
    assert len(datasets.class_names("cifar100")) == 100 and datasets.class_names("cifar100")[-1] == "worm"


@pytest.mark.parametrize("case", BOSTON_CASES)
def test_boston_housing_matches_keras(case: str, trust_stand_ins: None, isolated: Path) -> None:
    _assert_split(f"boston_{case}", boston_housing.load_data(STAND_INS / "boston_housing.npz", **BOSTON_CASES[case]))


@pytest.mark.parametrize("case", CALIFORNIA_CASES)
def test_california_housing_matches_keras(case: str, trust_stand_ins: None, isolated: Path) -> None:
    result = california_housing.load_data(path=str(STAND_INS / "california_housing.npz"), **CALIFORNIA_CASES[case])
    _assert_split(f"california_{case}", result)


def _assert_sequences(key: str, result: Any) -> None:
    expected = SEQUENCES[key]
    (x_train, y_train), (x_test, y_test) = result
    assert x_train.dtype == np.dtype(expected["x_dtype"]) and list(x_train.shape) == expected["x_shape"]
    assert y_train.dtype == np.dtype(expected["y_dtype"])
    assert type(x_train[0]).__name__ == expected["element_type"] and type(x_train[0][0]).__name__ == expected["word_type"]
    assert [list(x) for x in x_train] == expected["x_train"] and [list(x) for x in x_test] == expected["x_test"]
    assert y_train.tolist() == expected["y_train"] and y_test.tolist() == expected["y_test"]


@pytest.mark.parametrize("case", IMDB_CASES)
def test_imdb_matches_keras(case: str, trust_stand_ins: None, isolated: Path) -> None:
    _assert_sequences(f"imdb_{case}", imdb.load_data(path=str(STAND_INS / "imdb.npz"), **IMDB_CASES[case]))


@pytest.mark.parametrize("case", REUTERS_CASES)
def test_reuters_matches_keras(case: str, trust_stand_ins: None, isolated: Path) -> None:
    _assert_sequences(f"reuters_{case}", reuters.load_data(path=str(STAND_INS / "reuters.npz"), **REUTERS_CASES[case]))


def test_word_indexes_and_label_names_match_keras(trust_stand_ins: None, isolated: Path) -> None:
    assert imdb.get_word_index(STAND_INS / "imdb_word_index.json") == SEQUENCES["imdb_word_index"]
    assert reuters.get_word_index(str(STAND_INS)) == SEQUENCES["reuters_word_index"]  # a folder holding it
    assert list(reuters.get_label_names()) == SEQUENCES["reuters_label_names"]


def test_a_bare_file_name_is_looked_for_in_the_data_dir(trust_stand_ins: None, isolated: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data" / "imdb").mkdir(parents=True)
    shutil.copy(STAND_INS / "imdb.npz", tmp_path / "data" / "imdb" / "imdb.npz")
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(tmp_path / "data"))
    _assert_sequences("imdb_default", imdb.load_data())
    with pytest.raises(datasets.DatasetNotFoundError, match="reuters.npz") as caught:
        from convscope.data.word_sequences import load_reuters

        load_reuters(download=False)
    assert str(tmp_path / "data" / "reuters" / "reuters.npz") in str(caught.value)
    assert str(isolated / "reuters" / "reuters.npz") in str(caught.value)


def test_bad_arguments_are_refused_as_keras_does(trust_stand_ins: None, isolated: Path) -> None:
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data(label_mode="medium", path=str(STAND_INS))
    with pytest.raises(ValueError, match="test_split"):
        boston_housing.load_data(STAND_INS / "boston_housing.npz", test_split=1.0)
    with pytest.raises(ValueError, match="version"):
        california_housing.load_data("medium", STAND_INS / "california_housing.npz")
    with pytest.raises(ValueError, match="maxlen=3"):
        imdb.load_data(STAND_INS / "imdb.npz", maxlen=3)


# -- safety and corrupt files ------------------------------------------------------------------


class _Gadget:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (print, ("a pickle ran code",))


def test_a_pickle_naming_a_function_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with tarfile.open(tmp_path / cifar100_files.TARBALL, "w:gz") as archive:
        for name in ("train", "test"):
            content = pickle.dumps({b"data": _Gadget(), b"fine_labels": [1]})
            info = tarfile.TarInfo(f"cifar-100-python/{name}")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    with pytest.raises(DatasetFileError, match=r"cifar-100-python/train.*refusing to load `builtins.print`"):
        cifar100_files.read_tarball(tmp_path / cifar100_files.TARBALL, expected_sha256=_sha256(
            tmp_path / cifar100_files.TARBALL))
    gadgets = np.empty(2, dtype=object)
    gadgets[0], gadgets[1] = [1, 2], _Gadget()
    np.savez(tmp_path / "imdb.npz", x_train=gadgets, y_train=np.zeros(2), x_test=gadgets, y_test=np.zeros(2))
    from convscope.data.restricted_pickle import load_npz

    with pytest.raises(DatasetFileError, match=r"imdb.npz:x_train.npy.*builtins.print"):
        load_npz(tmp_path / "imdb.npz")
    assert "a pickle ran code" not in capsys.readouterr().out


def test_a_truncated_file_is_refused_naming_it(tmp_path: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    truncated = tmp_path / "imdb.npz"
    truncated.write_bytes((STAND_INS / "imdb.npz").read_bytes()[:900])
    with pytest.raises(IntegrityError, match=rf"{truncated}: content does not match the published SHA256"):
        imdb.load_data(truncated)  # Keras's hash first
    monkeypatch.setitem(REMOTE_FILES, "imdb.npz", replace(REMOTE_FILES["imdb.npz"], digest=_sha256(truncated)))
    with pytest.raises(DatasetFileError, match=rf"{truncated}: is not a readable .npz archive"):
        imdb.load_data(truncated)  # a file whose hash is trusted but whose content is broken
    broken_tar = tmp_path / cifar100_files.TARBALL
    broken_tar.write_bytes((STAND_INS / cifar100_files.TARBALL).read_bytes()[:5000])
    with pytest.raises(DatasetFileError, match=rf"{broken_tar}: is not a readable tar.gz archive"):
        cifar100_files.read_tarball(broken_tar, expected_sha256=_sha256(broken_tar))
    with zipfile.ZipFile(tmp_path / "boston_housing.npz", "w") as archive:
        archive.writestr("x.npy", b"\x93NUMPY not an array")
    monkeypatch.setitem(REMOTE_FILES, "boston_housing.npz", replace(
        REMOTE_FILES["boston_housing.npz"], digest=_sha256(tmp_path / "boston_housing.npz")))
    with pytest.raises(DatasetFileError, match=r"boston_housing.npz: is not a readable numeric .npz"):
        boston_housing.load_data(tmp_path / "boston_housing.npz")


# -- downloads ---------------------------------------------------------------------------------


def test_keras_loaders_download_into_the_cache_then_load_offline(
        http_root: tuple[Path, str], trust_stand_ins: None, isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    www, base = http_root[0], http_root[1] + "/"
    for name in ("reuters.npz", "reuters_word_index.json"):
        shutil.copy(STAND_INS / name, www / name)
        monkeypatch.setitem(REMOTE_FILES, name, replace(REMOTE_FILES[name], base_url=base))
    _assert_sequences("reuters_default", reuters.load_data())  # Keras's own call: downloads
    assert reuters.get_word_index() == SEQUENCES["reuters_word_index"]
    assert sorted(path.name for path in (isolated / "reuters").iterdir()) == ["reuters.npz", "reuters_word_index.json"]
    (www / "reuters.npz").unlink()
    _assert_sequences("reuters_default", reuters.load_data())  # from the cache


def test_a_download_with_another_hash_is_refused_and_leaves_nothing(
        http_root: tuple[Path, str], isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    www, base = http_root[0], http_root[1] + "/"
    shutil.copy(STAND_INS / "boston_housing.npz", www / "boston_housing.npz")  # not Keras's file: its hash differs
    remote = REMOTE_FILES["boston_housing.npz"]
    monkeypatch.setitem(REMOTE_FILES, "boston_housing.npz", replace(remote, base_url=base))
    with pytest.raises(datasets.DatasetNotFoundError) as caught:
        boston_housing.load_data()
    message = str(caught.value)
    assert f"download {base}boston_housing.npz: refused" in message
    assert f"expected {remote.digest}, got {_sha256(STAND_INS / 'boston_housing.npz')}" in message
    assert list((isolated / "boston_housing").iterdir()) == []  # no file, no partial download


def test_cifar100_downloads_the_verified_tarball(http_root: tuple[Path, str], trust_stand_ins: None,
                                                 isolated: Path) -> None:
    www, base = http_root[0], http_root[1] + "/"
    shutil.copy(STAND_INS / cifar100_files.TARBALL, www / cifar100_files.TARBALL)
    (x_train, y_train), _ = datasets.load("cifar100", mirrors=[base], progress=False)
    np.testing.assert_array_equal(x_train, EXPECTED["cifar100_fine_x_train"])
    assert [path.name for path in (isolated / "cifar100").iterdir()] == [cifar100_files.TARBALL]
    (www / cifar100_files.TARBALL).unlink()
    _assert_split("cifar100_coarse", cifar100.load_data("coarse"))  # offline, from the cache


# -- the classic IMDB convnet on a stand-in -----------------------------------------------------


def _synthetic_imdb(path: Path) -> None:
    """Reviews of ranks 1..40 where a positive review holds rank 7 and a negative one rank 8."""
    rng = np.random.RandomState(0)

    def reviews(count: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.randint(0, 2, count).astype(np.int64)
        sequences = np.empty(count, dtype=object)
        for index, label in enumerate(labels):
            words = [int(w) for w in rng.choice([w for w in range(1, 41) if w not in (7, 8)], rng.randint(6, 20))]
            words.insert(rng.randint(0, len(words)), 7 if label else 8)
            sequences[index] = words
        return sequences, labels

    (x_train, y_train), (x_test, y_test) = reviews(256), reviews(64)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def test_the_keras_imdb_convnet_learns_a_stand_in(tmp_path: Path, isolated: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import convscope.keras as keras
    from convscope.keras import layers
    from convscope.keras.utils import pad_sequences

    _synthetic_imdb(tmp_path / "imdb.npz")
    monkeypatch.setitem(REMOTE_FILES, "imdb.npz", replace(REMOTE_FILES["imdb.npz"], digest=_sha256(tmp_path / "imdb.npz")))
    (x_train, y_train), (x_test, y_test) = imdb.load_data(tmp_path / "imdb.npz", num_words=30)
    # num_words=30 keeps the marker words (7 + 3, 8 + 3) and turns ranks 27-40 into oov_char 2
    x_train, x_test = pad_sequences(x_train, maxlen=24), pad_sequences(x_test, maxlen=24)
    assert x_train.shape == (256, 24) and x_train.max() < 30
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((24,)),
        layers.Embedding(30, 16),
        layers.Conv1D(16, 3, activation="relu"),
        layers.GlobalMaxPooling1D(),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=15, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.95
