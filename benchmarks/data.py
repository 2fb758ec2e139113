"""Minibatches for the timed configurations: the model's own data set when its files are found.

numpyvae's data layer leaves out the pixel columns that are zero in every image of the minibatch
(``numpyvae.ops.linear.linear_skip_zero_columns_forward``); on MNIST that is a third of them at
batch 100. The frameworks compute every column whatever the data, so real images are the fair input:
the suite times the MNIST configurations on random MNIST training images (grey values in [0, 1], as
the reproduction trains) and Frey Face on Frey Face images, found as ``numpyvae.load_dataset`` finds
them (``NUMPYVAE_DATA``, the user cache; never downloaded here). Without the files it falls back to
the synthetic batch of :func:`benchmarks.frameworks.common.make_batch` (binary pixels, 30 % on:
every column used) and says so in the report.
"""

import functools

import numpy as np

from .frameworks.common import make_batch


@functools.lru_cache(maxsize=None)
def _training_images(name):
    from numpyvae.datasets import load_dataset

    return load_dataset(name, dtype=np.float64, download=False).x


def batch(config, rng, dtype):
    """``(x (B, D), eps (L, B, Z), source)`` for one configuration; ``source`` names the data."""
    spec, B, L = config.spec, config.batch_size, config.n_samples
    if config.data in ("mnist", "frey"):
        try:
            images = _training_images(config.data)
        except Exception as err:                                      # files absent: synthetic, said so
            source = f"synthetic ({config.data} files not found: {type(err).__name__})"
        else:
            if images.shape[1] == spec.input_dim:
                x = images[rng.choice(len(images), B, replace=B > len(images))].astype(dtype)     # (B, D)
                eps = rng.standard_normal((L, B, spec.latent_dim)).astype(dtype)                 # (L, B, Z)
                used = int(np.count_nonzero(x.any(axis=0)))
                return x, eps, f"{config.data} training images ({used} of {spec.input_dim} columns used)"
            source = f"synthetic ({config.data} images have {images.shape[1]} pixels)"
    else:
        source = "synthetic"
    x, eps = make_batch(spec, B, L, rng, dtype)
    return x, eps, source
