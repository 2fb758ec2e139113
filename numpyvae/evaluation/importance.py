r"""Importance-sampled estimates of the marginal likelihood log p(x).

With z_k ~ q(z | x), k = 1..K, and weights w_k = p(x, z_k) / q(z_k | x):

    log p(x) ~= log (1/K) sum_k w_k        (Rezende et al. 2014; Burda et al. 2015; K&W's appendix-D estimator is numpyvae.evaluation.marginal_likelihood)

This is a lower bound in expectation that tightens as K grows and is consistent as K -> inf.
The K samples are drawn in chunks, and the sums kept as running log-sum-exps, so memory stays
bounded (and the arrays near the cache) for K = 5000 on full MNIST.

Derivation: docs/derivations.md#log-px
"""
import numpy as np

from ..ops.stable import logsumexp
from ..arrays.random import as_generator
from ..arrays.validation import check_optional_positive_int, check_positive_int


def importance_sampled_log_px(model, x, n_samples=5000, rng=None, chunk_size=None, batch_size=100, c=None):
    """Estimate log p(x) (log p(x | c) for a conditional model) for every row of ``x`` by importance
    sampling with q(z|x) as proposal.

    Parameters
    ----------
    model : object with ``log_weights(x, eps)`` and ``latent_dim`` (e.g. :class:`numpyvae.VAE`)
    x : array (N, D)
    n_samples : int
        K, the number of importance samples per datapoint.
    rng : numpy.random.Generator or int, optional
    chunk_size : int, optional
        Samples per chunk; by default chosen so a chunk holds about 1e6 decoder outputs (12 samples
        of 100 MNIST images), whose arrays stay near the cache: chunks of 4e7 outputs took 2.3 times
        as long (``benchmarks/estimator_layouts.py``). The estimate does not depend on it: the noise
        is drawn sample-major, so the chunks together draw the same numbers.
    batch_size : int
        Datapoints per batch.
    c : array, optional
        The condition of every row of ``x`` (labels (N,) or one-hot rows (N, C)), required by a
        conditional model (``needs_labels``) and passed to its ``log_weights`` batch by batch.

    Returns
    -------
    log_px : ndarray (N,)
        The estimates, on the host.
    stderr : ndarray (N,)
        Delta-method standard error of each estimate: sqrt(Var(w) / K) / mean(w).
    """
    K = check_positive_int("n_samples", n_samples)
    batch_size = check_positive_int("batch_size", batch_size)
    chunk_size = check_optional_positive_int("chunk_size", chunk_size)
    rng = as_generator(rng)
    x = model._data(x)
    N = x.shape[0]
    if getattr(model, "needs_labels", False):
        if c is None:
            raise ValueError(f"{type(model).__name__} is conditioned on labels: pass the labels of every row of x as keyword c=")
        c = model._condition(c, N)                                     # (N, C) one-hot
    elif c is not None:
        raise ValueError(f"{type(model).__name__} is not conditional: c must be None")
    if chunk_size is None:
        chunk_size = max(1, min(K, int(1e6 // (batch_size * model.input_dim))))
    to_numpy = model.backend.to_numpy
    log_px = np.empty(N)
    stderr = np.empty(N)
    for start in range(0, N, batch_size):
        xb = x[start:start + batch_size]
        lse1 = np.full(xb.shape[0], -np.inf)                          # log sum_k w_k
        lse2 = np.full(xb.shape[0], -np.inf)                          # log sum_k w_k^2
        for k0 in range(0, K, chunk_size):
            k = min(chunk_size, K - k0)
            eps = model.backend.standard_normal(rng, (k, xb.shape[0], model.latent_dim), model.dtype)
            cond = {} if c is None else {"c": c[start:start + batch_size]}
            logw = to_numpy(model.log_weights(xb, eps, **cond)).astype(np.float64)  # (k, b)
            lse1 = np.logaddexp(lse1, logsumexp(logw, axis=0))
            lse2 = np.logaddexp(lse2, logsumexp(2 * logw, axis=0))
        log_px[start:start + xb.shape[0]] = lse1 - np.log(K)
        # Var(w) / mean(w)^2 = K sum w^2 / (sum w)^2 - 1
        rel_var = np.maximum(np.exp(lse2 - 2 * lse1 + np.log(K)) - 1.0, 0.0)
        stderr[start:start + xb.shape[0]] = np.sqrt(rel_var / K)
    return log_px, stderr

