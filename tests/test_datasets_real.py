"""The published data sets, found through NUMPYVAE_DATA; skipped when it is unset or lacks them.

Run with ``NUMPYVAE_DATA=/path/to/data`` where the folder holds ``mnist/`` (the four official
IDX files) and ``frey/frey_rawface.mat``.
"""

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from numpyvae.datasets import (
    ChecksumError, DatasetFormatError, cache_dir, load_dataset, read_frey,
)
from numpyvae.datasets import download, registry

REAL_FETCH = download.fetch_url          # taken before any test replaces it
DATA = os.environ.get("NUMPYVAE_DATA", "")
MNIST_FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def _present(*relative):
    return bool(DATA) and all((Path(DATA) / r).is_file() for r in relative)


needs_mnist = pytest.mark.skipif(
    not _present(*(f"mnist/{f}" for f in MNIST_FILES)),
    reason="NUMPYVAE_DATA unset or without mnist/*.gz")
needs_frey = pytest.mark.skipif(
    not _present("frey/frey_rawface.mat"), reason="NUMPYVAE_DATA unset or without frey/")


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def offline(url):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(download, "fetch_url", offline)


@needs_mnist
def test_mnist_kw2013_splits_with_checksums():
    splits = {s: load_dataset("mnist", s) for s in ("train", "valid", "test")}   # verify=True
    for split, n in (("train", 50000), ("valid", 10000), ("test", 10000)):
        data = splits[split]
        assert data.x.shape == (n, 784) and data.image_shape == (28, 28)
        assert data.x.dtype == np.float64
        assert data.x.min() == 0.0 and data.x.max() == 1.0
        assert data.labels.shape == (n,) and set(np.unique(data.labels)) == set(range(10))
        # every class is common: MNIST is roughly balanced
        assert np.bincount(data.labels).min() > 0.08 * n
    # well-known first test labels of t10k
    np.testing.assert_array_equal(splits["test"].labels[:8], [7, 2, 1, 0, 4, 1, 4, 9])
    official = load_dataset("mnist", "train", protocol="official", dtype=np.float32)
    assert official.x.shape == (60000, 784)
    np.testing.assert_array_equal(official.x[50000:], splits["valid"].x.astype(np.float32))
    np.testing.assert_array_equal(official.labels[:50000], splits["train"].labels)


@needs_frey
def test_frey_faces_with_checksum():
    sizes = {}
    for split in ("train", "valid", "test"):
        data = load_dataset("frey", split)                                       # verify=True
        assert data.image_shape == (28, 20) and data.x.shape[1] == 560
        assert 0.0 <= data.x.min() and data.x.max() <= 1.0 and data.labels is None
        sizes[split] = len(data)
    assert sizes == {"train": 1565, "valid": 200, "test": 200}
    faces = read_frey(Path(DATA) / "frey" / "frey_rawface.mat",
                      sha256=registry.SPECS["frey"].files["faces"].sha256)
    assert faces.shape == (1965, 560) and faces.min() == 8 and faces.max() == 238


@needs_mnist
def test_one_changed_byte_fails_the_checksum(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    source = Path(DATA) / "mnist"
    content = bytearray(gzip.decompress((source / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    content[100] = (content[100] + 1) % 10                     # still a valid label
    (folder / "t10k-labels-idx1-ubyte").write_bytes(bytes(content))
    shutil.copy(source / "t10k-images-idx3-ubyte.gz", folder)
    with pytest.raises(ChecksumError, match=r"t10k-labels-idx1-ubyte.*sha256"):
        load_dataset("mnist", "test", data_dir=tmp_path)
    assert len(load_dataset("mnist", "test", data_dir=tmp_path, verify=False)) == 10000


@needs_mnist
def test_mnist_files_are_not_taken_for_fashion_mnist(tmp_path):
    for name in MNIST_FILES:
        (tmp_path / name).symlink_to(Path(DATA).absolute() / "mnist" / name)
    with pytest.raises(DatasetFormatError, match=r"labels-idx1-ubyte\.gz.*MNIST file"):
        load_dataset("fashion_mnist", "test", data_dir=tmp_path)


@needs_mnist
def test_verified_download_of_the_real_files(monkeypatch):
    monkeypatch.setattr(download, "fetch_url", REAL_FETCH)
    mirror = (Path(DATA) / "mnist").absolute().as_uri() + "/"
    monkeypatch.setitem(registry.MIRRORS, "mnist", [mirror])
    monkeypatch.delenv("NUMPYVAE_DATA")
    data = load_dataset("mnist", "test")
    assert len(data) == 10000
    assert sorted(os.listdir(cache_dir() / "mnist")) == MNIST_FILES[2:]
