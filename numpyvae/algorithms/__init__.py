"""Training algorithms: one step each, driven by :class:`numpyvae.training.Trainer`.

- :class:`SGVB`: minibatch SGVB / AEVB for every registered model (and the plain autoencoder);
- :class:`WakeSleep`: the wake-sleep algorithm, K&W's baseline in Figures 2 and 3;
- :class:`MonteCarloEM`: Monte Carlo EM with an HMC E-step (appendix E, Figure 3);
- :class:`FullVB`: full variational Bayes over the decoder's parameters (appendix F).

See :mod:`numpyvae.algorithms.base` for the interface and :func:`make_algorithm`.
"""
from .base import ALIASES, Algorithm, algorithm_names, canonical_name, make_algorithm, register_algorithm
from .fullvb import LOGVAR_PREFIX, FullVB
from .mcem import MonteCarloEM
from .sgvb import SGVB, check_flat_layout
from .wake_sleep import WakeSleep, sleep_loss_and_grads, wake_loss_and_grads

__all__ = ["Algorithm", "SGVB", "WakeSleep", "MonteCarloEM", "FullVB", "LOGVAR_PREFIX", "make_algorithm",
           "register_algorithm", "algorithm_names", "canonical_name", "ALIASES", "check_flat_layout",
           "wake_loss_and_grads", "sleep_loss_and_grads"]
