"""The models: the VAE of Kingma & Welling and its variants, each with hand-derived gradients, behind
one model interface (see :mod:`numpyvae.models.registry` for what a model provides).

Every class has ``params`` (dict), ``loss_and_grads(x, eps=None, rng=None, n_samples=1,
workspace=None) -> (float, grads)``, ``bound(x, ...) -> (B,)`` (its bound per datapoint, higher is
better), ``check_loss`` (the loss at fixed noise, for the gradient check), ``get_config()``,
``encode``, ``decode``, ``sample``, ``reconstruct``. Conditional models set ``needs_labels = True``
and take the condition as keyword ``c``.

Each class also states its capabilities for a training engine: ``flat_params = True`` (the
parameters are views into one contiguous vector) and ``supports_workspace = True`` (``loss_and_grads``
takes a :class:`numpyvae.Workspace` and returns gradients laid out as one vector in ``params``
order; :func:`numpyvae.arrays.inplace.check_flat_layout` verifies both layouts).

Importing this package registers every class below; :data:`MODELS` is the registry (name -> class).
"""
from .autoencoder import Autoencoder
from .cvae import CVAE, samples_per_class
from .fullcov import FullCovGaussianEncoder, FullCovVAE
from .hierarchical import HierarchicalVAE
from .importance import ImportanceWeightedModel
from .iwae import IWAE
from .registry import MODEL_ALIASES, MODELS, build_model, get_model_class, model_name, model_names, register_model
from .schedules import BetaSchedule, ConstantBeta, LinearWarmup
from .vae import VAE
from .vqvae import VQVAE

__all__ = [
    "MODELS", "MODEL_ALIASES", "VAE", "IWAE", "CVAE", "FullCovVAE", "FullCovGaussianEncoder", "HierarchicalVAE",
    "VQVAE", "Autoencoder", "ImportanceWeightedModel", "BetaSchedule", "ConstantBeta", "LinearWarmup",
    "samples_per_class", "register_model", "build_model", "get_model_class", "model_name", "model_names",
]
