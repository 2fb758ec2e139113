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


def gaussian_loglik_forward(x, mean, logvar, out=None, workspace=None):
    r"""log N(x; mean, diag(exp(logvar))), summed over data dimensions.

    log p(x | z) = -1/2 sum_d [ log(2 pi) + logvar_d + (x_d - mean_d)^2 exp(-logvar_d) ]
                 = -1/2 [ D log(2 pi) + sum_d (logvar_d + quad_d) ],   quad_d = (x_d - mean_d)^2 exp(-logvar_d)
    Shapes: x (B, D), mean (..., B, D), logvar broadcastable to mean (a fixed variance may be a
    scalar or (D,)) -> loglik (..., B). ``out``: optional (..., B) array for the result;
    ``workspace``: where the (..., B, D) arrays come from (three of them are the cache, valid until
    the next call with that workspace).
    """
    xp = array_module(mean)
    ws = as_workspace(workspace)
    shape = xp.broadcast_shapes(xp.shape(x), mean.shape, xp.shape(logvar))      # (..., B, D)
    inv_var = xp.negative(logvar, out=ws.empty("gaussian_loglik:inv_var", shape, mean))
    xp.exp(inv_var, out=inv_var)                                      # exp(-logvar)            (..., B, D)
    diff = xp.subtract(x, mean, out=ws.empty("gaussian_loglik:diff", shape, mean))  # x - mean  (..., B, D)
    quad = xp.square(diff, out=ws.empty("gaussian_loglik:quad", shape, mean))
    quad *= inv_var                                                   # (x - mean)^2 exp(-logvar) (..., B, D)
    terms = xp.add(logvar, quad, out=ws.empty("gaussian_loglik:terms", shape, mean))  # logvar + quad
    loglik = sum_last_axis(terms, out=out)                            # (..., B)
    loglik += shape[-1] * LOG_2PI
    loglik *= -0.5
    return loglik, (diff, inv_var, quad, xp.shape(logvar))


def gaussian_loglik_backward(dloglik, cache, out=None):
    r"""Gradients of the Gaussian log-likelihood.

    d/dmean_d   = (x_d - mean_d) exp(-logvar_d)
    d/dlogvar_d = -1/2 + 1/2 (x_d - mean_d)^2 exp(-logvar_d)
    Shapes: dloglik (..., B) or a scalar -> dmean (..., B, D), dlogvar (logvar's shape).
    ``out``: optional ``(dmean, dlogvar)`` arrays to write into (an entry may be None; dlogvar's
    is used when logvar has the full shape).
    """
    diff, inv_var, quad, logvar_shape = cache
    xp = array_module(diff)
    dmean_out, dlogvar_out = (None, None) if out is None else out
    g = dloglik[..., None]                                            # (..., B, 1)
    dmean = xp.multiply(diff, inv_var, out=dmean_out)                 # (x - mean) exp(-logvar)
    dmean *= g                                                        # (..., B, D)
    if tuple(logvar_shape) == diff.shape:                             # a learned log-variance
        dlogvar = xp.subtract(quad, 1.0, out=dlogvar_out)             # quad - 1
        dlogvar *= 0.5 * g                                            # (..., B, D)
    else:                                                             # fixed: summed to its shape
        dlogvar = _sum_to_shape(0.5 * g * (quad - 1.0), logvar_shape)
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
