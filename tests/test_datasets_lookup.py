"""Where the loader looks for files, in which order, and the verified download into the cache.

Every test runs with HOME and the cache in tmp_path, NUMPYVAE_DATA unset and the network
replaced by a fetch that fails, unless the test installs its own.
"""

import dataclasses
import gzip
import hashlib
import os
import struct
import urllib.error

import numpy as np
import pytest

from numpyvae.datasets import DatasetNotFoundError, cache_dir, find_dataset_files, load_dataset
from numpyvae.datasets import download, registry

REAL_FETCH = download.fetch_url          # taken before any test replaces it

MNIST_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def idx_bytes(array):
    array = np.asarray(array, dtype=np.uint8)
    return (bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            + array.tobytes())


def tiny_mnist_contents(marker, n_train=3, n_test=2):
    """Uncompressed IDX content of a tiny MNIST whose pixels all equal ``marker``."""
    return {
        "train_images": idx_bytes(np.full((n_train, 28, 28), marker)),
        "train_labels": idx_bytes(np.arange(n_train) % 10),
        "test_images": idx_bytes(np.full((n_test, 28, 28), marker)),
        "test_labels": idx_bytes(np.arange(n_test) % 10),
    }


def write_tiny_mnist(folder, marker, compress=True, roles=tuple(MNIST_NAMES)):
    folder.mkdir(parents=True, exist_ok=True)
    for role, content in tiny_mnist_contents(marker).items():
        if role in roles:
            name = MNIST_NAMES[role] + (".gz" if compress else "")
            (folder / name).write_bytes(gzip.compress(content) if compress else content)
    return folder


def marker_of(data):
    """The pixel value the tiny files were filled with."""
    return int(round(data.x[0, 0] * 255))


def load_tiny(**kwargs):
    return load_dataset("mnist", "test", verify=False, **kwargs)


class Offline:
    """A fetch that fails like a machine without network, counting its calls."""

    def __init__(self):
        self.urls = []

    def __call__(self, url):
        self.urls.append(url)
        raise urllib.error.URLError("network disabled in tests")


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("NUMPYVAE_DATA", raising=False)
    offline = Offline()
    monkeypatch.setattr(download, "fetch_url", offline)
    return offline


# ---------------------------------------------------------------- lookup order

def test_cache_dir_honours_home_and_xdg(monkeypatch, tmp_path):
    assert cache_dir() == tmp_path / "home" / ".cache" / "numpyvae"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "numpyvae"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")    # ignored, as the XDG spec says
    assert cache_dir() == tmp_path / "home" / ".cache" / "numpyvae"


def test_argument_beats_env_var_beats_cache(monkeypatch, tmp_path):
    write_tiny_mnist(tmp_path / "arg" / "mnist", marker=11)
    write_tiny_mnist(tmp_path / "env" / "mnist", marker=22)
    write_tiny_mnist(tmp_path / "home" / ".cache" / "numpyvae" / "mnist", marker=33)
    monkeypatch.setenv("NUMPYVAE_DATA", str(tmp_path / "env"))
    assert marker_of(load_tiny(data_dir=tmp_path / "arg")) == 11
    assert marker_of(load_tiny()) == 22
    monkeypatch.delenv("NUMPYVAE_DATA")
    assert marker_of(load_tiny()) == 33
    write_tiny_mnist(tmp_path / "xdg" / "numpyvae" / "mnist", marker=44)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert marker_of(load_tiny()) == 44


def test_files_directly_in_folder_or_in_subfolder(tmp_path):
    write_tiny_mnist(tmp_path / "flat", marker=5, compress=False)
    assert marker_of(load_tiny(data_dir=tmp_path / "flat")) == 5
    write_tiny_mnist(tmp_path / "nested" / "mnist", marker=6)
    assert marker_of(load_tiny(data_dir=str(tmp_path / "nested"))) == 6


def test_incomplete_folder_is_skipped_for_the_next_one(monkeypatch, tmp_path):
    write_tiny_mnist(tmp_path / "env", marker=1, roles=("test_images",))
    write_tiny_mnist(tmp_path / "home" / ".cache" / "numpyvae" / "mnist", marker=2)
    monkeypatch.setenv("NUMPYVAE_DATA", str(tmp_path / "env"))
    assert marker_of(load_tiny()) == 2


