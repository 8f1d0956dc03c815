"""Downloads against a local HTTP server on 127.0.0.1: good, truncated and wrong files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from convscope import datasets
from convscope.data.download import DownloadError, download
from convscope.data.integrity import known_checksums


def _serve(www: Path, name: str, source: Path) -> None:
    (www / name).mkdir(parents=True, exist_ok=True)
    for file in source.iterdir():
        shutil.copy(file, www / name / file.name)


def _cache_files(name: str) -> list[Path]:
    folder = datasets.cache_dir() / name
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_download_fills_the_cache_then_loads_offline(http_root, tiny_idx, trust_tiny, no_data_dir: None,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    www, base = http_root
    folder, arrays, hashes = tiny_idx
    trust_tiny(hashes)
    _serve(www, "good", folder)
    (x_train, y_train), (x_test, _) = datasets.load("mnist", mirrors=[f"{base}/good/"])
    np.testing.assert_array_equal(x_train[..., 0], arrays["x_train"])
    assert [path.name for path in _cache_files("mnist")] == sorted(f"{raw}.gz" for raw in hashes)
    assert "Downloading http://127.0.0.1" in capsys.readouterr().err  # progress on stderr
    (again, _), _ = datasets.load("mnist", download=False)  # now from the cache, no network
    np.testing.assert_array_equal(again, x_train)


def test_a_truncated_mirror_is_skipped_for_the_next_one(http_root, tiny_idx, trust_tiny, no_data_dir: None) -> None:
    www, base = http_root
    folder, arrays, hashes = tiny_idx
    trust_tiny(hashes)
    _serve(www, "truncated", folder)
    for file in (www / "truncated").iterdir():
        file.write_bytes(file.read_bytes()[: len(file.read_bytes()) // 2])
    _serve(www, "good", folder)
    (_, y_train), _ = datasets.load("mnist", mirrors=[f"{base}/truncated", f"{base}/good"], progress=False)
    np.testing.assert_array_equal(y_train, arrays["y_train"])


def test_wrong_and_truncated_files_never_enter_the_cache(http_root, tiny_idx, no_data_dir: None) -> None:
    www, base = http_root
    folder, _, hashes = tiny_idx  # valid IDX files, but not MNIST: the published hashes refuse them
    _serve(www, "wrong", folder)
    _serve(www, "truncated", folder)
    for file in (www / "truncated").iterdir():
        file.write_bytes(file.read_bytes()[:-9])
    mirrors = [f"{base}/wrong/", f"{base}/truncated/", f"{base}/missing/"]
    with pytest.raises(datasets.DatasetNotFoundError) as caught:
        datasets.load("mnist", mirrors=mirrors, progress=False)
    message = str(caught.value)
    first = "train-images-idx3-ubyte"
    expected = known_checksums("mnist")[first]
    assert f"download {base}/wrong/{first}.gz: refused" in message
    assert f"expected {expected}, got {hashes[first]}" in message
    assert f"download {base}/truncated/{first}.gz: refused" in message and "cannot be decompressed" in message
    assert f"download {base}/missing/{first}.gz: HTTP Error 404" in message
    assert f"user cache: {datasets.cache_dir() / 'mnist'}" in message
    assert _cache_files("mnist") == []  # nothing kept, not even a partial file


def test_offline_download_error_lists_each_mirror(no_data_dir: None) -> None:
    closed = "http://127.0.0.1:9/"  # the discard port: nothing listens
    with pytest.raises(datasets.DatasetNotFoundError) as caught:
        datasets.load("mnist", mirrors=[closed], progress=False)
    message = str(caught.value)
    assert f"download {closed}train-images-idx3-ubyte.gz:" in message and "Connection refused" in message
    assert "CONVSCOPE_DATA_DIR" in message and "path='/folder/with/the/files'" in message


def test_download_refuses_a_short_body(tmp_path: Path) -> None:
    import http.server
    import threading

    class ShortBody(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 100)  # then the connection closes

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), ShortBody)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    with pytest.raises(DownloadError, match=r"file\.bin: connection closed after 100 of 1000 bytes"):
        download("file.bin", [url], tmp_path / "file.bin", lambda path: None, progress=False)
    thread.join(timeout=5)
    server.server_close()
    assert list(tmp_path.iterdir()) == []
