"""MNIST and Fashion-MNIST: read and validate the IDX image and label files, select a split.

Splits (``protocol``):

* ``"kw2013"`` (default), as in Kingma & Welling (2013) and most VAE papers of the time:
  ``train`` = the first 50000 images of the training file, ``valid`` = its last 10000,
  ``test`` = the 10000 images of the t10k file.
* ``"official"``: ``train`` = all 60000 training images, ``test`` = t10k; there is no
  ``valid`` split.
"""

from .checksum import check_sha256
from .errors import DatasetFormatError
from .idx import array_magic, decompressed_bytes, idx_magic, parse_idx

__all__ = [
    "MNIST_IMAGE_SHAPE", "MNIST_PROTOCOLS", "N_VALID_KW2013",
    "read_idx_images", "read_idx_labels", "parse_idx_images", "parse_idx_labels", "check_pair",
    "mnist_split_rows",
]

MNIST_IMAGE_SHAPE = (28, 28)
MNIST_PROTOCOLS = ("kw2013", "official")
N_VALID_KW2013 = 10000
_IMAGES_MAGIC = idx_magic(0x08, 3)  # 0x00000803: uint8, 3 dimensions
_LABELS_MAGIC = idx_magic(0x08, 1)  # 0x00000801: uint8, 1 dimension
_N_CLASSES = 10


def read_idx_images(path, *, sha256=None):
    """Read an MNIST-style image file: uint8, shape (N, 28, 28).

    Parameters
    ----------
    path : str or os.PathLike
        ``*-images-idx3-ubyte``, gzip-compressed or raw.
    sha256 : str, optional
        Expected SHA-256 of the decompressed bytes, checked after the structure, so that a truncated
        file or a wrong header is reported as such rather than as a checksum mismatch.

    Returns
    -------
    images : numpy.ndarray of uint8, shape (N, 28, 28), read-only
    """
    data = decompressed_bytes(path)
    images = parse_idx_images(data, path)
    if sha256 is not None:
        check_sha256(data, sha256, path, what="decompressed IDX content")
    return images


def parse_idx_images(data, path):
    """The images of the decompressed IDX bytes ``data`` of an image file, structure checked
    (header, length, magic number, 28 x 28 pixels, at least one image); ``path`` names it in errors."""
    images = parse_idx(data, path)
    if array_magic(images) != _IMAGES_MAGIC:
        raise DatasetFormatError(
            path,
            f"wrong magic number 0x{array_magic(images):08X} ({images.dtype.name}, "
            f"{images.ndim} dimensions); an image file starts with 0x{_IMAGES_MAGIC:08X} "
            "(uint8, 3 dimensions)",
        )
    if images.shape[1:] != MNIST_IMAGE_SHAPE:
        raise DatasetFormatError(
            path,
            f"images are {images.shape[1]} x {images.shape[2]} pixels, expected "
            f"{MNIST_IMAGE_SHAPE[0]} x {MNIST_IMAGE_SHAPE[1]}",
        )
    if images.shape[0] == 0:
        raise DatasetFormatError(path, "the file holds no images")
    return images


def read_idx_labels(path, *, sha256=None):
    """Read an MNIST-style label file: uint8 class labels 0..9, shape (N,).

    Parameters
    ----------
    path : str or os.PathLike
        ``*-labels-idx1-ubyte``, gzip-compressed or raw.
    sha256 : str, optional
        Expected SHA-256 of the decompressed bytes, checked after the structure.

    Returns
    -------
    labels : numpy.ndarray of uint8, shape (N,), read-only
    """
    data = decompressed_bytes(path)
    labels = parse_idx_labels(data, path)
    if sha256 is not None:
        check_sha256(data, sha256, path, what="decompressed IDX content")
    return labels


def parse_idx_labels(data, path):
    """The labels of the decompressed IDX bytes ``data`` of a label file, structure checked (header,
    length, magic number, labels 0..9); ``path`` names it in errors."""
    labels = parse_idx(data, path)
    if array_magic(labels) != _LABELS_MAGIC:
        raise DatasetFormatError(
            path,
            f"wrong magic number 0x{array_magic(labels):08X} ({labels.dtype.name}, "
            f"{labels.ndim} dimensions); a label file starts with 0x{_LABELS_MAGIC:08X} "
            "(uint8, 1 dimension)",
        )
    if labels.size and labels.max() >= _N_CLASSES:
        raise DatasetFormatError(
            path, f"label {int(labels.max())} out of range 0..{_N_CLASSES - 1}"
        )
    return labels


def check_pair(images, labels, images_path, labels_path):
    """Raise :class:`DatasetFormatError` unless there is one label per image."""
    if images.shape[0] != labels.shape[0]:
        raise DatasetFormatError(
            labels_path,
            f"holds {labels.shape[0]} labels but {images_path} holds {images.shape[0]} images",
        )


def mnist_split_rows(n_rows, split, protocol):
    """Rows of the source file that make up ``split`` under ``protocol``.

    Parameters
    ----------
    n_rows : int
        Number of images in the source file (60000 for the training file, 10000 for t10k).
    split : {"train", "valid", "test"}
        ``train`` and ``valid`` index the training file, ``test`` the t10k file.
    protocol : {"kw2013", "official"}

    Returns
    -------
    slice
    """
    if split == "test":
        return slice(0, n_rows)
    if protocol == "official":
        if split == "valid":
            raise ValueError(
                "protocol 'official' has no 'valid' split (it trains on all 60000 images); "
                "use protocol='kw2013' for the 50000/10000 train/valid split"
            )
        return slice(0, n_rows)
    if n_rows <= N_VALID_KW2013:
        raise ValueError(
            f"protocol 'kw2013' holds out the last {N_VALID_KW2013} training images for "
            f"validation, but the training file has only {n_rows}; use protocol='official'"
        )
    n_train = n_rows - N_VALID_KW2013
    return slice(0, n_train) if split == "train" else slice(n_train, n_rows)