def test_an_explicit_data_dir_is_a_pin_never_a_fallback(monkeypatch, tmp_path, isolated):
    write_tiny_mnist(tmp_path / "arg" / "mnist", marker=1, roles=("test_images",))
    write_tiny_mnist(tmp_path / "env", marker=2)                     # complete, but not the folder asked for
    write_tiny_mnist(tmp_path / "home" / ".cache" / "numpyvae" / "mnist", marker=3)
    monkeypatch.setenv("NUMPYVAE_DATA", str(tmp_path / "env"))
    with pytest.raises(DatasetNotFoundError) as info:
        load_tiny(data_dir=tmp_path / "arg")
    message = str(info.value)
    assert f"data_dir (--data-dir), {tmp_path / 'arg'}, lacks the MNIST files" in message
    assert "t10k-labels-idx1-ubyte" in message and "missing" in message and "has t10k-images" in message
    assert str(tmp_path / "env") not in message and "leave out --data-dir" in message
    assert isolated.urls == []                                        # and no download either
    with pytest.raises(DatasetNotFoundError, match="lacks the MNIST files"):
        find_dataset_files("mnist", "test", data_dir=tmp_path / "arg")
    assert marker_of(load_tiny()) == 2                                 # without the pin: the search order


def test_explicit_data_dir_must_exist(tmp_path):
    with pytest.raises(NotADirectoryError, match="no-such-dir"):
        load_tiny(data_dir=tmp_path / "no-such-dir")


def test_offline_without_files_is_one_clear_error(monkeypatch, tmp_path, isolated):
    write_tiny_mnist(tmp_path / "home" / ".cache" / "numpyvae", marker=1, roles=("test_images",))
    monkeypatch.setenv("NUMPYVAE_DATA", str(tmp_path / "env-missing"))
    with pytest.raises(DatasetNotFoundError) as info:
        load_tiny()
    assert isinstance(info.value, FileNotFoundError)
    message = str(info.value)
    for place in [tmp_path / "env-missing", tmp_path / "home" / ".cache" / "numpyvae"]:
        assert str(place) in message
    assert "'mnist/'" in message
    assert "t10k-labels-idx1-ubyte" in message and "missing" in message
    assert "--data-dir" in message and "NUMPYVAE_DATA" in message
    # each mirror tried once, then given up as unreachable
    assert len(isolated.urls) == len(registry.MIRRORS["mnist"])
    for url in isolated.urls:
        assert url in message


def test_download_false_does_not_fetch(isolated):
    with pytest.raises(DatasetNotFoundError, match="download=False"):
        load_tiny(download=False)
    assert isolated.urls == []


# ---------------------------------------------------------------- download

@pytest.fixture
def tiny_spec(monkeypatch):
    """MNIST spec whose checksums are those of the tiny files (marker 9), computed here."""
    contents = tiny_mnist_contents(marker=9)
    spec = registry.SPECS["mnist"]
    files = {role: dataclasses.replace(f, sha256=hashlib.sha256(contents[role]).hexdigest())
             for role, f in spec.files.items()}
    monkeypatch.setitem(registry.SPECS, "mnist", dataclasses.replace(spec, files=files))
    monkeypatch.setitem(registry.MIRRORS, "mnist", ["https://a.example/", "https://b.example/"])
    return contents


class Server:
    """A fetch serving ``files[url]``, recording every call."""

    def __init__(self, files):
        self.files, self.urls = files, []

    def __call__(self, url):
        self.urls.append(url)
        if url not in self.files:
            raise urllib.error.HTTPError(url, 404, "Not Found", None, None)
        return self.files[url]


def test_download_success_goes_to_cache_and_is_reused(monkeypatch, tiny_spec):
    server = Server({f"https://a.example/{MNIST_NAMES[r]}.gz": gzip.compress(tiny_spec[r])
                     for r in ("test_images", "test_labels")})
    monkeypatch.setattr(download, "fetch_url", server)
    data = load_dataset("mnist", "test")                    # verify=True, tiny checksums
    assert marker_of(data) == 9 and data.x.shape == (2, 784)
    saved = sorted(os.listdir(cache_dir() / "mnist"))
    assert saved == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    n_calls = len(server.urls)
    assert n_calls == 2
    load_dataset("mnist", "test")
    assert len(server.urls) == n_calls                     # served from the cache


