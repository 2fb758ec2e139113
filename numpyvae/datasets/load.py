"""``load_dataset``: the single front door to every data set."""

import numbers

import numpy as np

from .binarize import BINARIZE_MODES, bernoulli_binarize
from .checksum import check_sha256, sha256_hex
from .dataset import Dataset
from .download import download_files
from .errors import DatasetFormatError
from .frey import FREY_IMAGE_SHAPE, frey_split_rows, read_frey
from .idx import decompressed_bytes
from .locate import cache_dir, locate_files, not_found_error, pinned_error
from .mnist import MNIST_IMAGE_SHAPE, check_pair, mnist_split_rows, parse_idx_images, parse_idx_labels
from .registry import SPECS
from .synthetic import synthetic_split

__all__ = ["DATASET_NAMES", "SPLITS", "PROTOCOLS", "load_dataset", "find_dataset_files"]

DATASET_NAMES = ("mnist", "fashion_mnist", "frey", "synthetic")
SPLITS = ("train", "valid", "test")
PROTOCOLS = ("kw2013", "official")
_ALIASES = {"fashion": "fashion_mnist", "fashionmnist": "fashion_mnist", "frey_faces": "frey"}


def _choice(what, value, valid):
    if value not in valid:
        raise ValueError(f"unknown {what} {value!r}; valid: {', '.join(map(repr, valid))}")
    return value


