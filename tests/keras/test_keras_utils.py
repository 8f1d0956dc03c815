"""keras.utils's sequence, timeseries, split, download and progress-bar functions against what
real Keras 3 gives (fixtures from make_keras_utils_fixtures.py)."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import random
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from keras_utils_cases import PAD_CASES, PAD_SEQUENCES, PROGBAR_CASES, SPLIT_CASES, TIMESERIES_CASES

import convscope.keras as keras
from convscope.data import DownloadError, IntegrityError
from convscope.data import progbar as progbar_module
from convscope.data.pipeline import Dataset

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = np.load(FIXTURES / "keras_utils.npz")
PRINTED = json.loads((FIXTURES / "keras_utils.json").read_text(encoding="utf-8"))["progbar"]


# -- pad_sequences

@pytest.mark.parametrize("case", sorted(PAD_CASES))
def test_pad_sequences_matches_keras(case: str) -> None:
    padded = keras.utils.pad_sequences(PAD_SEQUENCES, **PAD_CASES[case])
    expected = REFERENCE[f"pad/{case}"]
    assert padded.dtype == expected.dtype
    np.testing.assert_array_equal(padded, expected)


def test_pad_sequences_is_reachable_as_keras_preprocessing_sequence() -> None:
    padded = keras.preprocessing.sequence.pad_sequences([[1, 2], [3]], maxlen=3, padding="post")
    np.testing.assert_array_equal(padded, [[1, 2, 0], [3, 0, 0]])


def test_pad_sequences_keeps_step_shape() -> None:
    padded = keras.utils.pad_sequences([np.ones((2, 3)), np.full((1, 3), 2.0)], dtype="float32")
    assert padded.shape == (2, 2, 3)
    np.testing.assert_array_equal(padded[1], [[0, 0, 0], [2, 2, 2]])


@pytest.mark.parametrize(("arguments", "named"), [
    ({"padding": "middle"}, "`padding`"), ({"truncating": "both"}, "`truncating`"),
    ({"value": "x"}, "`dtype`"), ({"maxlen": -1}, "`maxlen`")])
def test_pad_sequences_errors_name_the_argument(arguments: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        keras.utils.pad_sequences([[1, 2], [3]], **arguments)


def test_pad_sequences_refuses_a_non_sequence_element() -> None:
    with pytest.raises(ValueError, match="element 1 is 5"):
        keras.utils.pad_sequences([[1], 5])


# -- timeseries_dataset_from_array

@pytest.mark.parametrize("case", sorted(TIMESERIES_CASES))
def test_timeseries_windows_match_keras(case: str) -> None:
    data, targets, arguments = TIMESERIES_CASES[case]
    dataset = keras.utils.timeseries_dataset_from_array(data, targets, **arguments)
    elements = list(dataset.as_numpy_iterator())
    if arguments.get("batch_size", 128) is None:
        elements = [tuple(np.stack(column) for column in zip(*elements))]
    else:
        expected_sizes = REFERENCE[f"timeseries/{case}/batch_sizes"]
        sizes = [len(element[0] if targets is not None else element) for element in elements]
        assert sizes == expected_sizes.tolist()
    windows = np.concatenate([element[0] if targets is not None else element for element in elements])
    expected = REFERENCE[f"timeseries/{case}/windows"]
    assert windows.dtype == expected.dtype
    np.testing.assert_array_equal(windows, expected)
    if targets is not None:
        np.testing.assert_array_equal(np.concatenate([element[1] for element in elements]),
                                      REFERENCE[f"timeseries/{case}/targets"])


def test_timeseries_shuffle_draws_keras_start_order_then_reshuffles() -> None:
    series = np.arange(50)
    dataset = keras.utils.timeseries_dataset_from_array(series, series * 10, sequence_length=4, batch_size=None,
                                                        shuffle=True, seed=3)
    starts = np.arange(47, dtype="int32")
    np.random.RandomState(3).shuffle(starts)  # what Keras draws for the start positions
    first = [int(window[0]) for window, _ in dataset]  # iterating ends the pass: a new order
    assert first == starts.tolist()
    second = [(int(window[0]), int(target)) for window, target in dataset]
    assert sorted(start for start, _ in second) == list(range(47)) and [s for s, _ in second] != first
    assert all(target == 10 * start for start, target in second)


@pytest.mark.parametrize(("arguments", "named"), [
    ({"sequence_length": 0}, "`sequence_length`"), ({"sequence_stride": 0}, "`sequence_stride`"),
    ({"sampling_rate": -1}, "`sampling_rate`"), ({"sampling_rate": 30}, "`sampling_rate`"),
    ({"batch_size": 0}, "`batch_size`"), ({"start_index": 30}, "`start_index`"),
    ({"start_index": 10, "end_index": 5}, "`end_index`"), ({"end_index": 30}, "`end_index`")])
def test_timeseries_errors_name_the_argument(arguments: dict, named: str) -> None:
    arguments = {"sequence_length": 3, **arguments}
    with pytest.raises(ValueError, match=named):
        keras.utils.timeseries_dataset_from_array(np.arange(30), None, **arguments)


def test_conv1d_model_trains_on_a_timeseries_dataset() -> None:
    keras.utils.set_random_seed(0)
    steps = np.arange(600)
    signal = np.stack([np.sin(steps / 6), np.cos(steps / 9)], axis=1).astype("float32")  # (600, 2)
    labels = (signal[:, 0] > 0).astype("int64")
    window = 16
    # the label of the step after each window: known from the window's last steps
    train = keras.utils.timeseries_dataset_from_array(signal[:-window], labels[window:], sequence_length=window,
                                                      batch_size=32, shuffle=True, seed=1, end_index=400)
    validation = keras.utils.timeseries_dataset_from_array(signal[:-window], labels[window:], sequence_length=window,
                                                           batch_size=64, start_index=400)
    x_batch, y_batch = train[0]
    assert x_batch.shape == (32, window, 2) and y_batch.shape == (32,)
    model = keras.Sequential([keras.Input((window, 2)), keras.layers.Conv1D(8, 5, activation="relu"),
                              keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(train, validation_data=validation, epochs=6, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_accuracy"][-1] > 0.8
    predictions = model.predict(keras.utils.timeseries_dataset_from_array(signal, None, sequence_length=window,
                                                                          batch_size=50), verbose=0)
    assert predictions.shape == (600 - window + 1, 2)


# -- split_dataset

def _columns(split: Dataset) -> list[np.ndarray]:
    samples = list(split.as_numpy_iterator())
    if isinstance(samples[0], tuple):
        return [np.stack(column) for column in zip(*samples)]
    return [np.stack(samples)]


@pytest.mark.parametrize("case", sorted(SPLIT_CASES))
def test_split_dataset_matches_keras(case: str) -> None:
    dataset, arguments = SPLIT_CASES[case]
    left, right = keras.utils.split_dataset(dataset, **arguments)
    for side, split in (("left", left), ("right", right)):
        for k, column in enumerate(_columns(split)):
            expected = REFERENCE[f"split/{case}/{side}/{k}"]
            assert column.dtype == expected.dtype
            np.testing.assert_array_equal(column, expected)


def test_split_dataset_of_a_batched_dataset_is_batched_alike() -> None:
    x, y = np.arange(50, dtype="float32").reshape(25, 2), np.arange(25)
    left, right = keras.utils.split_dataset(Dataset.from_tensor_slices((x, y)).batch(4), left_size=0.6)
    assert [len(batch[0]) for batch in left] == [4, 4, 4, 3]
    assert [len(batch[0]) for batch in right] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([batch[1] for batch in right]), np.arange(15, 25))


def test_split_dataset_shuffle_is_fixed_once_and_seeded_like_python_random() -> None:
    x = np.arange(12)
    left, right = keras.utils.split_dataset(x, left_size=5, shuffle=True, seed=11)
    order = list(range(12))
    random.Random(11).shuffle(order)
    assert [int(v) for v in left] == order[:5] and [int(v) for v in right] == order[5:]
    assert [int(v) for v in left] == [int(v) for v in left]  # a second pass reads the same split


@pytest.mark.parametrize(("arguments", "error", "named"), [
    ({}, ValueError, "`left_size` or `right_size`"), ({"left_size": 1.5}, ValueError, "`left_size`"),
    ({"right_size": 10}, ValueError, "`right_size`"), ({"left_size": "half"}, TypeError, "`left_size`"),
    ({"left_size": 0.7, "right_size": 0.5}, ValueError, "`left_size` \\+ `right_size`"),
    ({"left_size": 6, "right_size": 6}, ValueError, "`left_size` \\+ `right_size`"),
    ({"left_size": 0.01}, ValueError, "left split empty")])
def test_split_dataset_errors_name_the_argument(arguments: dict, error: type, named: str) -> None:
    with pytest.raises(error, match=named):
        keras.utils.split_dataset(np.arange(10), **arguments)


def test_split_dataset_refuses_arrays_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="array 1 has 3 rows"):
        keras.utils.split_dataset((np.zeros(4), np.zeros(3)), left_size=2)


# -- Progbar

class Clock:
    """time.time() advancing by `tick` seconds at each reading (as the fixtures were made)."""

    def __init__(self, tick: float) -> None:
        self.now, self.tick = 1000.0, tick

    def time(self) -> float:
        self.now += self.tick
        return self.now


@pytest.mark.parametrize("case", sorted(PROGBAR_CASES))
def test_progbar_prints_what_keras_prints(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    arguments, steps, tick = PROGBAR_CASES[case]
    monkeypatch.setattr(progbar_module, "time", Clock(tick))
    out = io.StringIO()
    with redirect_stdout(out):
        bar = keras.utils.Progbar(**arguments)
        for method, count, values in steps:
            getattr(bar, method)(count, [tuple(pair) for pair in values])
    assert out.getvalue() == PRINTED[case]


def test_progbar_silent_and_errors() -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        bar = keras.utils.Progbar(3, verbose=0)
        bar.add(3, [("loss", 1.0)])
    assert out.getvalue() == ""
    for arguments, named in (({"target": -1}, "`target`"), ({"target": 3, "width": 0}, "`width`"),
                             ({"target": 3, "verbose": 3}, "`verbose`")):
        with pytest.raises(ValueError, match=named):
            keras.utils.Progbar(**arguments)


# -- get_file

@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server (127.0.0.1) over a folder: (base URL, folder)."""
    folder = tmp_path / "served"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


