r"""Minibatch SGVB (Kingma & Welling 2013, Algorithm 1; "AEVB" when the model has an encoder).

One step:

    g     <- grad_theta,phi of -(1/M) sum_i bound(x_i; eps_i)       (model.loss_and_grads)
    theta <- optimizer update with g                                (optimizer.step)

for any registered model: the VAE and its variants (their bound), the plain autoencoder (its
reconstruction loss). The model's gradient is hand-written in its own module; this file only
decides how the step runs.

The fast path: a model whose class sets ``supports_workspace = True`` gets a
:class:`numpyvae.Workspace` that keeps the step's arrays from one step to the next, and when it also
sets ``flat_params = True`` its parameters and gradients must be consecutive pieces of one vector
each, so the optimizer updates them in one pass. That is checked on the first step: a model that
claims the layout and breaks it is an error, never a silent slow path.
"""
import math

from ..arrays.inplace import check_flat_layout
from ..arrays.validation import check_positive_int
from ..arrays.workspace import Workspace
from .base import Algorithm, register_algorithm

__all__ = ["SGVB", "check_flat_layout"]


@register_algorithm("sgvb")
class SGVB(Algorithm):
    """One gradient step on the model's own loss per minibatch.

    Parameters
    ----------
    model : registered model
    optimizer : numpyvae.optim.Optimizer
    n_samples : int
        L, noise samples per datapoint.
    workspace : bool
        Use the model's workspace path when its class supports it (default). False forces the
        allocating path (for comparisons).
    """

    def __init__(self, model, optimizer, n_samples=1, workspace=True):
        super().__init__(model, optimizer)
        self.n_samples = check_positive_int("n_samples", n_samples)
        self.fast = bool(workspace) and bool(getattr(type(model), "supports_workspace", False))
        self._step_kwargs = {"workspace": Workspace()} if self.fast else {}
        self._layout_checked = not (self.fast and getattr(type(model), "flat_params", False))

    @classmethod
    def build(cls, model, optimizer, n_data=None, seed=0, n_samples=1, workspace=True):
        return cls(model, optimizer, n_samples=n_samples, workspace=workspace)

    def get_config(self):
        return {"n_samples": self.n_samples}

    def step(self, x, rng, index=None, **condition):
        """One SGVB step on minibatch ``x`` (B, D); returns the loss before the update."""
        loss, grads = self.model.loss_and_grads(x, rng=rng, n_samples=self.n_samples, **condition,
                                                **self._step_kwargs)
        if not math.isfinite(loss):
            return loss                                                # parameters untouched
        if not self._layout_checked:
            check_flat_layout(self.model.params, grads, owner=type(self.model).__name__)
            self._layout_checked = True
        self._update(self.model.params, grads)
        return loss
