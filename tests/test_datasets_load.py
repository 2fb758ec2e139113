"""load_dataset: splits, scaling, binarization, option checking, the Dataset container.

Split tests use full-size files built here, whose pixels 0 and 1 encode the row number, so
each returned row can be traced back to the row of the file it came from.
"""

import gzip
import struct

import numpy as np
import pytest
import scipy.io

from numpyvae.datasets import (
    DATASET_NAMES, Dataset, DatasetFormatError, bernoulli_binarize, load_dataset, make_synthetic,
)
from numpyvae.datasets import download


def idx_bytes(array):
    array = np.asarray(array, dtype=np.uint8)
    return (bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            + array.tobytes())


def encoded_images(n, n_pixels):
    """uint8 (n, n_pixels): pixel 0 = row // 256, pixel 1 = row % 256, the rest a ramp."""
    rows = np.arange(n)
    images = np.tile(np.arange(n_pixels) % 256, (n, 1)).astype(np.uint8)
    images[:, 0], images[:, 1] = rows // 256, rows % 256
    return images


def decode_rows(x):
    pixels = np.rint(x[:, :2] * 255).astype(np.int64)
    return pixels[:, 0] * 256 + pixels[:, 1]


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("NUMPYVAE_DATA", raising=False)

    def no_network(url):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(download, "fetch_url", no_network)


@pytest.fixture(scope="module")
def full_mnist(tmp_path_factory):
    """Full-size raw MNIST files (60000 + 10000) with row-encoding pixels; label = row % 10."""
    folder = tmp_path_factory.mktemp("mnist")
    for prefix, n in (("train", 60000), ("t10k", 10000)):
        images = encoded_images(n, 784).reshape(n, 28, 28)
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(idx_bytes(images))
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(idx_bytes(np.arange(n) % 10))
    return folder


@pytest.fixture(scope="module")
def full_frey(tmp_path_factory):
    folder = tmp_path_factory.mktemp("frey")
    scipy.io.savemat(folder / "frey_rawface.mat", {"ff": encoded_images(1965, 560).T})
    return folder


def load_mnist(folder, split, **kwargs):
    return load_dataset("mnist", split, data_dir=folder, verify=False, dtype=np.float32,
                        **kwargs)


# ---------------------------------------------------------------- splits

@pytest.mark.parametrize("split, rows", [
    ("train", np.arange(0, 50000)), ("valid", np.arange(50000, 60000)),
    ("test", np.arange(10000)),
])
def test_mnist_kw2013_split(full_mnist, split, rows):
    data = load_mnist(full_mnist, split)
    assert data.x.shape == (len(rows), 784) and data.image_shape == (28, 28)
    np.testing.assert_array_equal(decode_rows(data.x), rows)
    np.testing.assert_array_equal(data.labels, rows % 10)
    assert data.labels.dtype == np.int64 and data.split == split and data.name == "mnist"


def test_mnist_official_split(full_mnist):
    train = load_mnist(full_mnist, "train", protocol="official")
    test = load_mnist(full_mnist, "test", protocol="official")
    np.testing.assert_array_equal(decode_rows(train.x), np.arange(60000))
    np.testing.assert_array_equal(decode_rows(test.x), np.arange(10000))
    with pytest.raises(ValueError, match="'official' has no 'valid'"):
        load_mnist(full_mnist, "valid", protocol="official")


def test_pixels_scaled_by_255_in_requested_dtype(full_mnist):
    data = load_dataset("mnist", "test", data_dir=full_mnist, verify=False)
    assert data.x.dtype == np.float64
    expected = encoded_images(10000, 784) / 255.0
    np.testing.assert_array_equal(data.x, expected)
    assert data.x.min() >= 0.0 and data.x.max() <= 1.0


def test_kw2013_needs_more_than_10000_training_images(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((5, 28, 28))))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(5)))
    with pytest.raises(ValueError, match="only 5"):
        load_mnist(tmp_path, "train")
    assert load_mnist(tmp_path, "train", protocol="official").x.shape == (5, 784)


