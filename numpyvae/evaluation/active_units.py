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


def latent_activity(model, x, labels=None, batch_size=1000):
    r"""How much each latent dimension is used on ``x``: ``(values (Z,), statistic)``.

    For a Gaussian posterior, the mean KL of each dimension's marginal from N(0, 1),

        KL_j = mean_x 1/2 [ mu_j(x)^2 + s_j(x)^2 - 1 - log s_j(x)^2 ]      (nats; 0 for a dimension the
                                                                            encoder ignores)

    with s_j^2 = exp(logvar_j) (``encode`` gives mu, logvar) or the diagonal of L L^T (a full
    covariance, ``encode`` gives mu, L); the KL of the whole posterior is the sum of these only for
    a diagonal one. For a model without a Gaussian posterior (an autoencoder's codes, a VQ-VAE's
    quantised vectors) the variance over ``x`` of ``model.embed`` (Burda et al.'s activity
    statistic). ``statistic`` names which: ``"mean KL"`` or ``"variance of the codes"``. The
    dimensions are those of ``model.embed`` (z1 for the hierarchical VAE).

    Parameters
    ----------
    model : registered model
    x : array (N, D)
    labels : int array (N,), for a conditional model
    batch_size : int
    """
    from ..models.conditioning import condition_kwargs

    batch_size = check_positive_int("batch_size", batch_size)
    cond = condition_kwargs(model, labels)
    host = model.backend.to_numpy
    kl, codes = [], []
    for s in range(0, x.shape[0], batch_size):
        part = {k: v[s:s + batch_size] for k, v in cond.items()}
        xb = x[s:s + batch_size]
        out = model.encode(xb, **part)
        if isinstance(out, tuple) and len(out) == 2 and np.ndim(out[0]) == 2:
            mu, spread = (host(a).astype(np.float64) for a in out)      # (B, Z), (B, Z) or (B, Z, Z)
            if spread.shape == mu.shape:                                 # log-variance
                var, logvar = np.exp(spread), spread
            elif spread.shape == mu.shape + mu.shape[1:]:                # scale_tril L: Sigma = L L^T
                var = (spread ** 2).sum(axis=-1)                         # (B, Z)
                logvar = np.log(var)
            else:
                raise ValueError(f"{type(model).__name__}.encode gives shapes {mu.shape} and {spread.shape}, "
                                 f"neither (mu, logvar) nor (mu, L)")
            kl.append(0.5 * (mu ** 2 + var - 1.0 - logvar))              # (B, Z)
        else:
            codes.append(host(model.embed(xb, **part)).astype(np.float64))
    if kl:
        return np.concatenate(kl).mean(axis=0), "mean KL"
    return np.concatenate(codes).var(axis=0), "variance of the codes"


def most_active_dims(model, x, n=2, labels=None):
    """The ``n`` latent dimensions of largest :func:`latent_activity` on ``x``, most active first:
    ``(dims (tuple of int), values (n,), statistic)``."""
    n = check_positive_int("n", n)
    values, statistic = latent_activity(model, x, labels)
    if values.shape[0] < n:
        raise ValueError(f"{type(model).__name__} has {values.shape[0]} latent dimensions, fewer than {n}")
    order = np.argsort(-values, kind="stable")[:n]
    return tuple(int(i) for i in order), values[order], statistic