def _canonical_name(name):
    if not isinstance(name, str):
        raise ValueError(f"data-set name must be a string, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    return _choice("data set", _ALIASES.get(key, key), DATASET_NAMES)


def _static_rng(rng):
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise ValueError(
        "binarize='static' needs rng: a numpy.random.Generator or an int seed, got "
        f"{type(rng).__name__}"
    )


def find_dataset_files(name, split="train", *, data_dir=None, download=True):
    """Paths of the files ``load_dataset(name, split)`` reads, downloading them if needed.

    An explicit ``data_dir`` is the only folder searched (directly or in a subfolder named
    after the data set): a folder that lacks the files is an error, never a fallback. Without
    it: ``$NUMPYVAE_DATA``, then the user cache (``$XDG_CACHE_HOME/numpyvae`` or
    ``~/.cache/numpyvae``), each directly or in a subfolder named after the data set; then, if
    ``download``, the official mirrors into the cache.

    Parameters
    ----------
    name : {"mnist", "fashion_mnist", "frey"}
    split : {"train", "valid", "test"}
    data_dir : str or os.PathLike, optional
    download : bool

    Returns
    -------
    dict
        File role (``"train_images"``, ``"train_labels"``, ``"test_images"``,
        ``"test_labels"`` or ``"faces"``) -> pathlib.Path.

    Raises
    ------
    DatasetNotFoundError
        The files are nowhere and could not be downloaded; the message lists every place
        looked in and every download attempted. Or ``data_dir`` lacks them.
    NotADirectoryError
        ``data_dir`` does not exist.
    """
    name = _canonical_name(name)
    if name not in SPECS:
        raise ValueError(f"data set {name!r} is generated in memory and has no files")
    spec = SPECS[name]
    roles = spec.split_roles[_choice("split", split, SPLITS)]
    files, looked = locate_files(spec, roles, data_dir)
    if files is not None:
        return files
    if data_dir is not None:
        raise pinned_error(spec, roles, looked, data_dir)
    if download:
        files, notes = download_files(spec, roles, cache_dir() / spec.subfolders[0])
        if files is not None:
            return files
    else:
        notes = ["not attempted (download=False)"]
    raise not_found_error(spec, roles, looked, notes)


def _read_idx_split(spec, files, split, protocol, verify):
    """uint8 images (n, 28, 28) and int64 labels (n,) of one MNIST-style split."""
    prefix = "test" if split == "test" else "train"
    images_path, labels_path = files[f"{prefix}_images"], files[f"{prefix}_labels"]
    images_file, labels_file = spec.files[f"{prefix}_images"], spec.files[f"{prefix}_labels"]
    images_data, labels_data = decompressed_bytes(images_path), decompressed_bytes(labels_path)
    images = parse_idx_images(images_data, images_path)                # the structure first, so that a
    labels = parse_idx_labels(labels_data, labels_path)                # truncated file or a bad header is
    check_pair(images, labels, images_path, labels_path)              # named as such, then the checksums
    if verify:
        for data, path, data_file in ((images_data, images_path, images_file), (labels_data, labels_path, labels_file)):
            if data_file.sha256 is not None:
                check_sha256(data, data_file.sha256, path, what="decompressed IDX content")
    if verify and spec.name == "fashion_mnist":
        mnist_labels = {SPECS["mnist"].files[r].sha256 for r in ("train_labels", "test_labels")}
        if sha256_hex(labels_data) in mnist_labels:
            raise DatasetFormatError(
                labels_path,
                "is an MNIST file, not Fashion-MNIST; keep the Fashion-MNIST files in a "
                "'fashion_mnist/' subfolder",
            )
    rows = mnist_split_rows(images.shape[0], split, protocol)
    return images[rows], labels[rows].astype(np.int64)


def load_dataset(name, split="train", *, data_dir=None, binarize="none", rng=None,
                 protocol="kw2013", dtype=np.float64, verify=True, download=True):
    """Load one split of a data set as flattened images scaled to [0, 1].

    Parameters
    ----------
    name : {"mnist", "fashion_mnist", "frey", "synthetic"}
        ``"fashion-mnist"`` and ``"frey_faces"`` are accepted too.
    split : {"train", "valid", "test"}
    data_dir : str or os.PathLike, optional
        Folder holding the files (directly or in a subfolder named after the data set); the
        only one searched when given (no ``$NUMPYVAE_DATA``, cache or download). See
        :func:`find_dataset_files` for the whole lookup order, download included.
    binarize : {"none", "static", "dynamic"}
        ``"none"``: grey values. ``"static"``: one Bernoulli draw made here from ``rng``.
        ``"dynamic"``: grey values kept; call ``Dataset.epoch_view(rng)`` each epoch for a
        fresh draw.
    rng : numpy.random.Generator or int, optional
        Required for ``binarize="static"`` (an int is used as a seed); unused otherwise.
        Loading several splits with the same seed reuses the same uniforms; pass different
        generators (e.g. spawned from one ``numpy.random.SeedSequence``) for independent
        draws.
    protocol : {"kw2013", "official"}
        MNIST and Fashion-MNIST: ``"kw2013"`` trains on the first 50000 training images and
        validates on the last 10000; ``"official"`` trains on all 60000 and has no
        ``"valid"`` split. Test is t10k under both. Frey Faces: see
        :mod:`numpyvae.datasets.frey` (1565/200/200 or 1765/-/200). Synthetic: only decides
        whether ``"valid"`` exists.
    dtype : floating dtype
        dtype of ``x``.
    verify : bool
        Check published checksums: SHA-256 of the decompressed IDX bytes for MNIST, of the
        ``.mat`` file for Frey Faces. Fashion-MNIST has no recorded checksum for local files
        and is checked for structure only (downloads are checked against the published MD5
        of the ``.gz`` files). The structure (IDX header, exact length, one label per image)
        is checked whatever ``verify`` says, and downloads are always verified.
    download : bool
        Download missing files from the official mirrors into the user cache.

    Returns
    -------
    Dataset
        ``x`` (N, D): pixel / 255; ``labels`` (N,) int64 or None (Frey); ``image_shape``
        (28, 28) or (28, 20); N = 50000 / 10000 / 10000 for MNIST under ``"kw2013"``.

    Raises
    ------
    ValueError
        Unknown name, split, protocol, binarize mode or dtype, or a missing ``rng``.
    DatasetNotFoundError
        Files missing everywhere and not downloadable (lists every place looked in).
    DatasetFormatError, ChecksumError
        A corrupt, truncated or wrong file; the message names it.
    """
    name = _canonical_name(name)
    _choice("split", split, SPLITS)
    _choice("protocol", protocol, PROTOCOLS)
    _choice("binarize mode", binarize, BINARIZE_MODES)
    try:
        dtype = np.dtype(dtype)
    except TypeError as err:
        raise ValueError(f"dtype must be a floating-point dtype, got {dtype!r}") from err
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating-point dtype, got {dtype}")
    if protocol == "official" and split == "valid":
        raise ValueError(
            "protocol 'official' has no 'valid' split; use protocol='kw2013' "
            "(MNIST: last 10000 training images held out for validation)"
        )
    static_rng = _static_rng(rng) if binarize == "static" else None

    if name == "synthetic":
        data = synthetic_split(split, dtype)
        x, labels, image_shape = data.x, data.labels, data.image_shape
    else:
        spec = SPECS[name]
        files = find_dataset_files(name, split, data_dir=data_dir, download=download)
        if name == "frey":
            data_file = spec.files["faces"]
            faces = read_frey(files["faces"], sha256=data_file.sha256 if verify else None)
            pixels = faces[frey_split_rows(faces.shape[0], split, protocol)]  # (N, 560) uint8
            labels, image_shape = None, FREY_IMAGE_SHAPE
        else:
            pixels, labels = _read_idx_split(spec, files, split, protocol, verify)
            pixels = pixels.reshape(pixels.shape[0], -1)                 # (N, 784) uint8
            image_shape = MNIST_IMAGE_SHAPE
        x = pixels.astype(dtype)                                          # (N, D)
        x /= 255
    if static_rng is not None:
        x = bernoulli_binarize(x, static_rng)                             # (N, D) in {0, 1}
    return Dataset(x=x, labels=labels, image_shape=image_shape, name=name, split=split,
                   binarize=binarize)