def test_download_with_bad_checksum_is_refused_and_leaves_nothing(monkeypatch, tiny_spec):
    tampered = bytearray(tiny_spec["test_images"])
    tampered[-1] ^= 1
    server = Server({
        "https://a.example/t10k-images-idx3-ubyte.gz": gzip.compress(bytes(tampered)),
        "https://b.example/t10k-images-idx3-ubyte.gz": gzip.compress(bytes(tampered)),
    })
    monkeypatch.setattr(download, "fetch_url", server)
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("mnist", "test")
    message = str(info.value)
    assert "https://a.example/t10k-images-idx3-ubyte.gz: rejected, sha256" in message
    assert "https://b.example/t10k-images-idx3-ubyte.gz: rejected, sha256" in message
    assert not (cache_dir() / "mnist").exists()


def test_download_falls_back_to_next_mirror(monkeypatch, tiny_spec):
    server = Server({
        "https://a.example/t10k-images-idx3-ubyte.gz": b"<html>rate limited</html>",
        "https://b.example/t10k-images-idx3-ubyte.gz": gzip.compress(tiny_spec["test_images"]),
        # labels served decompressed: kept under the raw name
        "https://b.example/t10k-labels-idx1-ubyte.gz": tiny_spec["test_labels"],
    })
    monkeypatch.setattr(download, "fetch_url", server)
    assert marker_of(load_dataset("mnist", "test")) == 9
    assert sorted(os.listdir(cache_dir() / "mnist")) == [
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte"]


def test_unreachable_mirror_is_not_retried_for_later_files(monkeypatch, tiny_spec):
    served = {f"https://b.example/{MNIST_NAMES[r]}.gz": gzip.compress(tiny_spec[r])
              for r in ("test_images", "test_labels")}
    calls = []

    def fetch(url):
        calls.append(url)
        if url.startswith("https://a.example/"):
            raise urllib.error.URLError("connection refused")
        return served[url]

    monkeypatch.setattr(download, "fetch_url", fetch)
    assert marker_of(load_dataset("mnist", "test")) == 9
    assert calls == ["https://a.example/t10k-images-idx3-ubyte.gz",
                     "https://b.example/t10k-images-idx3-ubyte.gz",
                     "https://b.example/t10k-labels-idx1-ubyte.gz"]


def test_failed_write_leaves_no_partial_file(monkeypatch, tiny_spec):
    server = Server({f"https://a.example/{MNIST_NAMES[r]}.gz": gzip.compress(tiny_spec[r])
                     for r in ("test_images", "test_labels")})
    monkeypatch.setattr(download, "fetch_url", server)

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(download.os, "replace", failing_replace)
    with pytest.raises(DatasetNotFoundError, match="could not be saved"):
        load_dataset("mnist", "test")
    assert os.listdir(cache_dir() / "mnist") == []


def test_download_through_file_urls_with_real_urllib(monkeypatch, tmp_path, tiny_spec):
    mirror = tmp_path / "mirror"
    write_tiny_mnist(mirror, marker=9)
    monkeypatch.setattr(download, "fetch_url", REAL_FETCH)
    monkeypatch.setitem(registry.MIRRORS, "mnist", [mirror.as_uri() + "/"])
    files = find_dataset_files("mnist", "train")
    assert files["train_images"] == cache_dir() / "mnist" / "train-images-idx3-ubyte.gz"
    served = (mirror / "train-images-idx3-ubyte.gz").read_bytes()
    assert files["train_images"].read_bytes() == served
    data = load_dataset("mnist", "train", protocol="official")
    assert data.x.shape == (3, 784) and marker_of(data) == 9


def test_fashion_download_checks_published_md5(monkeypatch):
    content = idx_bytes(np.arange(4) % 10)
    good = gzip.compress(content)
    spec = registry.SPECS["fashion_mnist"]
    files = dict(spec.files)
    files["test_labels"] = dataclasses.replace(
        files["test_labels"], download_md5=hashlib.md5(good).hexdigest())
    monkeypatch.setitem(registry.SPECS, "fashion_mnist", dataclasses.replace(spec, files=files))
    monkeypatch.setitem(registry.MIRRORS, "fashion_mnist", ["https://f.example/"])
    url = "https://f.example/t10k-labels-idx1-ubyte.gz"
    other = gzip.compress(content, mtime=12345)              # same content, other bytes
    assert hashlib.md5(other).digest() != hashlib.md5(good).digest()
    files_, notes = download.download_files(
        registry.SPECS["fashion_mnist"], ("test_labels",), cache_dir() / "f",
        fetch=Server({url: other}))
    assert files_ is None and "md5" in notes[0]
    files_, notes = download.download_files(
        registry.SPECS["fashion_mnist"], ("test_labels",), cache_dir() / "f",
        fetch=Server({url: good}))
    assert files_["test_labels"].read_bytes() == good