def test_label_count_mismatch_through_load(tmp_path):
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.zeros((3, 28, 28)))))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes([1, 2])))
    with pytest.raises(DatasetFormatError, match=r"t10k-labels-idx1-ubyte\.gz.*2 labels.*3 images"):
        load_mnist(tmp_path, "test")


def test_mnist_checksum_is_on_by_default(full_mnist):
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.*sha256"):
        load_dataset("mnist", "test", data_dir=full_mnist)


def _broken_mnist_test_files(folder, images=None, labels=None):
    folder.mkdir()
    (folder / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((3, 28, 28))) if images is None else images)
    (folder / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes([1, 2, 3]) if labels is None else labels)
    return folder


@pytest.mark.parametrize("images,labels,problem", [
    (idx_bytes(np.zeros((3, 28, 28)))[:2000], None, r"t10k-images-idx3-ubyte: truncated: the header declares 3 x 28 x 28"),
    (b"\x00\x00\x08\x01" + idx_bytes(np.zeros((3, 28, 28)))[4:], None, r"images-idx3-ubyte: (truncated|trailing)"),
    (idx_bytes(np.zeros(5)), None, r"images-idx3-ubyte: wrong magic number 0x00000801"),
    (b"\x12\x34" + idx_bytes(np.zeros((3, 28, 28)))[2:], None, "not an IDX file: magic number 0x1234"),
    (idx_bytes(np.zeros((3, 28, 20))), None, "images are 28 x 20 pixels"),
    (None, idx_bytes([1, 2, 3])[:9], r"labels-idx1-ubyte: truncated"),
    (None, idx_bytes(np.zeros((3, 28, 28))), r"labels-idx1-ubyte: wrong magic number 0x00000803"),
    (None, idx_bytes([1, 2]), r"labels-idx1-ubyte: holds 2 labels but .* holds 3 images"),
    (None, idx_bytes([1, 2, 11]), "label 11 out of range"),
])
def test_with_checksums_on_the_specific_cause_comes_before_the_checksum(tmp_path, images, labels, problem):
    folder = _broken_mnist_test_files(tmp_path / "mnist", images, labels)
    with pytest.raises(DatasetFormatError, match=problem) as info:
        load_dataset("mnist", "test", data_dir=folder)                   # verify=True, the default
    assert "sha256" not in str(info.value)
    with pytest.raises(DatasetFormatError, match=problem):
        load_dataset("mnist", "test", data_dir=folder, verify=False)


def test_a_well_formed_file_that_is_not_the_published_one_is_a_checksum_error(tmp_path):
    folder = _broken_mnist_test_files(tmp_path / "mnist")
    with pytest.raises(DatasetFormatError, match=r"t10k-images-idx3-ubyte: sha256 of the decompressed IDX"):
        load_dataset("mnist", "test", data_dir=folder)


def test_frey_split_is_the_documented_permutation(full_frey):
    perm = np.random.default_rng(0).permutation(1965)
    expected = {"train": perm[:1565], "valid": perm[1565:1765], "test": perm[1765:]}
    seen = []
    for split, rows in expected.items():
        data = load_dataset("frey", split, data_dir=full_frey, verify=False)
        assert data.image_shape == (28, 20) and data.labels is None
        got = decode_rows(data.x)
        np.testing.assert_array_equal(got, np.sort(rows))
        seen.append(got)
    np.testing.assert_array_equal(np.sort(np.concatenate(seen)), np.arange(1965))


def test_frey_official_protocol_merges_valid_into_train(full_frey):
    kw = {s: decode_rows(load_dataset("frey", s, data_dir=full_frey, verify=False).x)
          for s in ("train", "valid", "test")}
    train = decode_rows(load_dataset("frey", "train", data_dir=full_frey, verify=False,
                                     protocol="official").x)
    test = decode_rows(load_dataset("frey", "test", data_dir=full_frey, verify=False,
                                    protocol="official").x)
    assert len(train) == 1765
    np.testing.assert_array_equal(train, np.sort(np.concatenate([kw["train"], kw["valid"]])))
    np.testing.assert_array_equal(test, kw["test"])


