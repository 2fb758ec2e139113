"""First-order optimizers that update a model's parameters in place (see :mod:`numpyvae.optim.optimizers`)."""
from .optimizers import (OPTIMIZERS, Optimizer, SGD, Adagrad, RMSProp, Adam, make_optimizer)

__all__ = ['OPTIMIZERS', 'Optimizer', 'SGD', 'Adagrad', 'RMSProp', 'Adam', 'make_optimizer']
