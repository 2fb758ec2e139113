"""Readers of single data files: IDX (gzip and raw) and Frey Faces .mat, good and bad.

The IDX bytes are built here with ``struct`` from the format's definition, not with code from
the library, so a shared misreading of the format cannot pass.
"""

import gzip
import hashlib
import struct

import numpy as np
import pytest
import scipy.io

from numpyvae.datasets import (
    ChecksumError, DatasetFormatError, read_frey, read_idx, read_idx_images, read_idx_labels,
)
from numpyvae.datasets.idx import parse_idx
from numpyvae.datasets.mnist import check_pair


def idx_bytes(array, type_code=0x08, dtype=">u1"):
    """IDX file content: 00 00 type ndim, big-endian uint32 sizes, big-endian elements."""
    array = np.asarray(array)
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(dtype).tobytes()


def write(path, data, compress):
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)


@pytest.fixture
def labels():
    return np.array([3, 1, 4, 1, 5], dtype=np.uint8)


# ---------------------------------------------------------------- good files

@pytest.mark.parametrize("compress", [True, False])
def test_idx_images_and_labels_read_back(tmp_path, images, labels, compress):
    suffix = ".gz" if compress else ""
    img_path = write(tmp_path / f"train-images-idx3-ubyte{suffix}", idx_bytes(images), compress)
    lab_path = write(tmp_path / f"train-labels-idx1-ubyte{suffix}", idx_bytes(labels), compress)
    got_images = read_idx_images(img_path)
    got_labels = read_idx_labels(lab_path)
    assert got_images.dtype == np.uint8 and got_images.shape == (5, 28, 28)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_raw_idx_content_under_a_gz_name_is_read(tmp_path, labels):
    # Some browsers decompress downloads but keep the .gz name.
    path = write(tmp_path / "t10k-labels-idx1-ubyte.gz", idx_bytes(labels), compress=False)
    np.testing.assert_array_equal(read_idx_labels(path), labels)


@pytest.mark.parametrize("type_code, dtype, values", [
    (0x09, ">i1", [-128, -1, 0, 127]),
    (0x0B, ">i2", [-32768, -2, 258, 32767]),
    (0x0C, ">i4", [-(2**31), -3, 65536 + 7, 2**31 - 1]),
    (0x0D, ">f4", [-1.5, 0.0, 3.25, 1e30]),
    (0x0E, ">f8", [-1e-300, 0.5, np.pi, 1e300]),
])
def test_idx_multibyte_types_are_big_endian(tmp_path, type_code, dtype, values):
    array = np.array(values).reshape(2, 2)
    path = write(tmp_path / "x.idx", idx_bytes(array, type_code, dtype), compress=False)
    got = read_idx(path)
    assert got.shape == (2, 2) and got.dtype.kind == np.dtype(dtype).kind
    np.testing.assert_array_equal(got, np.array(values, dtype=dtype).reshape(2, 2))


def test_idx_checksum_is_of_the_decompressed_bytes(tmp_path, labels):
    content = idx_bytes(labels)
    path = write(tmp_path / "labels.gz", content, compress=True)
    read_idx_labels(path, sha256=hashlib.sha256(content).hexdigest())        # passes
    gz_digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ChecksumError, match="labels.gz") as info:
        read_idx_labels(path, sha256=gz_digest)
    assert gz_digest in str(info.value) and "sha256" in str(info.value)


# ---------------------------------------------------------------- bad IDX files

def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope-idx1-ubyte.gz"):
        read_idx(tmp_path / "nope-idx1-ubyte.gz")


@pytest.mark.parametrize("compress", [True, False])
def test_wrong_magic_labels_given_as_images(tmp_path, labels, compress):
    path = write(tmp_path / "images.bin", idx_bytes(labels), compress)
    with pytest.raises(DatasetFormatError, match="images.bin") as info:
        read_idx_images(path)
    assert "magic" in str(info.value) and "0x00000801" in str(info.value)


def test_wrong_magic_images_given_as_labels(tmp_path, images):
    path = write(tmp_path / "labels.bin", idx_bytes(images), compress=False)
    with pytest.raises(DatasetFormatError, match=r"labels\.bin.*0x00000803"):
        read_idx_labels(path)


def test_not_idx_at_all(tmp_path):
    path = write(tmp_path / "archive-idx3-ubyte", b"PK\x03\x04" + bytes(100), compress=False)
    with pytest.raises(DatasetFormatError, match=r"archive-idx3-ubyte.*not an IDX file"):
        read_idx(path)


def test_unknown_type_code(tmp_path):
    path = write(tmp_path / "odd.idx", bytes([0, 0, 0x0A, 1]) + struct.pack(">I", 2) + b"ab",
                 compress=False)
    with pytest.raises(DatasetFormatError, match=r"odd\.idx.*type code 0x0A"):
        read_idx(path)


def test_wrong_image_dims(tmp_path):
    path = write(tmp_path / "big-images", idx_bytes(np.zeros((2, 32, 32))), compress=True)
    with pytest.raises(DatasetFormatError, match=r"big-images.*32 x 32.*28 x 28"):
        read_idx_images(path)


