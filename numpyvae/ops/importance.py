r"""The importance-weighted bound of Burda, Grosse & Salakhutdinov 2015 (IWAE), as an op on
log-weights.

For one datapoint, k samples z_i ~ q(z | x) and log-weights a_i = log w_i = log p(x, z_i) - log q(z_i | x):

    L_k = log (1/k) sum_i exp(a_i)                      (Burda et al., eq. 8)
    dL_k / da_i = exp(a_i) / sum_j exp(a_j) = w~_i       (the normalised importance weights)

so the gradient of the bound with respect to anything upstream is sum_i w~_i grad a_i (their eq. 14).
With k = 1 the single weight is w~_1 = 1 and L_1 = a_1: the Monte-Carlo ELBO.
"""
import math

from ..arrays.backend import array_module
from .registry import register_op


def iwae_bound_forward(logw, k):
    r"""Mean over S independent groups of the k-sample bound L_k, computed with a stable log-mean-exp.

    The leading axis of ``logw`` holds S * k samples, group s taking rows s*k .. s*k + k - 1:

        bound_b = (1/S) sum_s [ m_sb + log sum_i exp(a_sib - m_sb) - log k ],   m_sb = max_i a_sib

    Shapes: logw (S*k, B), k int -> bound (B,).
    """
    xp = array_module(logw)
    n, B = logw.shape
    if k < 1 or n % k:
        raise ValueError(f"the sample axis of logw ({n}) must be a positive multiple of k = {k}")
    S = n // k
    a = logw.reshape(S, k, B)                                         # (S, k, B)
    a_max = xp.max(a, axis=1, keepdims=True)                          # (S, 1, B)
    a_max = xp.where(xp.isfinite(a_max), a_max, 0)                    # all -inf: log 0 = -inf below
    e = xp.exp(a - a_max)                                             # (S, k, B)  in (0, 1]
    total = e.sum(axis=1, keepdims=True)                              # (S, 1, B)  >= 1 when finite
    lme = xp.log(total) + a_max - math.log(k)                         # (S, 1, B)  L_k of each group
    bound = lme.sum(axis=0)[0] / S                                    # (B,)
    w_norm = e / total                                                # (S, k, B)  w~_i, sums to 1 over i
    return bound, (w_norm, S)


def iwae_bound_backward(dbound, cache):
    r"""d bound_b / d a_sib = (1/S) w~_sib: each log-weight gets its normalised importance weight.

    Shapes: dbound (B,) -> dlogw (S*k, B).
    """
    w_norm, S = cache
    dlogw = (dbound / S) * w_norm                                     # (S, k, B)
    return dlogw.reshape(-1, w_norm.shape[-1])                        # (S*k, B)


def _iwae_inputs(rng, dtype):
    # spread-out log-weights (std 3) so the normalised weights are far from uniform
    return [(3 * rng.standard_normal((6, 4))).astype(dtype), 3]


register_op("iwae_bound", iwae_bound_forward, iwae_bound_backward, _iwae_inputs, wrt=(0,))
