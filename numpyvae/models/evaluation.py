r"""Evaluation helpers for the model variants: importance-sampled log p(x) for conditional models,
and the number of active latent units.

- :func:`estimate_log_px` runs :func:`numpyvae.importance_sampled_log_px` (unchanged protocol:
  K samples in chunks, running log-sum-exps, delta-method standard errors) on any model with
  ``log_weights(x, eps)``, passing a condition ``c`` batch by batch to conditional models.
- :func:`active_units` counts the units u with Cov_x(E_{q(u|x)}[u]) > 0.01 (Burda et al. 2015,
  section 5.2), per stochastic layer.
"""
import numpy as np

from ..evaluation import importance_sampled_log_px
from ..vae import as_generator


class _Conditioned:
    """A conditional model seen as an unconditional one, for one batch of conditions ``c``."""

    def __init__(self, model, c):
        self._model = model
        self._c = c
        for name in ("input_dim", "latent_dim", "backend", "dtype"):
            setattr(self, name, getattr(model, name))

    def _data(self, x):
        return self._model._data(x)

    def log_weights(self, x, eps):
        return self._model.log_weights(x, eps, c=self._c)


def estimate_log_px(model, x, n_samples=5000, rng=None, chunk_size=None, batch_size=100, c=None):
    """Importance-sampled log p(x) (log p(x | c) for a conditional model) with standard errors.

    Parameters are those of :func:`numpyvae.importance_sampled_log_px`, plus ``c``: the condition of
    every row of ``x`` (labels (N,) or an array (N, C)), required when ``model.needs_labels``.

    Returns
    -------
    log_px : ndarray (N,)
    stderr : ndarray (N,)
    """
    if not getattr(model, "needs_labels", False):
        if c is not None:
            raise ValueError(f"{type(model).__name__} is not conditional: c must be None")
        return importance_sampled_log_px(model, x, n_samples=n_samples, rng=rng, chunk_size=chunk_size,
                                         batch_size=batch_size)
    x = model._data(x)
    c = model._condition(c, x.shape[0])
    rng = as_generator(rng)
    parts = [importance_sampled_log_px(_Conditioned(model, c[s:s + batch_size]), x[s:s + batch_size],
                                       n_samples=n_samples, rng=rng, chunk_size=chunk_size, batch_size=batch_size)
             for s in range(0, x.shape[0], batch_size)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


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
