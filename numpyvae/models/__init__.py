"""The classic VAE variants, each with hand-derived gradients, behind one model interface.

Every class here (and :class:`numpyvae.VAE`) has ``params`` (dict), ``loss_and_grads(x, eps=None,
rng=None, n_samples=1, workspace=None) -> (float, grads)``, ``get_config()`` (JSON-able constructor
kwargs), ``encode``, ``decode``, ``sample``, ``reconstruct``, and a per-datapoint score (``elbo`` or
``score``, higher is better). Conditional models set ``needs_labels = True`` and take the condition
as keyword ``c``. :data:`MODELS` maps the command-line names to the classes.

Each class also states its capabilities for a training engine: ``flat_params = True`` (the
parameters are views into one contiguous vector) and ``supports_workspace = True`` (``loss_and_grads``
takes a :class:`numpyvae.Workspace` and returns gradients laid out as one vector in ``params``
order; :func:`numpyvae.inplace.check_flat_layout` verifies both layouts).
"""
from ..vae import VAE
from .autoencoder import Autoencoder
from .checks import check_variant, straight_through_surrogate, variant_loss
from .cvae import CVAE, class_samples_figure, samples_per_class
from .evaluation import active_units, estimate_log_px
from .fullcov import FullCovGaussianEncoder, FullCovVAE
from .hierarchical import HierarchicalVAE
from .importance import ImportanceWeightedModel
from .iwae import IWAE
from .schedules import BetaSchedule, ConstantBeta, LinearWarmup
from .vqvae import VQVAE

MODELS = {
    "vae": VAE,
    "beta-vae": VAE,          # the VAE with beta != 1 (and optionally a LinearWarmup schedule)
    "iwae": IWAE,
    "cvae": CVAE,
    "fullcov-vae": FullCovVAE,
    "hierarchical-vae": HierarchicalVAE,
    "vq-vae": VQVAE,
    "autoencoder": Autoencoder,
}
"""Model name (as on the command line) -> class; ``MODELS[name](**model.get_config())`` rebuilds a model."""

__all__ = [
    "MODELS", "VAE", "IWAE", "CVAE", "FullCovVAE", "FullCovGaussianEncoder", "HierarchicalVAE", "VQVAE",
    "Autoencoder", "ImportanceWeightedModel", "BetaSchedule", "ConstantBeta", "LinearWarmup",
    "samples_per_class", "class_samples_figure", "estimate_log_px", "active_units", "check_variant", "variant_loss",
    "straight_through_surrogate",
]
