r"""Decoder log-likelihoods log p(x | z), summed over data dimensions (K&W appendix C).

Both take the decoder's outputs for each latent sample: a leading sample axis on the parameters
broadcasts against x, so x (B, D) is scored against logits (L, B, D) without being copied.

Derivation: docs/derivations.md#likelihoods
"""
from ..arrays.backend import array_module
from ..arrays.workspace import as_workspace
from .gaussian import LOG_2PI, _sum_to_shape
from .reductions import sum_last_axis
from .registry import register_op


def bernoulli_loglik_forward(x, logits, out=None, workspace=None):
    r"""log p(x | eta) for a Bernoulli decoder, from logits, summed over pixels.

    log p(x | eta) = sum_d [ x_d eta_d - softplus(eta_d) ]     (never forms log(sigmoid))
    with softplus(eta) = max(eta, 0) + log1p(exp(-|eta|)) and max(eta, 0) = (eta + |eta|) / 2.
    Each term is formed in full before the sum: -(x_d eta_d - softplus(eta_d)) >= 0 for x in [0, 1],
    so the sum adds numbers of one sign and loses nothing to cancellation.

    x may hold grey values in [0, 1] (the paper's MNIST usage): the expression is then the negative
    cross-entropy. Shapes: x (B, D), logits (..., B, D) -> loglik (..., B). ``out``: optional (..., B)
    array for the result; ``workspace``: where the two logits-sized temporaries come from (see
    :mod:`numpyvae.arrays.workspace`; they are dead when the function returns).
    """
    xp = array_module(logits)
    ws = as_workspace(workspace)
    shape = xp.broadcast_shapes(xp.shape(x), logits.shape)           # (..., B, D)
    tail = xp.abs(logits, out=ws.empty("bernoulli_loglik:tail", shape, logits))         # |eta|
    nll = xp.add(logits, tail, out=ws.empty("bernoulli_loglik:nll", shape, logits))
    nll *= 0.5                                                        # max(eta, 0) = (eta + |eta|) / 2
    xp.negative(tail, out=tail)
    xp.exp(tail, out=tail)
    xp.log1p(tail, out=tail)                                          # log1p(exp(-|eta|))
    nll += tail                                                       # softplus(eta)
    xp.multiply(x, logits, out=tail)                                  # x eta
    nll -= tail                                                       # softplus(eta) - x eta >= 0
    loglik = sum_last_axis(nll, out=out)                              # (..., B)
    xp.negative(loglik, out=loglik)
    return loglik, (x, logits)


def bernoulli_loglik_backward(dloglik, cache, out=None):
    r"""d loglik / d eta_d = x_d - sigmoid(eta_d),  sigmoid(eta) = (1 + tanh(eta / 2)) / 2.

    Shapes: dloglik (..., B), or a scalar weight shared by every term -> dlogits (..., B, D).
    ``out``: optional array of that shape (the shape of the logits broadcast against x).
    """
    x, logits = cache
    xp = array_module(logits)
    if out is None:
        out = xp.empty(xp.broadcast_shapes(xp.shape(x), logits.shape), dtype=logits.dtype)
    dlogits = xp.multiply(logits, 0.5, out=out)                       # eta / 2
    xp.tanh(dlogits, out=dlogits)                                     # tanh(eta / 2)
    dlogits *= -0.5
    dlogits += x
    dlogits -= 0.5                                                    # x - sigmoid(eta)
    dlogits *= dloglik[..., None]                                     # (..., B, D)
    return dlogits


def gaussian_loglik_forward(x, mean, logvar):
    r"""log N(x; mean, diag(exp(logvar))), summed over data dimensions.

    log p(x | z) = -1/2 sum_d [ log(2 pi) + logvar_d + (x_d - mean_d)^2 exp(-logvar_d) ]
    Shapes: x (B, D), mean (..., B, D), logvar broadcastable to mean (a fixed variance may be a
    scalar or (D,)) -> loglik (..., B).
    """
    xp = array_module(mean)
    inv_var = xp.exp(-logvar)                                         # (..., B, D)
    diff = x - mean                                                   # (..., B, D)
    quad = diff * diff * inv_var                                      # (..., B, D)
    loglik = -0.5 * xp.sum(LOG_2PI + logvar + quad, axis=-1)          # (..., B)
    return loglik, (diff, inv_var, quad, xp.shape(logvar))


def gaussian_loglik_backward(dloglik, cache):
    r"""Gradients of the Gaussian log-likelihood.

    d/dmean_d   = (x_d - mean_d) exp(-logvar_d)
    d/dlogvar_d = -1/2 + 1/2 (x_d - mean_d)^2 exp(-logvar_d)
    Shapes: dloglik (..., B) or a scalar -> dmean (..., B, D), dlogvar (logvar's shape).
    """
    diff, inv_var, quad, logvar_shape = cache
    g = dloglik[..., None]                                            # (..., B, 1)
    dmean = g * diff * inv_var                                        # (..., B, D)
    dlogvar = _sum_to_shape(0.5 * g * (quad - 1.0), logvar_shape)     # logvar's shape
    return dmean, dlogvar


def _bernoulli_inputs(rng, dtype):
    return [rng.uniform(0, 1, size=(3, 5)).astype(dtype),
            (3 * rng.standard_normal((2, 3, 5))).astype(dtype)]


def _gaussian_inputs(rng, dtype):
    return [rng.uniform(0, 1, size=(3, 5)).astype(dtype),
            rng.standard_normal((2, 3, 5)).astype(dtype),
            rng.standard_normal((2, 3, 5)).astype(dtype)]


register_op("bernoulli_loglik", bernoulli_loglik_forward, bernoulli_loglik_backward, _bernoulli_inputs,
            wrt=(1,))
register_op("gaussian_loglik", gaussian_loglik_forward, gaussian_loglik_backward, _gaussian_inputs,
            wrt=(1, 2))