def test_truncated_raw_file_reports_expected_and_found_sizes(tmp_path, images):
    content = idx_bytes(images)
    path = write(tmp_path / "cut-images-idx3-ubyte", content[:-100], compress=False)
    with pytest.raises(DatasetFormatError, match="cut-images-idx3-ubyte") as info:
        read_idx_images(path)
    message = str(info.value)
    assert "truncated" in message
    assert str(5 * 28 * 28) in message and str(5 * 28 * 28 - 100) in message


def test_every_truncation_length_is_an_error(images):
    content = idx_bytes(images[:1])
    for cut in range(len(content)):
        with pytest.raises(DatasetFormatError, match="mem.idx"):
            parse_idx(content[:cut], "mem.idx")


def test_trailing_bytes_are_an_error(tmp_path, labels):
    path = write(tmp_path / "long-labels", idx_bytes(labels) + b"\x00", compress=False)
    with pytest.raises(DatasetFormatError, match=r"long-labels.*trailing"):
        read_idx_labels(path)


def test_truncated_gzip_stream(tmp_path, images):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(images))[:-50])
    with pytest.raises(DatasetFormatError, match=r"train-images-idx3-ubyte\.gz.*gzip"):
        read_idx_images(path)


def test_corrupt_gzip_crc(tmp_path, labels):
    data = bytearray(gzip.compress(idx_bytes(labels)))
    data[-8] ^= 0xFF                                  # CRC32 of the gzip trailer
    path = tmp_path / "labels.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetFormatError, match=r"labels\.gz.*gzip"):
        read_idx_labels(path)


@pytest.mark.parametrize("content", [b"<html>404 Not Found</html>", b""])
def test_garbage_with_gz_name(tmp_path, content):
    path = write(tmp_path / "t10k-images-idx3-ubyte.gz", content, compress=False)
    with pytest.raises(DatasetFormatError, match=r"t10k-images-idx3-ubyte\.gz.*neither gzip"):
        read_idx_images(path)


def test_labels_out_of_range(tmp_path):
    path = write(tmp_path / "labels", idx_bytes([0, 10, 2]), compress=False)
    with pytest.raises(DatasetFormatError, match=r"labels.*label 10"):
        read_idx_labels(path)


def test_label_count_must_match_image_count(tmp_path, images, labels):
    img_path = write(tmp_path / "imgs", idx_bytes(images), compress=False)
    lab_path = write(tmp_path / "labs", idx_bytes(labels[:4]), compress=False)
    with pytest.raises(DatasetFormatError, match=r"labs.*4 labels.*imgs.*5 images"):
        check_pair(read_idx_images(img_path), read_idx_labels(lab_path), img_path, lab_path)


# ---------------------------------------------------------------- Frey Faces .mat

def frey_mat(path, faces):
    """Store images (N, 28, 20) as the published file does: ff (560, N), one per column."""
    ff = np.asarray(faces).reshape(len(faces), 28 * 20).T
    scipy.io.savemat(path, {"ff": ff})
    return path


def test_frey_columns_are_row_major_28_by_20_images(tmp_path):
    faces = np.random.default_rng(1).integers(8, 239, size=(7, 28, 20), dtype=np.uint8)
    path = frey_mat(tmp_path / "frey_rawface.mat", faces)
    got = read_frey(path)
    assert got.shape == (7, 560) and got.dtype == np.uint8
    np.testing.assert_array_equal(got.reshape(7, 28, 20), faces)
    read_frey(path, sha256=hashlib.sha256(path.read_bytes()).hexdigest())   # passes


def test_frey_checksum_mismatch(tmp_path):
    path = frey_mat(tmp_path / "frey_rawface.mat", np.zeros((2, 28, 20), np.uint8))
    with pytest.raises(ChecksumError, match="frey_rawface.mat"):
        read_frey(path, sha256="0" * 64)


@pytest.mark.parametrize("variables, problem", [
    ({"faces": np.zeros((560, 3), np.uint8)}, "no variable 'ff'"),
    ({"ff": np.zeros((500, 3), np.uint8)}, r"shape \(500, 3\)"),
    ({"ff": np.zeros((560, 3), np.float64)}, "uint8"),
])
def test_frey_wrong_content(tmp_path, variables, problem):
    path = tmp_path / "frey_rawface.mat"
    scipy.io.savemat(path, variables)
    with pytest.raises(DatasetFormatError, match=r"frey_rawface\.mat.*" + problem):
        read_frey(path)


def test_frey_garbage_and_truncated(tmp_path):
    path = tmp_path / "frey_rawface.mat"
    path.write_bytes(b"this is not a MATLAB file" * 10)
    with pytest.raises(DatasetFormatError, match=r"frey_rawface\.mat.*MATLAB"):
        read_frey(path)
    frey_mat(path, np.full((50, 28, 20), 7, np.uint8))
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DatasetFormatError, match=r"frey_rawface\.mat"):
        read_frey(path)


def test_frey_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="frey_rawface.mat"):
        read_frey(tmp_path / "frey_rawface.mat")
