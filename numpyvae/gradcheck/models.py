"""Finite-difference checks of any model of :data:`numpyvae.models.MODELS`, with the noise fixed.

:func:`check_variant` is :func:`numpyvae.gradcheck.check_model` for every variant: it builds the
closure loss(params) that ``loss_and_grads`` differentiates and compares them with
:func:`numpyvae.gradcheck.check_gradients`. For the VQ-VAE the closure is the straight-through
surrogate (docs/variants.md): the loss whose exact gradient the VQ-VAE gradient is.
"""
import numpy as np

from ..arrays.random import as_generator
from .core import DEFAULT_STEP, check_gradients
from ..ops.quantize import nearest_code
from ..models.vae import VAE
from ..models.autoencoder import Autoencoder
from ..models.cvae import CVAE
from ..models.fullcov import FullCovVAE
from ..models.importance import ImportanceWeightedModel
from ..models.vqvae import VQVAE


def straight_through_surrogate(model, x):
    r"""The loss whose exact gradient is the VQ-VAE gradient, at the current parameters.

    S = mean_b [ -log p(x_b | z_e,b + c_b) + w_cb ||z_e,b^0 - E[k_b^0]||^2 + beta_commit ||z_e,b - z_q,b^0||^2 ]

    with the codes k^0, z_e^0, z_q^0 and the offset c = z_q^0 - z_e^0 frozen at the current
    parameters (superscript 0). Same value as the loss there; differentiable in every parameter.
    ``x`` must be validated. Returns ``loss_fn() -> float``.
    """
    B = x.shape[0]
    ze0, _ = model._encode(x)
    idx0 = nearest_code(ze0, model.params["vq.codebook"])
    ze0 = ze0.copy()
    zq0 = model.params["vq.codebook"][idx0].copy()
    w_cb = 1.0 if model.codebook_update == "gradient" else 0.0

    def loss_fn():
        ze, _ = model._encode(x)                                        # (B, M, d)
        out, _ = model.decoder.forward(model.params, (ze + (zq0 - ze0)).reshape(B, -1))
        loglik, _ = model.decoder.log_prob_forward(x, out)              # (B,)
        codebook = ((ze0 - model.params["vq.codebook"][idx0]) ** 2).sum(axis=(1, 2))
        commitment = ((ze - zq0) ** 2).sum(axis=(1, 2))
        return float((-loglik + w_cb * codebook + model.beta_commit * commitment).mean())

    return loss_fn


def variant_loss(model, x, eps=None, c=None, rng=0):
    """The deterministic training loss of ``model`` at fixed noise and its analytic gradient.

    Returns ``(loss_fn, grads)``: ``loss_fn()`` re-evaluates the loss from the current ``params``
    (the noise ``eps``, drawn once from ``rng`` when not given, stays fixed), ``grads`` is
    ``loss_and_grads`` at the current parameters. For :class:`VQVAE` the loss is
    :func:`straight_through_surrogate`; its EMA codebook update, if any, is not applied here.
    """
    if not isinstance(model, (VQVAE, Autoencoder, ImportanceWeightedModel, CVAE, VAE, FullCovVAE)):
        raise ValueError(f"no gradient check is defined for {type(model).__name__}")
    rng = as_generator(rng)
    xv = model._data(x)
    if isinstance(model, VQVAE):
        _, cache = model.forward(xv)
        dloss = model.backend.xp.full(xv.shape[0], 1.0 / xv.shape[0], dtype=model.dtype)  # d mean / d loss_b
        return straight_through_surrogate(model, xv), model._ordered(model.backward(dloss, cache))
    if isinstance(model, Autoencoder):
        _, grads = model.loss_and_grads(xv)
        return (lambda: float(model.forward(xv)[0]["loss"].mean())), grads
    if isinstance(model, VAE):
        eps = model._noise(xv, eps, rng, 1)
        _, grads = model.loss_and_grads(xv, eps)
        return (lambda: -float(model.forward(xv, eps)[0]["elbo"].mean())), grads
    multiple = model.k if isinstance(model, ImportanceWeightedModel) else 1
    eps = model._noise(xv, eps, rng, 1, model.latent_dim, multiple=multiple)
    if isinstance(model, ImportanceWeightedModel):
        _, grads = model.loss_and_grads(xv, eps)
        return (lambda: -float(model.forward(xv, eps)[0]["bound"].mean())), grads
    if isinstance(model, CVAE):
        cv = model._condition(c, xv.shape[0])
        _, grads = model.loss_and_grads(xv, eps, c=cv)
        return (lambda: -float(model.forward(xv, cv, eps)[0]["elbo"].mean())), grads
    _, grads = model.loss_and_grads(xv, eps)                            # FullCovVAE
    return (lambda: -float(model.forward(xv, eps)[0]["elbo"].mean())), grads


def check_variant(model, x, eps=None, c=None, rng=0, step=DEFAULT_STEP, max_coords=40):
    """Gradient-check ``model.loss_and_grads`` against central differences (float64 models only).

    Parameters
    ----------
    model : a model of :data:`numpyvae.models.MODELS`
    x : array (B, D)
    eps : array, optional
        The noise, (S * k, B, latent_dim) for importance-weighted models, (L, B, latent_dim) for the
        others; one draw from ``rng`` by default. Ignored by the deterministic models.
    c : labels or array, for conditional models.

    Returns
    -------
    numpyvae.gradcheck.GradcheckReport
    """
    rng = as_generator(rng)
    loss_fn, grads = variant_loss(model, x, eps, c, rng)
    return check_gradients(loss_fn, model.params, grads, step=step, max_coords=max_coords, rng=rng)
