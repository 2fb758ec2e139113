"""numpyvae: variational autoencoders in NumPy with hand-derived gradients.

Every gradient in the package is written out by hand next to the function it differentiates, and
checked against finite differences in float64 (see :mod:`numpyvae.gradcheck`). The packages build
on each other in this order (docs/architecture.md): arrays -> ops -> nn, optim -> models ->
evaluation -> algorithms -> gradcheck -> training -> plotting -> the front ends (cli, estimator,
reproduce). This module is the front door and re-exports the public names.
"""
from . import algorithms, evaluation, gradcheck, models, ops, training
from ._version import __version__
from .arrays.backend import Backend, array_module, get_backend
from .arrays.workspace import Workspace
from .datasets import load_dataset
from .estimator import Estimator, NotFittedError
from .evaluation.importance import importance_sampled_log_px
from .evaluation.linear_gaussian import PPCA, FactorAnalysis
from .models import MODELS
from .models.registry import register_model
from .models.vae import VAE
from .nn.decoders import LIKELIHOODS, BernoulliDecoder, GaussianDecoder
from .nn.encoders import GaussianEncoder
from .nn.layers import MLP, Dense
from .optim.optimizers import SGD, Adagrad, Adam, RMSProp, make_optimizer
from .training import TrainConfig, Trainer, load_checkpoint, load_model, save_checkpoint

__all__ = [
    "VAE", "Estimator", "NotFittedError", "SGD", "Adagrad", "Adam", "RMSProp", "make_optimizer", "MLP", "Dense",
    "GaussianEncoder", "BernoulliDecoder", "GaussianDecoder", "LIKELIHOODS", "Backend", "array_module",
    "get_backend", "importance_sampled_log_px", "gradcheck", "models", "MODELS", "ops", "algorithms",
    "evaluation", "PPCA", "FactorAnalysis", "load_dataset", "__version__", "training", "Trainer", "TrainConfig",
    "save_checkpoint", "load_checkpoint", "load_model", "register_model", "Workspace",
]
