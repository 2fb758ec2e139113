"""Input checks that turn bad input into one clear ValueError instead of a deep NumPy error."""
import math
import numbers

import numpy as np

DTYPES = (np.float32, np.float64)
"""The floating-point types every model computes in."""


class NonFiniteError(ValueError, FloatingPointError):
    """A computed value (a loss, a bound) came out NaN or infinite; the message says which and why.

    ``value`` holds the offending value and ``cause`` the short reason (the message adds advice).
    A ``ValueError`` (so front ends report it as bad input) and a ``FloatingPointError`` (so code
    written for ``numpy.errstate(all="raise")`` catches it).
    """

    def __init__(self, message, value=float("nan"), cause=None):
        super().__init__(message)
        self.value = value
        self.cause = message if cause is None else cause


def check_real(name, value):
    """A finite real number as a float: ints, floats and NumPy scalars; never a string, a bool or a
    complex number (``float("1")`` would accept a string, ``float(1j)`` fails deep inside NumPy)."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return v


def check_positive(name, value):
    """A finite real number > 0, as a float."""
    v = check_real(name, value)
    if not v > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return v


def check_nonnegative(name, value):
    """A finite real number >= 0, as a float."""
    v = check_real(name, value)
    if not v >= 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def check_interval(name, value, low, high, closed="left"):
    """A finite real number in the interval from ``low`` to ``high``; ``closed`` says which ends
    belong to it: ``"left"`` [low, high), ``"right"`` (low, high], ``"both"``, ``"neither"``."""
    v = check_real(name, value)
    lo_ok = v >= low if closed in ("left", "both") else v > low
    hi_ok = v <= high if closed in ("right", "both") else v < high
    if not (lo_ok and hi_ok):
        left = "[" if closed in ("left", "both") else "("
        right = "]" if closed in ("right", "both") else ")"
        raise ValueError(f"{name} must be in {left}{low:g}, {high:g}{right}, got {value!r}")
    return v


def check_bool(name, value):
    """``True`` or ``False`` (a NumPy bool too); never a string such as ``"False"``, which is truthy."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(name, value, choices):
    """Raise ValueError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(map(str, choices))}")
    return value


def check_positive_int(name, value, allow_zero=False):
    """An integer >= 1 (>= 0 with ``allow_zero``), as an int; never a float such as 1.5 or 2.0, nor a bool."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok or value < (0 if allow_zero else 1):
        bound = ">= 0" if allow_zero else ">= 1"
        raise ValueError(f"{name} must be an integer {bound}, got {value!r}")
    return int(value)


def check_optional_positive_int(name, value):
    """None, or an integer >= 1."""
    return None if value is None else check_positive_int(name, value)


UNIT_INTERVAL_LIKELIHOODS = {
    "bernoulli": "Bernoulli likelihood",
    "gaussian_sigmoid": "gaussian_sigmoid likelihood (its mean is a sigmoid, in (0, 1); use 'gaussian' "
                        "for data on another scale)",
}
"""Likelihoods whose data must lie in [0, 1], with how messages name them."""


def check_data(x, dim, backend, dtype, likelihood=None, name="x"):
    """Validate a data batch and convert it to the model's array type and dtype.

    Parameters
    ----------
    x : array-like, (B, dim)
    dim : int
        Expected number of columns.
    backend : Backend
    dtype : numpy dtype
    likelihood : str or None
        For ``"bernoulli"`` and ``"gaussian_sigmoid"`` (whose mean is a sigmoid, in (0, 1)) the
        values must lie in [0, 1] (grey values are allowed).

    Raises
    ------
    ValueError
        Naming the problem: not 2-D, wrong width, empty, non-numeric, NaN or inf, or values outside
        [0, 1] for a Bernoulli model.
    """
    xp = backend.xp
    try:
        x = backend.asarray(x)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} could not be read as a numeric array: {exc}") from None
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {x.dtype}")
    if x.ndim != 2:
        hint = " (a single datapoint must be passed as shape (1, D))" if x.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D with shape (batch, {dim}), got shape {tuple(x.shape)}{hint}")
    if x.shape[1] != dim:
        raise ValueError(f"{name} has {x.shape[1]} columns but the model expects input_dim={dim}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty (batch size 0)")
    x = x.astype(dtype, copy=False)
    lo, hi = float(x.min()), float(x.max())                           # NaN propagates; inf shows here
    if not (math.isfinite(lo) and math.isfinite(hi)):
        n_bad = int((~xp.isfinite(x)).sum())
        raise ValueError(f"{name} contains {n_bad} NaN or infinite value(s)")
    if likelihood in UNIT_INTERVAL_LIKELIHOODS and (lo < 0.0 or hi > 1.0):
        raise ValueError(f"{name} must lie in [0, 1] for a {UNIT_INTERVAL_LIKELIHOODS[likelihood]}, found "
                         f"values in [{lo:g}, {hi:g}]; rescale the data (e.g. divide pixels by 255)")
    return x


def _real_array(a, backend, name):
    """``a`` as an array of the backend holding real numbers (no strings, objects or complex numbers)."""
    try:
        a = backend.asarray(a)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} could not be read as a numeric array: {exc}") from None
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {a.dtype}")
    return a


def check_latents(z, width, backend, dtype, name="z"):
    """Validate latent points (B, width) or (L, B, width): real, finite, of the model's dtype."""
    z = _real_array(z, backend, name)
    if z.ndim not in (2, 3) or z.shape[-1] != width:
        raise ValueError(f"{name} must have shape (B, {width}) or (L, B, {width}), got {tuple(z.shape)}")
    z = z.astype(dtype, copy=False)
    if not bool(backend.xp.isfinite(z).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return z


def check_noise(eps, batch_size, latent_dim, backend, dtype, name="eps"):
    """Validate reparameterization noise of shape (L, B, Z); a (B, Z) array is taken as L = 1."""
    xp = backend.xp
    eps = _real_array(eps, backend, name)
    if eps.ndim == 2:
        eps = eps[None]
    if eps.ndim != 3 or eps.shape[1:] != (batch_size, latent_dim) or eps.shape[0] < 1:
        raise ValueError(f"{name} must have shape (L, batch={batch_size}, latent_dim={latent_dim}), "
                         f"got {tuple(eps.shape)}")
    eps = eps.astype(dtype, copy=False)
    if not bool(xp.isfinite(eps).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return eps
