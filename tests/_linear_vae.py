"""A VAE that *is* a probabilistic PCA model, with the exact posterior as its recognition model.

PPCA: z ~ N(0, I_K), x | z ~ N(W z + mean, sigma^2 I). As a VAE with no hidden layers:
decoder mean head dec.mean.W = W^T (K, D), dec.mean.b = mean; the "gaussian" likelihood's log-variance
head with dec.logvar.W = 0 and dec.logvar.b = log sigma^2 (or "gaussian_fixed" with sigma).
The maximum-likelihood W of ppca_closed_form has orthogonal columns, so the exact posterior
N(M^{-1} W^T (x - mean) / sigma^2, M^{-1}), M = I + W^T W / sigma^2, has a diagonal covariance and the
diagonal-Gaussian encoder with no hidden layers represents it exactly.
"""
import numpy as np

import numpyvae as nv
from numpyvae.evaluation.linear_gaussian import ppca_closed_form


def make_data(rng, n=400, d=6, k=2, noise=0.3):
    W = rng.standard_normal((d, k))
    mean = rng.standard_normal(d)
    z = rng.standard_normal((n, k))
    return z @ W.T + mean + noise * rng.standard_normal((n, d))


def ppca_vae(x, k, likelihood="gaussian", exact_encoder=True, rng=0):
    """(VAE equal to the ML PPCA model of x, (W, mean, sigma2))."""
    W, mean, sigma2 = ppca_closed_form(x, k)
    d = x.shape[1]
    model = nv.VAE(d, (), k, likelihood=likelihood, dtype=np.float64, rng=rng,
                   sigma=float(np.sqrt(sigma2)))
    p = model.params
    p["dec.mean.W"][...] = W.T
    p["dec.mean.b"][...] = mean
    if likelihood == "gaussian":
        p["dec.logvar.W"][...] = 0.0
        p["dec.logvar.b"][...] = np.log(sigma2)
    M = np.eye(k) + W.T @ W / sigma2
    M_inv = np.linalg.inv(M)
    assert np.abs(M_inv - np.diag(np.diag(M_inv))).max() < 1e-10 * np.abs(M_inv).max()   # diagonal posterior
    if exact_encoder:
        A = W @ M_inv / sigma2                                          # (D, K): m = (x - mean) A
        p["enc.mu.W"][...] = A
        p["enc.mu.b"][...] = -mean @ A
        p["enc.logvar.W"][...] = 0.0
        p["enc.logvar.b"][...] = np.log(np.diag(M_inv))
    return model, (W, mean, sigma2)