def test_frey_structure_comes_before_its_checksum(tmp_path):
    path = tmp_path / "frey_rawface.mat"
    scipy.io.savemat(path, {"faces": np.zeros((560, 3), np.uint8)})
    with pytest.raises(DatasetFormatError, match="no variable 'ff'") as info:
        load_dataset("frey", "test", data_dir=tmp_path)                  # verify=True, the default
    assert "sha256" not in str(info.value)
    path.write_bytes(b"not a MATLAB file" * 20)
    with pytest.raises(DatasetFormatError, match="not a readable MATLAB"):
        load_dataset("frey", "test", data_dir=tmp_path)


def test_frey_checksum_is_on_by_default(full_frey):
    with pytest.raises(ValueError, match=r"frey_rawface\.mat.*sha256"):
        load_dataset("frey", "train", data_dir=full_frey)


# ---------------------------------------------------------------- binarization

def test_bernoulli_binarize_values_and_rate():
    rng = np.random.default_rng(0)
    x = np.full((400, 250), 0.3)
    b = bernoulli_binarize(x, rng)
    assert b.shape == x.shape and b.dtype == x.dtype
    assert set(np.unique(b)) <= {0.0, 1.0}
    assert abs(b.mean() - 0.3) < 5 * np.sqrt(0.3 * 0.7 / x.size)        # 5 sigma
    edges = bernoulli_binarize(np.array([[0.0, 1.0] * 500]), rng)
    np.testing.assert_array_equal(edges, [[0.0, 1.0] * 500])


@pytest.mark.parametrize("x, match", [
    (np.array([[0.5, 1.5]]), r"\[0, 1\]"),
    (np.array([[0.5, np.nan]]), "NaN"),
    (np.array([[0, 1]]), "floating"),
])
def test_bernoulli_binarize_rejects_bad_input(x, match):
    with pytest.raises(ValueError, match=match):
        bernoulli_binarize(x, np.random.default_rng(0))


def test_bernoulli_binarize_needs_a_generator():
    with pytest.raises(TypeError, match="Generator"):
        bernoulli_binarize(np.zeros((2, 2)), 0)


def test_static_binarization_is_reproducible(full_mnist):
    a = load_mnist(full_mnist, "test", binarize="static", rng=np.random.default_rng(5))
    b = load_mnist(full_mnist, "test", binarize="static", rng=5)
    c = load_mnist(full_mnist, "test", binarize="static", rng=6)
    assert set(np.unique(a.x)) == {0.0, 1.0}
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)
    assert a.epoch_view(np.random.default_rng(1)) is a.x
    grey = load_mnist(full_mnist, "test")
    # P(b = 1) = grey value: pixels 0 stay 0, and the mean matches the grey mean
    assert np.all(a.x[grey.x == 0] == 0)
    assert abs(a.x.mean() - grey.x.mean()) < 0.005


def test_static_binarization_needs_rng(full_mnist):
    with pytest.raises(ValueError, match="rng"):
        load_mnist(full_mnist, "test", binarize="static")


def test_dynamic_binarization_resamples_each_epoch(full_mnist):
    data = load_mnist(full_mnist, "test", binarize="dynamic")
    grey = load_mnist(full_mnist, "test")
    np.testing.assert_array_equal(data.x, grey.x)          # grey values kept
    rng = np.random.default_rng(0)
    epoch1, epoch2 = data.epoch_view(rng), data.epoch_view(rng)
    for view in (epoch1, epoch2):
        assert view.shape == data.x.shape and view.dtype == np.float32
        assert set(np.unique(view)) == {0.0, 1.0}
    assert not np.array_equal(epoch1, epoch2)
    again = np.random.default_rng(0)
    np.testing.assert_array_equal(data.epoch_view(again), epoch1)
    with pytest.raises(ValueError, match="rng"):
        data.epoch_view()


def test_grey_epoch_view_is_x():
    data = load_dataset("synthetic", "test")
    assert data.epoch_view() is data.x