def test_get_file_downloads_once_into_the_cache_and_checks_the_hash(
        served: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, folder = served
    content = bytes(range(256)) * 40
    (folder / "signal.bin").write_bytes(content)
    sha256 = hashlib.sha256(content).hexdigest()
    cache = tmp_path / "cache"
    path = keras.utils.get_file(origin=f"{base}/signal.bin", file_hash=sha256, cache_dir=cache)
    assert path == str(cache / "datasets" / "signal.bin")
    assert Path(path).read_bytes() == content
    printed = capsys.readouterr().out
    assert printed.startswith(f"Downloading data from {base}/signal.bin\n") and "10240/10240" in printed
    (folder / "signal.bin").write_bytes(b"changed on the server")
    again = keras.utils.get_file("signal.bin", f"{base}/signal.bin", md5_hash=hashlib.md5(content).hexdigest(),
                                 cache_dir=cache)
    assert Path(again).read_bytes() == content  # cached and intact: not fetched again
    assert "Downloading" not in capsys.readouterr().out


def test_get_file_refuses_a_download_whose_hash_differs(served: tuple[str, Path], tmp_path: Path) -> None:
    base, folder = served
    (folder / "weights.bin").write_bytes(b"truncated")
    with pytest.raises(IntegrityError, match="SHA256"):
        keras.utils.get_file(origin=f"{base}/weights.bin", file_hash="0" * 64, cache_dir=tmp_path)
    assert not (tmp_path / "datasets" / "weights.bin").exists()
    assert [p.name for p in (tmp_path / "datasets").iterdir()] == []  # no temporary file left either


def test_get_file_redownloads_a_corrupted_cached_file(served: tuple[str, Path], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    base, folder = served
    (folder / "data.csv").write_text("a,b\n1,2\n")
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "data.csv").write_text("a,b\n1,")
    digest = hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    path = keras.utils.get_file(origin=f"{base}/data.csv", file_hash=digest, cache_dir=tmp_path)
    assert Path(path).read_text() == "a,b\n1,2\n"
    assert "so we will re-download the data" in capsys.readouterr().out


def test_get_file_uses_keras_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("hello")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    path = keras.utils.get_file(origin=source.as_uri(), cache_subdir="texts")
    assert path == str(tmp_path / "keras_home" / "texts" / "notes.txt")


def test_get_file_extracts_archives_with_keras_folder_names(tmp_path: Path) -> None:
    archive = tmp_path / "flowers.tgz"
    member = tmp_path / "daisy.txt"
    member.write_text("petal")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(member, arcname="flower_photos/daisy.txt")
    folder = keras.utils.get_file(origin=archive.as_uri(), extract=True, cache_dir=tmp_path / "cache")
    assert folder == str(tmp_path / "cache" / "datasets" / "flowers.tgz")
    assert (Path(folder) / "flower_photos" / "daisy.txt").read_text() == "petal"
    assert (tmp_path / "cache" / "datasets" / "flowers.tgz_archive").is_file()
    zipped = tmp_path / "bundle.zip"
    with zipfile.ZipFile(zipped, "w") as handle:
        handle.writestr("inner/a.txt", "zip content")
    named = keras.utils.get_file("bundle.zip", zipped.as_uri(), extract=True, cache_dir=tmp_path / "cache")
    assert named == str(tmp_path / "cache" / "datasets" / "bundle_extracted")
    assert (Path(named) / "inner" / "a.txt").read_text() == "zip content"


def test_get_file_extraction_skips_paths_escaping_the_folder(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar"
    payload = tmp_path / "payload.txt"
    payload.write_text("x")
    with tarfile.open(archive, "w") as tar:
        tar.add(payload, arcname="../escaped.txt")
        tar.add(payload, arcname="kept.txt")
        link = tarfile.TarInfo("link_out")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    zipped = tmp_path / "evil.zip"
    with zipfile.ZipFile(zipped, "w") as handle:
        handle.writestr("../zip_escaped.txt", "x")
        handle.writestr("zip_kept.txt", "x")
    cache = tmp_path / "cache"
    with pytest.warns(UserWarning, match="Skipping invalid path"):
        folder = Path(keras.utils.get_file(origin=archive.as_uri(), untar=True, cache_dir=cache))
    assert (folder / "kept.txt").is_file() and not (folder / "link_out").exists()
    assert not (cache / "datasets" / "escaped.txt").exists()
    with pytest.warns(UserWarning, match="zip_escaped"):
        zip_folder = Path(keras.utils.get_file(origin=zipped.as_uri(), extract=True, cache_dir=cache))
    assert (zip_folder / "zip_kept.txt").is_file() and not (cache / "datasets" / "zip_escaped.txt").exists()


def test_get_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="`origin`"):
        keras.utils.get_file("x.txt", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="`fname`"):
        keras.utils.get_file("sub/x.txt", origin="file:///nowhere", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="`hash_algorithm`"):
        keras.utils.get_file(origin="file:///nowhere/x.txt", file_hash="ab", hash_algorithm="sha1",
                             cache_dir=tmp_path)
    with pytest.raises(DownloadError, match="missing.txt"):
        keras.utils.get_file(origin=(tmp_path / "missing.txt").as_uri(), cache_dir=tmp_path)
    assert not (tmp_path / "datasets" / "missing.txt").exists()
