"""numpyvae: variational autoencoders in NumPy with hand-derived gradients.

Every gradient in the package is written out by hand next to the function it differentiates, and
checked against finite differences in float64 (see :mod:`numpyvae.gradcheck`).
"""
from . import gradcheck, ops, training
from .backend import Backend, array_module, get_backend
from .datasets import load_dataset
from .decoders import LIKELIHOODS, BernoulliDecoder, GaussianDecoder
from .encoders import GaussianEncoder
from .evaluation import importance_sampled_log_px
from .layers import MLP, Dense
from .linear_gaussian import PPCA, FactorAnalysis
from .model_registry import register_model
from .optim import SGD, Adagrad, Adam, RMSProp, make_optimizer
from .training import TrainConfig, Trainer, load_checkpoint, load_model, save_checkpoint
from .vae import VAE
from .workspace import Workspace

from . import models  # noqa: E402  (the variants build on the core imported above)

__version__ = "0.1.0"

__all__ = [
    "VAE", "SGD", "Adagrad", "Adam", "RMSProp", "make_optimizer", "MLP", "Dense", "GaussianEncoder",
    "BernoulliDecoder", "GaussianDecoder", "LIKELIHOODS", "Backend", "array_module", "get_backend",
    "importance_sampled_log_px", "gradcheck", "models", "ops", "PPCA", "FactorAnalysis", "load_dataset",
    "__version__", "training", "Trainer", "TrainConfig", "save_checkpoint", "load_checkpoint", "load_model",
    "register_model", "Workspace",
]
