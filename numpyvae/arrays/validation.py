"""Input checks that turn bad input into one clear ValueError instead of a deep NumPy error."""
import math

import numpy as np

DTYPES = (np.float32, np.float64)
"""The floating-point types every model computes in."""



def check_choice(name, value, choices):
    """Raise ValueError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(map(str, choices))}")
    return value


def check_positive_int(name, value, allow_zero=False):
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < (0 if allow_zero else 1):
        bound = ">= 0" if allow_zero else ">= 1"
        raise ValueError(f"{name} must be an integer {bound}, got {value!r}")
    return int(value)


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
        For ``"bernoulli"`` the values must lie in [0, 1] (grey values are allowed).

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
    if likelihood == "bernoulli":
        if lo < 0.0 or hi > 1.0:
            raise ValueError(f"{name} must lie in [0, 1] for a Bernoulli likelihood, found values in "
                             f"[{lo:g}, {hi:g}]; rescale the data (e.g. divide pixels by 255)")
    return x


def check_noise(eps, batch_size, latent_dim, backend, dtype, name="eps"):
    """Validate reparameterization noise of shape (L, B, Z); a (B, Z) array is taken as L = 1."""
    xp = backend.xp
    eps = backend.asarray(eps)
    if eps.ndim == 2:
        eps = eps[None]
    if eps.ndim != 3 or eps.shape[1:] != (batch_size, latent_dim) or eps.shape[0] < 1:
        raise ValueError(f"{name} must have shape (L, batch={batch_size}, latent_dim={latent_dim}), "
                         f"got {tuple(eps.shape)}")
    eps = eps.astype(dtype, copy=False)
    if not bool(xp.isfinite(eps).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return eps
