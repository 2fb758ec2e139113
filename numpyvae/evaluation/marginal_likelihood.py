r"""The marginal likelihood estimator of Kingma & Welling 2013, appendix D.

For a low-dimensional latent space, with the generative model p(x, z) = p(z) p(x | z):

1. draw L samples z^(l) from the posterior p(z | x) by Hamiltonian Monte Carlo
   (gradient: d/dz log p(z) + d/dz log p(x | z));
2. fit a density q(z) to them (here a Gaussian with full covariance, fitted per datapoint);
3. draw L new posterior samples and compute

       p(x) ~= ( (1/L) sum_l q(z^(l)) / (p(z^(l)) p(x | z^(l))) )^{-1},

   which follows from E_{p(z|x)}[ q(z) / p(x, z) ] = 1 / p(x) for any normalised q. In logs:

       log p(x) ~= -log (1/L) sum_l exp( log q(z^(l)) - log p(x, z^(l)) ).

Unlike the plain harmonic mean (q = p(z)), the ratio stays bounded when q is at least as
concentrated as the posterior, so the estimator has small variance when q fits well. The fitted
covariance is shrunk by ``shrink`` (default 1, no shrinkage) to keep q's tails lighter than the
posterior's; the estimator stays consistent for any q.

The estimator does not use the recognition model except to start the chains, so it measures the
generative model alone, and it applies to models trained by any method (AEVB, wake-sleep, MCEM).
"""
import numpy as np

from .hmc import HMCSampler
from ..models.log_joint import log_joint
from ..ops.stable import logmeanexp
from ..arrays.random import as_generator
from ..arrays.validation import check_positive, check_positive_int

_RIDGE = 1e-9


def fit_gaussian(samples, shrink=1.0):
    r"""Per-datapoint Gaussian fits to HMC samples.

    Shapes: samples (L, B, Z) -> mean (B, Z), chol (B, Z, Z) with chol chol^T = shrink * Cov.
    A ridge of 1e-9 times the mean variance keeps the Cholesky factor defined.
    """
    s = np.asarray(samples, dtype=np.float64)
    L = s.shape[0]
    if L < 2:
        raise ValueError(f"need at least 2 samples per datapoint to fit a Gaussian, got {L}")
    mean = s.mean(axis=0)                                             # (B, Z)
    d = s - mean                                                      # (L, B, Z)
    cov = np.einsum("lbi,lbj->bij", d, d) / (L - 1)                   # (B, Z, Z)
    Z = s.shape[2]
    scale = np.trace(cov, axis1=1, axis2=2) / Z                       # (B,)
    cov = shrink * cov + (_RIDGE * np.maximum(scale, 1e-300))[:, None, None] * np.eye(Z)
    return mean, np.linalg.cholesky(cov)


def gaussian_logpdf(z, mean, chol):
    r"""log N(z_lb; mean_b, chol_b chol_b^T).   Shapes: z (L, B, Z), mean (B, Z), chol (B, Z, Z) -> (L, B)."""
    Z = z.shape[-1]
    d = np.asarray(z, dtype=np.float64) - mean                        # (L, B, Z)
    # solve chol_b y = d_lb for every l, b
    y = np.linalg.solve(chol[None], d[..., None])[..., 0]             # (L, B, Z)
    logdet = 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)   # (B,)
    return -0.5 * (Z * np.log(2 * np.pi) + logdet + (y * y).sum(axis=-1))


def hmc_marginal_likelihood(model, x, rng=None, n_samples=100, n_burnin=200, thin=1, n_leapfrog=10,
                            target_accept=0.9, shrink=1.0, batch_size=100, return_details=False):
    r"""Estimate log p(x) for every row of ``x`` by the appendix-D estimator.

    Parameters
    ----------
    model : VAE
        The generative model (decoder and the N(0, I) prior); the encoder only starts the chains.
    x : array (N, D)
    rng : numpy.random.Generator or int
    n_samples : int
        L: samples for the density fit, and L fresh samples for the estimator.
    n_burnin : int
        HMC transitions with step-size adaptation before any sample is kept.
    thin : int
        Transitions between kept samples.
    n_leapfrog : int
    target_accept : float
    shrink : float
        Factor on the fitted covariance.
    batch_size : int
        Datapoints whose chains run together. The search at the start of the burn-in runs 16 chains
        for each, so 100 datapoints make calls of 1,600 chains, whose (chains, D) arrays stay near
        the cache; calls of 16,000 chains (1,000 datapoints) cost 1.6-1.8 times as much per chain
        (``benchmarks/estimator_layouts.py``). The batches draw their own random numbers, so another
        batch size gives other (equally valid) estimates.
    return_details : bool
        Also return a dict with the mean acceptance rate and the spread of the log-ratios.

    Returns
    -------
    log_px : ndarray (N,)
    details : dict, only with ``return_details``
    """
    n_samples = check_positive_int("n_samples", n_samples)
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2 (a Gaussian is fitted to them), got {n_samples!r}")
    n_burnin = check_positive_int("n_burnin", n_burnin, allow_zero=True)
    thin = check_positive_int("thin", thin)
    batch_size = check_positive_int("batch_size", batch_size)
    shrink = check_positive("shrink", shrink)
    rng = as_generator(rng)
    x = model._data(x)
    sampler = HMCSampler(model, n_leapfrog=n_leapfrog, target_accept=target_accept)
    to_numpy = model.backend.to_numpy
    N = x.shape[0]
    log_px = np.empty(N)
    ratio_sd = np.empty(N)
    accepts = []
    for start in range(0, N, batch_size):
        xb = x[start:start + batch_size]
        z, step = sampler.init(xb)
        z, step = sampler.run(xb, z, step, n_burnin, rng, adapt=True)
        fit_samples, z, step = sampler.sample(xb, z, step, n_samples, rng, thin=thin)
        mean, chol = fit_gaussian(to_numpy(fit_samples), shrink)       # step 2
        eval_samples, z, step = sampler.sample(xb, z, step, n_samples, rng, thin=thin)   # step 3
        accepts.append(sampler.accept_rate_)
        zs = eval_samples.reshape(-1, eval_samples.shape[-1])         # (L*b, Z)
        xs = model.backend.xp.tile(xb, (n_samples, 1))                # (L*b, D), l-major like zs
        logp = to_numpy(log_joint(model, xs, zs)).reshape(n_samples, -1)   # (L, b)
        logq = gaussian_logpdf(to_numpy(eval_samples), mean, chol)    # (L, b)
        log_ratio = logq - logp                                       # (L, b)  log q(z) / p(x, z)
        log_px[start:start + xb.shape[0]] = -logmeanexp(log_ratio, axis=0)
        ratio_sd[start:start + xb.shape[0]] = log_ratio.std(axis=0)
    if return_details:
        return log_px, {"accept_rate": float(np.mean(accepts)), "log_ratio_sd": ratio_sd}
    return log_px
