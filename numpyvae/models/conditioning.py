"""The condition of conditional models: class labels as one-hot rows, passed as ``c=``."""
import numpy as np

__all__ = ["one_hot", "needs_labels", "condition_size", "condition_kwargs", "CONDITION_SIZE_NAMES"]


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
