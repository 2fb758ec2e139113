"""A tiny in-memory data set for tests and examples: a noisy mixture of binary patterns.

Model: K prototype images ``patterns`` (K, D) with pixels ~ Bernoulli(1/2), drawn once from
``default_rng(pattern_seed)``; each sample picks a prototype uniformly at random (its label)
and flips each pixel independently with probability ``flip_prob``::

    label_n ~ Uniform{0, ..., K-1}
    x_nd    = patterns[label_n, d] XOR 1[u_nd < flip_prob],   u_nd ~ Uniform[0, 1)

The values are exactly 0 or 1. ``load_dataset("synthetic", split)`` returns a fixed instance:
K = 4 patterns of 8 x 8 pixels (pattern_seed 0), flip_prob 0.05, with
1000 / 200 / 200 samples for train / valid / test drawn from ``default_rng(1)``,
``default_rng(2)`` and ``default_rng(3)``.
"""

import numpy as np

from .dataset import Dataset

__all__ = ["make_synthetic", "synthetic_split", "SYNTHETIC_SIZES", "SYNTHETIC_SEEDS"]

SYNTHETIC_SIZES = {"train": 1000, "valid": 200, "test": 200}
SYNTHETIC_SEEDS = {"train": 1, "valid": 2, "test": 3}


def make_synthetic(n_samples, rng, *, n_patterns=4, image_shape=(8, 8), flip_prob=0.05,
                   pattern_seed=0, dtype=np.float64, split="train"):
    """Draw a noisy mixture of binary patterns (see the module docstring).

    Parameters
    ----------
    n_samples : int
        N >= 1.
    rng : numpy.random.Generator
        Source of the labels and the pixel flips.
    n_patterns : int
        K >= 1.
    image_shape : tuple of int
        (rows, columns); D = rows * columns.
    flip_prob : float in [0, 1]
    pattern_seed : int
        Seed of the prototypes; samples drawn with the same ``pattern_seed`` share them.
    dtype : floating dtype
    split : str
        Stored in the returned Dataset.

    Returns
    -------
    Dataset
        ``x`` (N, D) with values 0 or 1, ``labels`` (N,) int64 in [0, K), name
        ``"synthetic"``.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if int(n_samples) < 1 or int(n_patterns) < 1:
        raise ValueError(
            f"n_samples and n_patterns must be >= 1, got {n_samples} and {n_patterns}"
        )
    if not 0.0 <= flip_prob <= 1.0:
        raise ValueError(f"flip_prob must be in [0, 1], got {flip_prob}")
    image_shape = tuple(int(s) for s in image_shape)
    n_pixels = int(np.prod(image_shape))
    patterns = np.random.default_rng(pattern_seed).random((n_patterns, n_pixels)) < 0.5  # (K, D)
    labels = rng.integers(n_patterns, size=n_samples)                # (N,)
    flips = rng.random((n_samples, n_pixels)) < flip_prob            # (N, D)
    x = (patterns[labels] ^ flips).astype(dtype)                      # (N, D)
    return Dataset(x=x, labels=labels.astype(np.int64), image_shape=image_shape,
                   name="synthetic", split=split)


def synthetic_split(split, dtype=np.float64):
    """The fixed instance behind ``load_dataset("synthetic", split)``."""
    return make_synthetic(SYNTHETIC_SIZES[split], np.random.default_rng(SYNTHETIC_SEEDS[split]),
                          dtype=dtype, split=split)
