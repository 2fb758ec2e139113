"""Frey Faces: read and validate ``frey_rawface.mat``, select a split.

The file holds one variable ``ff``: uint8, shape (560, 1965), one image per column, each column
a 28 x 20 image (28 rows, 20 columns) in row-major order. The images are frames of one video,
so neighbouring frames are near-duplicates.

Split (fixed; it depends on nothing but the number of images)::

    perm  = numpy.random.default_rng(0).permutation(1965)
    test  = perm[-200:]                          # 200 images, every protocol
    valid = perm[-400:-200]                      # 200 images, protocol "kw2013" only
    train = perm[:-400]  under "kw2013"  (1565 images)
            perm[:-200]  under "official" (1765 images, no validation split)

Each split's images are returned in their original (video) order. Frey Faces has no official
split; ``"official"`` here means "no validation hold-out", as for MNIST.
"""

import io
from pathlib import Path

import numpy as np

from .checksum import check_sha256
from .errors import DatasetFormatError

__all__ = [
    "FREY_IMAGE_SHAPE", "FREY_PROTOCOLS", "FREY_SPLIT_SEED", "FREY_N_TEST", "FREY_N_VALID",
    "read_frey", "frey_split_rows",
]

FREY_IMAGE_SHAPE = (28, 20)
FREY_PROTOCOLS = ("kw2013", "official")
FREY_SPLIT_SEED = 0
FREY_N_TEST = 200
FREY_N_VALID = 200
_N_PIXELS = FREY_IMAGE_SHAPE[0] * FREY_IMAGE_SHAPE[1]


def read_frey(path, *, sha256=None):
    """Read ``frey_rawface.mat``: one flattened 28 x 20 image per row.

    Parameters
    ----------
    path : str or os.PathLike
    sha256 : str, optional
        Expected SHA-256 of the file, checked after the structure, so that a damaged file or a wrong
        variable is reported as such rather than as a checksum mismatch.

    Returns
    -------
    faces : numpy.ndarray of uint8, shape (N, 560)
        Row n is image n in row-major order: ``faces[n].reshape(28, 20)``.

    Raises
    ------
    DatasetFormatError, ChecksumError
        Not a MATLAB file, no variable ``ff``, wrong dtype or shape, or checksum mismatch.
    """
    raw = Path(path).read_bytes()
    import scipy.io  # here, so that importing numpyvae does not import scipy.io

    try:
        contents = scipy.io.loadmat(io.BytesIO(raw))
    except Exception as err:  # scipy raises many types for damaged files; all mean "unreadable"
        raise DatasetFormatError(
            path, f"not a readable MATLAB .mat file ({type(err).__name__}: {err})"
        ) from None
    if "ff" not in contents:
        found = sorted(k for k in contents if not k.startswith("__"))
        raise DatasetFormatError(path, f"has no variable 'ff' (variables found: {found})")
    ff = contents["ff"]
    if not isinstance(ff, np.ndarray) or ff.dtype != np.uint8 or ff.ndim != 2:
        raise DatasetFormatError(
            path,
            f"variable 'ff' must be a 2-D uint8 array, found {type(ff).__name__} "
            f"{getattr(ff, 'dtype', '')} with shape {getattr(ff, 'shape', '')}",
        )
    if ff.shape[0] != _N_PIXELS or ff.shape[1] == 0:
        raise DatasetFormatError(
            path,
            f"variable 'ff' has shape {ff.shape}, expected ({_N_PIXELS}, N >= 1): one "
            f"{FREY_IMAGE_SHAPE[0]} x {FREY_IMAGE_SHAPE[1]} image per column",
        )
    if sha256 is not None:
        check_sha256(raw, sha256, path, what="file")
    return np.ascontiguousarray(ff.T)  # (N, 560)


def frey_split_rows(n_images, split, protocol):
    """Indices of the images in ``split`` (sorted), as defined in this module's docstring.

    Parameters
    ----------
    n_images : int
        1965 for the published file.
    split : {"train", "valid", "test"}
    protocol : {"kw2013", "official"}

    Returns
    -------
    rows : numpy.ndarray of int64, shape (n_split,)
    """
    n_held_out = FREY_N_TEST + (FREY_N_VALID if protocol == "kw2013" else 0)
    if split == "valid" and protocol != "kw2013":
        raise ValueError(
            f"protocol {protocol!r} has no 'valid' split for Frey Faces; use protocol='kw2013'"
        )
    if n_images <= n_held_out:
        raise ValueError(
            f"the Frey Faces split holds out {n_held_out} images but the file has only "
            f"{n_images}"
        )
    perm = np.random.default_rng(FREY_SPLIT_SEED).permutation(n_images)  # (n_images,)
    if split == "test":
        rows = perm[n_images - FREY_N_TEST:]
    elif split == "valid":
        rows = perm[n_images - n_held_out:n_images - FREY_N_TEST]
    else:
        rows = perm[:n_images - n_held_out]
    return np.sort(rows)
