r"""The generative model's log joint density log p(x, z) and its gradients.

For a VAE-style generative model p(z) = N(0, I), p(x | z) = decoder(z):

    log p(x, z) = log p(x | z) + log N(z; 0, I)

Its gradient with respect to the decoder parameters theta at *fixed* z is the M-step of Monte Carlo
EM and the wake-phase update of the wake-sleep algorithm; its gradient with respect to z drives the
Hamiltonian (Hybrid) Monte Carlo sampler of the posterior p(z | x) (K&W appendices D and E).
Both reuse the decoder's hand-written backward pass and the registered Gaussian ops.
"""
from ..ops.gaussian import log_standard_normal_backward, log_standard_normal_forward


def log_joint(model, x, z, dlogp=None, need_params=True, need_value=True):
    r"""log p(x_b, z_b) for every datapoint, and optionally its weighted gradients.

    Parameters
    ----------
    model : VAE
        Supplies ``decoder`` and ``params``; the encoder is not used.
    x : array (B, D)
        Data, already of the model's dtype and array type.
    z : array (B, Z)
        One latent point per datapoint.
    dlogp : array (B,), optional
        Upstream weights w_b. When given, the gradients of F = sum_b w_b log p(x_b, z_b) are
        returned as well: w_b = 1/B gives the batch mean, w_b = 1 the per-datapoint gradient
        with respect to z_b (each z_b enters only its own term).
    need_params : bool
        With ``dlogp``: False skips the decoder's parameter gradients (``grads`` is then empty), which
        HMC, needing dF/dz alone, does not use; dz is the same either way.
    need_value : bool
        With ``dlogp``: False skips log p(x_b, z_b) itself (``logp`` is then None), which a leapfrog step
        inside an HMC trajectory does not use; the gradients are the same either way, bit for bit.

    Returns
    -------
    logp : array (B,)
        log p(x_b | z_b) + log N(z_b; 0, I).
    grads : dict name -> array, only with ``dlogp``
        dF/dtheta for every decoder parameter ("dec.*"); log p(z) does not depend on theta.
    dz : array (B, Z), only with ``dlogp``
        dF/dz_b = w_b [d log p(x_b | z_b) / dz_b - z_b].
    """
    out, dec_cache = model.decoder.forward(model.params, z)          # each (B, D)
    logpz, pz_cache = log_standard_normal_forward(z)                 # (B,)
    if dlogp is not None and not need_value:                         # the gradient alone
        logp = None
        dout = model.decoder.log_prob_grad(x, out, dlogp)             # each (B, D)
    else:
        loglik, ll_cache = model.decoder.log_prob_forward(x, out)     # (B,)
        logp = loglik + logpz                                         # (B,)
        if dlogp is None:
            return logp
        dout = model.decoder.log_prob_backward(dlogp, ll_cache)       # each (B, D)
    dz_lik, grads = model.decoder.backward(dout, dec_cache, need_params=need_params)   # (B, Z)
    dz = dz_lik + log_standard_normal_backward(dlogp, pz_cache)       # z feeds the decoder and the prior
    return logp, grads, dz
