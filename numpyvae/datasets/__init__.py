"""Data sets: MNIST, Fashion-MNIST, Frey Faces and a small synthetic set.

``load_dataset(name, split)`` is the front door; it finds the files (``data_dir``, then
``$NUMPYVAE_DATA``, then the user cache, then a verified download), checks them, and returns
a :class:`Dataset` of flattened images scaled to [0, 1].
"""

from .binarize import BINARIZE_MODES, bernoulli_binarize
from .dataset import Dataset
from .errors import ChecksumError, DatasetFormatError, DatasetNotFoundError
from .frey import read_frey
from .idx import read_idx
from .load import DATASET_NAMES, PROTOCOLS, SPLITS, find_dataset_files, load_dataset
from .locate import ENV_VAR, cache_dir
from .mnist import read_idx_images, read_idx_labels
from .synthetic import make_synthetic

__all__ = [
    "BINARIZE_MODES", "DATASET_NAMES", "ENV_VAR", "PROTOCOLS", "SPLITS",
    "ChecksumError", "Dataset", "DatasetFormatError", "DatasetNotFoundError",
    "bernoulli_binarize", "cache_dir", "find_dataset_files", "load_dataset", "make_synthetic",
    "read_frey", "read_idx", "read_idx_images", "read_idx_labels",
]
