"""What each data set consists of: file names, published checksums, subfolders, mirrors.

Checksums
---------
* MNIST: SHA-256 of the *decompressed* IDX bytes, so the official ``.gz`` files, recompressed
  copies and decompressed copies all verify.
* Frey Faces: SHA-256 of ``frey_rawface.mat`` itself.
* Fashion-MNIST: no checksum of the decompressed content is recorded here, so local files are
  checked for structure only. A download is checked against the MD5 of the official ``.gz``
  files published by the Fashion-MNIST authors.
"""

from dataclasses import dataclass

__all__ = ["DataFile", "DataSpec", "SPECS", "MIRRORS"]


@dataclass(frozen=True)
class DataFile:
    """One file of a data set.

    Attributes
    ----------
    names : tuple of str
        Accepted file names, the first being the one downloaded (e.g. ``"x.gz"``, ``"x"``).
    sha256 : str or None
        SHA-256 of the decompressed content (IDX) or of the file (other formats).
    download_md5 : str or None
        MD5 of the file as published on the mirrors, checked on download only.
    kind : {"idx", "mat"}
        File format.
    """

    names: tuple
    sha256: str = None
    download_md5: str = None
    kind: str = "idx"


@dataclass(frozen=True)
class DataSpec:
    """A data set.

    Attributes
    ----------
    name : str
        Canonical name, as given to ``load_dataset``.
    title : str
        Name for messages.
    subfolders : tuple of str
        Subfolder names the files may sit in below a data folder.
    files : dict
        Role (e.g. ``"train_images"``) -> :class:`DataFile`.
    split_roles : dict
        Split -> tuple of the roles whose files that split is read from.
    """

    name: str
    title: str
    subfolders: tuple
    files: dict
    split_roles: dict


def _idx(stem, sha256=None, download_md5=None):
    return DataFile(names=(stem + ".gz", stem), sha256=sha256, download_md5=download_md5)


_IDX_SPLIT_ROLES = {
    "train": ("train_images", "train_labels"),
    "valid": ("train_images", "train_labels"),
    "test": ("test_images", "test_labels"),
}

SPECS = {
    "mnist": DataSpec(
        name="mnist",
        title="MNIST",
        subfolders=("mnist", "MNIST"),
        files={
            "train_images": _idx(
                "train-images-idx3-ubyte",
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            ),
            "train_labels": _idx(
                "train-labels-idx1-ubyte",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            ),
            "test_images": _idx(
                "t10k-images-idx3-ubyte",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            ),
            "test_labels": _idx(
                "t10k-labels-idx1-ubyte",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            ),
        },
        split_roles=_IDX_SPLIT_ROLES,
    ),
    "fashion_mnist": DataSpec(
        name="fashion_mnist",
        title="Fashion-MNIST",
        subfolders=("fashion_mnist", "fashion-mnist", "fashion", "FashionMNIST"),
        files={
            "train_images": _idx(
                "train-images-idx3-ubyte", download_md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d"
            ),
            "train_labels": _idx(
                "train-labels-idx1-ubyte", download_md5="25c81989df183df01b3e8a0aad5dffbe"
            ),
            "test_images": _idx(
                "t10k-images-idx3-ubyte", download_md5="bef4ecab320f06d8554ea6380940ec79"
            ),
            "test_labels": _idx(
                "t10k-labels-idx1-ubyte", download_md5="bb300cfdad3c16e7a12a480ee83cd310"
            ),
        },
        split_roles=_IDX_SPLIT_ROLES,
    ),
    "frey": DataSpec(
        name="frey",
        title="Frey Faces",
        subfolders=("frey", "frey_faces", "frey-faces"),
        files={
            "faces": DataFile(
                names=("frey_rawface.mat",),
                kind="mat",
                sha256="b573da3ee4b0466c19d702956765135801515e4079bb15aa9a09d31310d63ab4",
            ),
        },
        split_roles={"train": ("faces",), "valid": ("faces",), "test": ("faces",)},
    ),
}

# Base URLs tried in order; a file's URL is base + its first name. Every download is verified
# against the checksums above, so a mirror needs no trust.
MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion_mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ],
    "frey": [
        "https://cs.nyu.edu/~roweis/data/",
    ],
}
