r"""Diagonal Gaussian ops: the reparameterized sample, the closed-form KL to N(0, I), and log
densities (Kingma & Welling 2013, section 2.4 and appendix B).

Every diagonal Gaussian here is parameterised by its mean ``mu`` and log-variance ``logvar``:
q(z | x) = N(z; mu, diag(exp(logvar))), so sigma = exp(logvar / 2).

Derivation: docs/derivations.md#reparameterization
"""
import math

from ..arrays.backend import array_module
from .registry import register_op

LOG_2PI = math.log(2.0 * math.pi)


def reparameterize_forward(mu, logvar, eps):
    r"""z = mu + exp(logvar / 2) * eps  (K&W eq. 4; the reparameterization trick).

    Shapes: mu (B, Z), logvar (B, Z), eps (L, B, Z) -> z (L, B, Z): L samples per datapoint.
    """
    xp = array_module(mu)
    sigma = xp.exp(0.5 * logvar)                                      # (B, Z)
    z = mu + sigma * eps                                              # (L, B, Z)
    return z, (sigma, eps)


def reparameterize_backward(dz, cache):
    r"""Gradients of z_l = mu + exp(logvar / 2) * eps_l, summed over the L samples.

    dL/dmu     = sum_l dz_l                                   (dz_l/dmu = 1)
    dL/dlogvar = sum_l dz_l * eps_l * exp(logvar / 2) / 2     (dz_l/dlogvar = eps_l sigma / 2)
    Shapes: dz (L, B, Z) -> dmu (B, Z), dlogvar (B, Z).
    """
    sigma, eps = cache
    dmu = dz.sum(axis=0)                                              # (B, Z)
    dlogvar = 0.5 * sigma * (dz * eps).sum(axis=0)                    # (B, Z)
    return dmu, dlogvar


def kl_standard_normal_forward(mu, logvar):
    r"""KL(N(mu, diag(exp(logvar))) || N(0, I)) in closed form (K&W appendix B).

    KL = 1/2 sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j)
    Shapes: mu (B, Z), logvar (B, Z) -> kl (B,).
    """
    xp = array_module(mu)
    var = xp.exp(logvar)                                              # (B, Z)
    kl = 0.5 * xp.sum(mu * mu + var - 1.0 - logvar, axis=-1)          # (B,)
    return kl, (mu, var)


def kl_standard_normal_backward(dkl, cache):
    r"""dKL/dmu_j = mu_j;   dKL/dlogvar_j = (exp(logvar_j) - 1) / 2.

    Shapes: dkl (B,), or a scalar weight shared by every datapoint -> dmu (B, Z), dlogvar (B, Z).
    """
    mu, var = cache
    dmu = dkl[..., None] * mu                                         # (B, Z)
    dlogvar = 0.5 * dkl[..., None] * (var - 1.0)                      # (B, Z)
    return dmu, dlogvar


def log_normal_forward(z, mu, logvar):
    r"""log N(z; mu, diag(exp(logvar))), summed over the last axis.

    log N = -1/2 sum_j [ log(2 pi) + logvar_j + (z_j - mu_j)^2 exp(-logvar_j) ]
    Shapes: z (..., Z); mu, logvar broadcastable to z -> logp (...).
    """
    xp = array_module(z)
    inv_var = xp.exp(-logvar)                                         # (..., Z)
    diff = z - mu                                                     # (..., Z)
    quad = diff * diff * inv_var                                      # (..., Z)
    logp = -0.5 * xp.sum(LOG_2PI + logvar + quad, axis=-1)            # (...)
    return logp, (diff, inv_var, quad, xp.shape(mu), xp.shape(logvar))


def log_normal_backward(dlogp, cache):
    r"""Gradients of log N(z; mu, diag(exp(logvar))).

    d/dz_j      = -(z_j - mu_j) exp(-logvar_j)
    d/dmu_j     = +(z_j - mu_j) exp(-logvar_j)
    d/dlogvar_j = -1/2 + 1/2 (z_j - mu_j)^2 exp(-logvar_j)
    Broadcast inputs get their gradients summed over the broadcast axes.
    Shapes: dlogp (...) or a scalar -> dz (..., Z), dmu (mu's shape), dlogvar (logvar's shape).
    """
    diff, inv_var, quad, mu_shape, logvar_shape = cache
    g = dlogp[..., None]                                              # (..., 1)
    dz = -g * diff * inv_var                                          # (..., Z)
    dmu = _sum_to_shape(-dz, mu_shape)
    dlogvar = _sum_to_shape(0.5 * g * (quad - 1.0), logvar_shape)
    return dz, dmu, dlogvar


def log_standard_normal_forward(z):
    r"""log N(z; 0, I) = -1/2 sum_j (log(2 pi) + z_j^2).   Shapes: z (..., Z) -> logp (...)."""
    xp = array_module(z)
    return -0.5 * xp.sum(LOG_2PI + z * z, axis=-1), z


def log_standard_normal_backward(dlogp, z):
    r"""d log N(z; 0, I) / dz_j = -z_j.   Shapes: dlogp (...) or a scalar -> dz (..., Z)."""
    return -dlogp[..., None] * z


def _sum_to_shape(g, shape):
    """Sum ``g`` over the leading axes that broadcasting added to an array of ``shape``."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def _reparam_inputs(rng, dtype):
    return [rng.standard_normal((3, 4)).astype(dtype),
            rng.standard_normal((3, 4)).astype(dtype),
            rng.standard_normal((2, 3, 4)).astype(dtype)]


def _kl_inputs(rng, dtype):
    return [rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype)]


def _log_normal_inputs(rng, dtype):
    # z has an extra leading sample axis, as the model uses it: mu, logvar broadcast over L
    return [rng.standard_normal((2, 3, 4)).astype(dtype),
            rng.standard_normal((3, 4)).astype(dtype),
            rng.standard_normal((3, 4)).astype(dtype)]


register_op("reparameterize", reparameterize_forward, reparameterize_backward, _reparam_inputs, wrt=(0, 1))
register_op("kl_standard_normal", kl_standard_normal_forward, kl_standard_normal_backward, _kl_inputs,
            wrt=(0, 1))
register_op("log_normal", log_normal_forward, log_normal_backward, _log_normal_inputs, wrt=(0, 1, 2))
register_op("log_standard_normal", log_standard_normal_forward, log_standard_normal_backward,
            lambda rng, dtype: [rng.standard_normal((2, 3, 4)).astype(dtype)], wrt=(0,))
