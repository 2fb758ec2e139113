"""A model's bound on a data set: per datapoint (``model.bound``) and its mean, in chunks."""
import numpy as np

from ..arrays.validation import check_positive_int
from ..models.conditioning import condition_kwargs

__all__ = ["batch_bound", "mean_bound", "bound_name"]


def bound_name(model):
    """What ``model.bound`` computes, for labels and reports: the model's ``bound_name`` (an
    autoencoder's "minus the reconstruction loss", an IWAE's "importance-weighted bound L_k"), else
    "ELBO"."""
    return getattr(model, "bound_name", None) or "ELBO"


def _slice_condition(cond, start, stop):
    return {k: v[start:stop] for k, v in cond.items()}


def batch_bound(model, x, rng, n_samples=1, **cond):
    """Per-datapoint bound (B,) on the host: ``model.bound`` (every registered model has one; for a
    model without a likelihood it is minus the loss, see ``bound_name``)."""
    values = model.bound(x, rng=rng, n_samples=n_samples, **cond)
    backend = getattr(model, "backend", None)
    return np.asarray(backend.to_numpy(values) if backend is not None else values, dtype=np.float64)


def mean_bound(model, x, rng, labels=None, n_samples=1, batch_size=1000, return_sem=False):
    """Mean over the rows of ``x`` of the model's per-datapoint bound (nats per datapoint).

    Parameters
    ----------
    model : registered model
    x : array (N, D)
    rng : numpy.random.Generator
        Source of the reparameterization noise.
    labels : int array (N,), optional
        Needed by conditional models.
    n_samples : int
        L, noise samples per datapoint.
    batch_size : int
        Rows per forward pass (bounds memory).
    return_sem : bool
        Also return the standard error of the mean.

    Returns
    -------
    mean : float
    sem : float, only with ``return_sem``
    """
    n_samples = check_positive_int("n_samples", n_samples)
    batch_size = check_positive_int("batch_size", batch_size)
    if not hasattr(x, "shape"):
        x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty array of shape (N, D), got shape {tuple(x.shape)}")
    cond = condition_kwargs(model, labels)
    values = np.empty(x.shape[0])
    for start in range(0, x.shape[0], batch_size):
        stop = min(start + batch_size, x.shape[0])
        values[start:stop] = batch_bound(model, x[start:stop], rng, n_samples,
                                         **_slice_condition(cond, start, stop))
    mean = float(values.mean())
    if not return_sem:
        return mean
    sem = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")
    return mean, sem
