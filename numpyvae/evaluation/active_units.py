r"""The number of active latent units: the units u with Cov_x(E_{q(u|x)}[u]) > 0.01 (Burda et al.
2015, section 5.2), per stochastic layer."""
import numpy as np

from ..arrays.random import as_generator
from ..arrays.validation import check_nonnegative, check_positive_int


def active_units(model, x, threshold=1e-2, rng=None, n_samples=100, batch_size=1000, c=None):
    """Active latent units: A_u = Cov_x(E_{q(u|x)}[u]) > ``threshold`` (Burda et al. 2015, eq. 16).

    Parameters
    ----------
    model : a model with ``posterior_means(x, rng, n_samples)`` (one (B, Z_l) array per stochastic
        layer) or ``encode(x) -> (mu, ...)`` (the core :class:`numpyvae.VAE`).
    x : array (N, D)
    n_samples : int
        Samples of the lower layers used to average the upper layers' means (hierarchical models).
    c : labels or array, for conditional models.

    Returns
    -------
    dict with ``"counts"`` (list of ints, one per layer), ``"total"`` (int) and ``"variances"``
    (list of ndarrays (Z_l,), the statistic of every unit).
    """
    threshold = check_nonnegative("threshold", threshold)
    n_samples = check_positive_int("n_samples", n_samples)
    batch_size = check_positive_int("batch_size", batch_size)
    rng = as_generator(rng)
    x = model._data(x)
    conditional = getattr(model, "needs_labels", False)
    if not conditional and c is not None:
        raise ValueError(f"{type(model).__name__} is not conditional: c must be None")
    cond = model._condition(c, x.shape[0]) if conditional else None
    means = None
    for s in range(0, x.shape[0], batch_size):
        extra = {} if cond is None else {"c": cond[s:s + batch_size]}
        xb = x[s:s + batch_size]
        if hasattr(model, "posterior_means"):
            layers = model.posterior_means(xb, rng=rng, n_samples=n_samples, **extra)
        else:
            layers = [model.encode(xb, **extra)[0]]
        layers = [model.backend.to_numpy(a).astype(np.float64) for a in layers]
        means = [[a] for a in layers] if means is None else [m + [a] for m, a in zip(means, layers)]
    variances = [np.concatenate(m).var(axis=0) for m in means]
    counts = [int((v > threshold).sum()) for v in variances]
    return {"counts": counts, "total": sum(counts), "variances": variances}