# ---------------------------------------------------------------- options

@pytest.mark.parametrize("kwargs, match", [
    ({"name": "cifar10"}, r"unknown data set 'cifar10'.*'mnist'.*'fashion_mnist'.*'frey'"),
    ({"split": "validation"}, r"unknown split 'validation'.*'train'.*'valid'.*'test'"),
    ({"protocol": "kw"}, r"unknown protocol 'kw'.*'kw2013'.*'official'"),
    ({"binarize": "yes"}, r"unknown binarize mode 'yes'.*'none'.*'static'.*'dynamic'"),
    ({"dtype": np.int32}, "floating-point"),
    ({"dtype": "float99"}, "floating-point"),
    ({"split": "valid", "protocol": "official"}, "no 'valid' split"),
])
def test_bad_options_fail_before_touching_files(kwargs, match):
    args = {"name": "mnist", "split": "train", **kwargs}
    with pytest.raises(ValueError, match=match):
        load_dataset(args.pop("name"), args.pop("split"), **args)


def test_name_aliases():
    assert set(DATASET_NAMES) == {"mnist", "fashion_mnist", "frey", "synthetic"}
    assert load_dataset("Synthetic", "test").name == "synthetic"


# ---------------------------------------------------------------- Dataset and synthetic

def test_dataset_validates_its_fields():
    x = np.zeros((3, 6))
    with pytest.raises(ValueError, match="2-D floating"):
        Dataset(x=np.zeros(6), labels=None, image_shape=(2, 3), name="a", split="train")
    with pytest.raises(ValueError, match="image_shape"):
        Dataset(x=x, labels=None, image_shape=(2, 2), name="a", split="train")
    with pytest.raises(ValueError, match="labels"):
        Dataset(x=x, labels=np.zeros(4), image_shape=(2, 3), name="a", split="train")
    with pytest.raises(ValueError, match="binarize"):
        Dataset(x=x, labels=None, image_shape=(2, 3), name="a", split="train", binarize="x")
    data = Dataset(x=np.arange(18.0).reshape(3, 6), labels=None, image_shape=[2, 3],
                   name="a", split="train")
    assert len(data) == 3 and data.n_features == 6 and data.image_shape == (2, 3)
    np.testing.assert_array_equal(data.images()[1], [[6, 7, 8], [9, 10, 11]])


def test_make_synthetic_is_a_noisy_pattern_mixture():
    clean = make_synthetic(200, np.random.default_rng(0), n_patterns=3, image_shape=(4, 5),
                           flip_prob=0.0)
    assert clean.x.shape == (200, 20) and set(np.unique(clean.labels)) == {0, 1, 2}
    for k in range(3):
        members = clean.x[clean.labels == k]
        assert np.all(members == members[0])               # no noise: one image per pattern
    noisy = make_synthetic(200, np.random.default_rng(0), n_patterns=3, image_shape=(4, 5),
                           flip_prob=0.1)
    np.testing.assert_array_equal(noisy.labels, clean.labels)
    flipped = np.mean(noisy.x != clean.x)
    assert 0.05 < flipped < 0.15
    again = make_synthetic(200, np.random.default_rng(0), n_patterns=3, image_shape=(4, 5),
                           flip_prob=0.1)
    np.testing.assert_array_equal(again.x, noisy.x)


def test_synthetic_splits_share_patterns():
    sizes = {s: len(load_dataset("synthetic", s)) for s in ("train", "valid", "test")}
    assert sizes == {"train": 1000, "valid": 200, "test": 200}
    train, test = load_dataset("synthetic", "train"), load_dataset("synthetic", "test")
    for k in range(4):                                     # per-pattern pixel means agree
        m_train = train.x[train.labels == k].mean(axis=0)
        m_test = test.x[test.labels == k].mean(axis=0)
        assert np.max(np.abs(m_train - m_test)) < 0.35
        assert np.array_equal(m_train > 0.5, m_test > 0.5)
    assert not np.array_equal(train.x[:200], test.x)
