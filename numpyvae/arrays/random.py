"""Random generators: every random draw of the library comes from a ``numpy.random.Generator``."""
import numbers

import numpy as np

__all__ = ["as_generator"]


def as_generator(rng, name="rng"):
    """A ``numpy.random.Generator``: ``rng`` itself, or a new one seeded by an integer, or (None) by
    fresh entropy from the operating system, as ``numpy.random.default_rng`` does.

    Raises
    ------
    ValueError
        For anything else (a float, a negative seed, a legacy ``RandomState``), naming ``name``.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if int(rng) < 0:
            raise ValueError(f"{name} must be a non-negative integer seed, got {rng!r}")
        return np.random.default_rng(int(rng))
    raise ValueError(f"{name} must be a numpy.random.Generator, an integer seed or None, got {type(rng).__name__}")
