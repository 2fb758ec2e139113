"""Evaluating a model's bound on a data set, in chunks, and the label condition of conditional models."""
import numpy as np

__all__ = ["one_hot", "needs_labels", "condition_size", "condition_kwargs", "mean_bound"]


def one_hot(labels, n_classes, dtype=np.float64):
    """Integer labels (N,) -> one-hot rows (N, n_classes).

    Raises
    ------
    ValueError
        For labels that are not integers in [0, n_classes).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be a 1-D integer array, got dtype {labels.dtype} shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), found values in [{labels.min()}, {labels.max()}]")
    out = np.zeros((labels.shape[0], int(n_classes)), dtype=dtype)     # (N, K)
    out[np.arange(labels.shape[0]), labels] = 1
    return out


def needs_labels(model):
    """True for a model conditioned on the class label (``needs_labels = True``)."""
    return bool(getattr(model, "needs_labels", False))


CONDITION_SIZE_NAMES = ("n_classes", "condition_dim")


def condition_size(model_or_class, default=None):
    """The number of classes of a conditional model (its ``n_classes`` or ``condition_dim``)."""
    for name in CONDITION_SIZE_NAMES:
        value = getattr(model_or_class, name, None)
        if isinstance(value, (int, np.integer)):
            return int(value)
    return default


def condition_kwargs(model, labels):
    """Keyword arguments that condition ``model`` on ``labels``: ``{}`` or ``{"c": one-hot (N, K)}``.

    Raises
    ------
    ValueError
        When the model needs labels and none are given.
    """
    if not needs_labels(model):
        return {}
    if labels is None:
        raise ValueError(f"{type(model).__name__} is conditioned on class labels; pass labels (y) with the data")
    n_classes = condition_size(model)
    if n_classes is None:
        raise ValueError(f"{type(model).__name__} needs labels but says nothing of their number "
                         f"(set n_classes or condition_dim)")
    return {"c": one_hot(labels, n_classes, getattr(model, "dtype", np.float64))}


def _slice_condition(cond, start, stop):
    return {k: v[start:stop] for k, v in cond.items()}


def batch_bound(model, x, rng, n_samples=1, **cond):
    """Per-datapoint bound (B,) on the host: ``model.elbo`` if the model has one, else its
    per-datapoint ``score`` (higher is better), else minus its loss repeated over the batch."""
    from ..estimator import EstimatorMixin

    if hasattr(model, "elbo"):
        values = model.elbo(x, rng=rng, n_samples=n_samples, **cond)
    elif callable(getattr(model, "score", None)) and not isinstance(model, EstimatorMixin):
        values = model.score(x, rng=rng, n_samples=n_samples, **cond)   # e.g. minus a reconstruction loss
    else:
        loss, _ = model.loss_and_grads(x, rng=rng, n_samples=n_samples, **cond)
        return np.full(x.shape[0], -float(loss))
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
