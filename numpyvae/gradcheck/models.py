"""Finite-difference checks of any registered model (:data:`numpyvae.models.MODELS`), with the noise fixed.

Each model class states its own check: ``model.check_loss(x, eps=None, rng=0, **condition) ->
(loss_fn, grads)`` returns the deterministic training loss at fixed noise, as a closure over the
current ``params``, and the analytic gradient ``loss_and_grads`` gives there (for the VQ-VAE the
loss is the straight-through surrogate, :func:`numpyvae.models.vqvae.straight_through_surrogate`:
the loss whose exact gradient the VQ-VAE gradient is). :func:`check_variant` compares the two with
:func:`numpyvae.gradcheck.check_gradients`; it knows no model class, so a class registered with
:func:`numpyvae.models.register_model` is checked as soon as it defines ``check_loss``.
"""
from ..arrays.random import as_generator
from ..models.conditioning import needs_labels
from .core import DEFAULT_STEP, check_gradients

__all__ = ["variant_loss", "check_variant"]


def variant_loss(model, x, eps=None, c=None, rng=0):
    """The deterministic training loss of ``model`` at fixed noise and its analytic gradient.

    Returns ``(loss_fn, grads)`` from ``model.check_loss``: ``loss_fn()`` re-evaluates the loss from
    the current ``params`` (the noise ``eps``, drawn once from ``rng`` when not given, stays
    fixed), ``grads`` is ``loss_and_grads`` at the current parameters with that noise. ``c`` is the
    condition of a conditional model (``needs_labels = True``), passed on as ``c=``.

    Raises
    ------
    ValueError
        When the model has no ``check_loss`` method, or ``c`` is given to a model that is not
        conditioned on labels.
    """
    check_loss = getattr(model, "check_loss", None)
    if not callable(check_loss):
        raise ValueError(f"no gradient check is defined for {type(model).__name__}: give the class a method "
                         f"check_loss(x, eps=None, rng=0, **condition) -> (loss_fn, grads) "
                         f"(see numpyvae.models.registry)")
    condition = {}
    if c is not None:
        if not needs_labels(model):
            raise ValueError(f"{type(model).__name__} is not conditioned on labels: pass c only to a conditional model")
        condition["c"] = c
    return check_loss(x, eps, rng, **condition)


def check_variant(model, x, eps=None, c=None, rng=0, step=DEFAULT_STEP, max_coords=40):
    """Gradient-check ``model.loss_and_grads`` against central differences (float64 models only).

    Parameters
    ----------
    model : a model with ``check_loss`` (every class of :data:`numpyvae.models.MODELS`)
    x : array (B, D)
    eps : array, optional
        The noise, (S * k, B, latent_dim) for importance-weighted models, (L, B, latent_dim) for the
        others; one draw from ``rng`` by default. Ignored by the deterministic models.
    c : labels or array, for conditional models.
    rng : numpy.random.Generator or int
        Draws the noise (when ``eps`` is not given), then picks the coordinates and directions.

    Returns
    -------
    numpyvae.gradcheck.GradcheckReport
    """
    rng = as_generator(rng)
    loss_fn, grads = variant_loss(model, x, eps, c, rng)
    return check_gradients(loss_fn, model.params, grads, step=step, max_coords=max_coords, rng=rng)
