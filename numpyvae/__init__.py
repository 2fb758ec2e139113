"""numpyvae: variational autoencoders in NumPy with hand-derived gradients.

Every gradient in the package is written out by hand next to the function it differentiates, and
checked against finite differences in float64 (see :mod:`numpyvae.gradcheck`).
"""
from . import gradcheck, ops
from .backend import Backend, array_module, get_backend
from .decoders import LIKELIHOODS, BernoulliDecoder, GaussianDecoder
from .encoders import GaussianEncoder
from .evaluation import importance_sampled_log_px
from .layers import MLP, Dense
from .optim import SGD, Adagrad, Adam, RMSProp, make_optimizer
from .vae import VAE

__version__ = "0.1.0"

__all__ = [
    "VAE", "SGD", "Adagrad", "Adam", "RMSProp", "make_optimizer", "MLP", "Dense", "GaussianEncoder",
    "BernoulliDecoder", "GaussianDecoder", "LIKELIHOODS", "Backend", "array_module", "get_backend",
    "importance_sampled_log_px", "gradcheck", "ops", "__version__",
]
