"""Binarization of grey-level images for Bernoulli decoders.

Modes (``binarize=`` in :func:`~numpyvae.datasets.load_dataset`):

* ``"none"``: keep the grey values in [0, 1] (as Kingma & Welling 2013 do for MNIST).
* ``"static"``: one fixed draw ``b_nd ~ Bernoulli(x_nd)`` made at load time from a seeded
  Generator; the same seed gives the same binary data set.
* ``"dynamic"``: a fresh draw every epoch; the data set keeps the grey values and
  :meth:`Dataset.epoch_view` draws from the trainer's Generator.
"""

import numpy as np

__all__ = ["BINARIZE_MODES", "bernoulli_binarize"]

BINARIZE_MODES = ("none", "static", "dynamic")


def bernoulli_binarize(x, rng):
    r"""One Bernoulli draw per pixel, with the grey value as the probability of a 1.

    b_nd = 1[u_nd < x_nd],  u_nd ~ Uniform[0, 1)   so  P(b_nd = 1) = x_nd
    Shapes: x (N, D) -> b (N, D), same dtype as x, entries exactly 0 or 1.

    Parameters
    ----------
    x : numpy.ndarray of float, values in [0, 1]
    rng : numpy.random.Generator
        Source of the uniforms (float64 whatever ``x.dtype``, so a seed gives the same draw
        in float32 and float64).

    Returns
    -------
    b : numpy.ndarray, shape and dtype of ``x``
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(0)), "
            f"got {type(rng).__name__}"
        )
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise ValueError(f"x must be a floating-point array of probabilities, got {x.dtype}")
    if x.size and not (x.min() >= 0.0 and x.max() <= 1.0):  # also catches NaN
        raise ValueError(
            f"x must hold probabilities in [0, 1] without NaN, found values in "
            f"[{np.nanmin(x)}, {np.nanmax(x)}]{' and NaN' if np.isnan(x).any() else ''}"
        )
    u = rng.random(x.shape)                                           # (N, D) float64
    return (u < x).astype(x.dtype)                                    # (N, D)
