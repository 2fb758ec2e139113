"""The training algorithms compared in the reproduction, behind one small interface.

Each has ``model``, ``optimizer`` and ``step(x, rng, index) -> loss`` (``index``: the rows of the
training set in the minibatch, used by Monte Carlo EM's persistent chains), and may add arrays to
its checkpoint through ``state_arrays()`` / ``load_state_arrays(arrays)``.
"""
from ..baselines.mcem import MonteCarloEM
from ..baselines.wake_sleep import WakeSleep
from ..fullvb import FullVB
from ..optim import Adagrad

METHODS = ("aevb", "wake_sleep", "mcem", "fullvb", "autoencoder")


class AEVB:
    """Auto-encoding variational Bayes: one SGVB gradient step (estimator of the model) with Adagrad."""

    name = "aevb"

    def __init__(self, model, lr=0.02, weight_decay=0.0):
        self.model = model
        self.optimizer = Adagrad(lr=lr, weight_decay=weight_decay)

    def step(self, x, rng, index=None):
        loss, grads = self.model.loss_and_grads(x, rng=rng, n_samples=1)
        self.optimizer.step(self.model.params, grads)
        return loss


class PlainAutoencoder(AEVB):
    """A deterministic autoencoder (:class:`numpyvae.models.Autoencoder`) trained like AEVB: one
    gradient step of its reconstruction loss per minibatch, with Adagrad and the same weight decay."""

    name = "autoencoder"


class _WakeSleep(WakeSleep):
    def step(self, x, rng, index=None):
        return super().step(x, rng)


class _FullVB(FullVB):
    def step(self, x, rng, index=None):
        return super().step(x, rng)


def make_algorithm(method, model, n_data, lr, weight_decay, seed=0):
    """Build ``method`` (one of :data:`METHODS`) around ``model``."""
    if method == "aevb":
        return AEVB(model, lr=lr, weight_decay=weight_decay)
    if method == "autoencoder":
        return PlainAutoencoder(model, lr=lr, weight_decay=weight_decay)
    if method == "wake_sleep":
        return _WakeSleep(model, lr=lr, weight_decay=weight_decay)
    if method == "mcem":
        return MonteCarloEM(model, n_data, lr=lr, weight_decay=weight_decay, rng=seed)
    if method == "fullvb":
        return _FullVB(model, n_data, lr=lr, rng=seed)
    raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
