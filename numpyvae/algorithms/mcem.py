r"""Monte Carlo EM with a Hamiltonian Monte Carlo E-step (K&W appendix E, their Figure 3 baseline).

Each datapoint n keeps a persistent posterior sample z_n and its own HMC step size. For a minibatch:

- **E-step**: ``n_transitions`` (default 1) HMC transitions of ``n_leapfrog`` = 10 leapfrog steps of
  every chain, targeting p_theta(z | x_n), the step size adapted towards 90 % acceptance after each:
  log eps_n <- log eps_n + 0.1 (a_n - 0.9) (:func:`numpyvae.evaluation.hmc.adapt_step_size`);
- **M-step**: ``n_weight_updates`` = 5 Adagrad updates of theta on the Monte Carlo estimate of
  the expected complete-data log-likelihood, (1/B) sum_b log p_theta(x_b, z_b), at the fixed samples
  (the gradient of :func:`numpyvae.algorithms.wake_sleep.wake_loss_and_grads`).

Persistence of the chains across visits is our reading: the paper gives the per-minibatch recipe
only, and 10 leapfrog steps from a fresh start would not reach the posterior. A chain starts from
the prior N(0, I) the first time its datapoint is visited. MCEM does not use a recognition model;
the encoder's parameters stay untouched (the generative model is what Figure 3 measures).

What the chains do (``benchmarks/mcem_diagnostics.py``, ``docs/reproduction/mcem.md``; MNIST,
N_train = 1000, 784-100-3, Adagrad 0.1): after the first ~1.3e5 samples each chain is a draw from its
posterior mode (its squared Mahalanobis distance to that mode is ~2.8, against 2.4 for a draw), the
acceptance is 0.88-0.90, the step sizes stay 1.1-1.2 times the posterior's smallest standard
deviation and a chain moves 4-5 of those per visit: the chains do not freeze. Before that, with one
transition per visit, the chains lag behind theta (Mahalanobis^2 ~200 at 1e5 samples, |z| up to 16)
until the decoder settles; ``n_transitions`` = 3 removes that transient (at 2.4 times the cost of a
step).
The decoder's posteriors are multimodal (without a recognition model nothing keeps similar images
at nearby codes), which is why the marginal-likelihood estimator's burn-in searches over several
starts (:class:`numpyvae.evaluation.hmc.HMCSampler`).
"""
import math

import numpy as np

from ..arrays.random import as_generator
from ..arrays.validation import check_interval, check_positive, check_positive_int
from ..evaluation.hmc import DEFAULT_TARGET_ACCEPT, adapt_step_size, hmc_transition
from ..optim.optimizers import Adagrad
from .base import Algorithm, register_algorithm
from .wake_sleep import wake_loss_and_grads


@register_algorithm("mcem")
class MonteCarloEM(Algorithm):
    """Monte Carlo EM for the decoder of a :class:`numpyvae.VAE`.

    Parameters
    ----------
    model : VAE
    n_data : int
        Number of training points (one persistent chain each).
    optimizer : numpyvae.optim.Optimizer, optional
        Updates the decoder in the M-step; default Adagrad with ``lr`` and ``weight_decay``.
    lr : float
        Adagrad step size of the M-step when no optimizer is given.
    weight_decay : float
        lambda of the N(0, I / lambda) prior on theta (MAP), as for AEVB.
    n_leapfrog : int
    n_transitions : int
        HMC transitions per visit of a chain (E-step), each followed by a step-size adaptation.
    n_weight_updates : int
    target_accept : float
    init_step : float
    rng : numpy.random.Generator or int
        Draws the chains' starting points.

    Attributes
    ----------
    chains_ : ndarray (n_data, Z)
    step_sizes_ : ndarray (n_data,)
    accept_rate_ : float
        Mean acceptance probability of the last E-step (over its transitions).
    """

    needs_index = True

    def __init__(self, model, n_data, lr=0.02, weight_decay=0.0, n_leapfrog=10, n_weight_updates=5,
                 target_accept=DEFAULT_TARGET_ACCEPT, init_step=0.1, rng=0, optimizer=None, n_transitions=1):
        super().__init__(model, Adagrad(lr=lr, weight_decay=weight_decay) if optimizer is None else optimizer)
        self.n_data = check_positive_int("n_data", n_data)
        self.n_leapfrog = check_positive_int("n_leapfrog", n_leapfrog)
        self.n_transitions = check_positive_int("n_transitions", n_transitions)
        self.n_weight_updates = check_positive_int("n_weight_updates", n_weight_updates)
        self.target_accept = check_interval("target_accept", target_accept, 0, 1, closed="neither")
        self.init_step = check_positive("init_step", init_step)
        rng = as_generator(rng)
        self.chains_ = rng.standard_normal((self.n_data, model.latent_dim))
        self.step_sizes_ = np.full(self.n_data, float(init_step))
        self.decoder_names = [k for k in model.params if k.startswith("dec.")]

    @classmethod
    def build(cls, model, optimizer, n_data=None, seed=0, **options):
        if n_data is None:
            raise ValueError("Monte Carlo EM needs n_data, the number of training points (one chain each)")
        return cls(model, n_data, rng=seed, optimizer=optimizer, **options)

    def get_config(self):
        return {"n_leapfrog": self.n_leapfrog, "n_transitions": self.n_transitions,
                "n_weight_updates": self.n_weight_updates, "target_accept": self.target_accept,
                "init_step": self.init_step}

    @property
    def params(self):
        """The decoder's arrays (the M-step updates only them)."""
        return {k: self.model.params[k] for k in self.decoder_names}

    def step(self, x, rng, index):
        """One E-step and ``n_weight_updates`` M-steps on minibatch ``x`` (rows ``index`` of the data).

        Returns the last M-step loss, -(1/B) sum_b log p(x_b, z_b).
        """
        if index is None:
            raise ValueError("Monte Carlo EM needs index, the rows of the training set in the minibatch")
        model = self.model
        x = model._data(x)
        self.updating = True                                           # the chains change from here on
        z = model.backend.asarray(self.chains_[index], dtype=model.dtype)        # (B, Z)
        accepts = []
        for _ in range(self.n_transitions):
            z, accept = hmc_transition(model, x, z, self.step_sizes_[index], rng, self.n_leapfrog)
            self.step_sizes_[index] = adapt_step_size(self.step_sizes_[index], accept, self.target_accept)
            accepts.append(float(accept.mean()))
        self.chains_[index] = model.backend.to_numpy(z)
        self.accept_rate_ = float(np.mean(accepts))
        decoder_params = {k: model.params[k] for k in self.decoder_names}
        for _ in range(self.n_weight_updates):
            loss, grads = wake_loss_and_grads(model, x, z)
            if not math.isfinite(loss):
                break
            self.optimizer.step(decoder_params, grads)                # the arrays are model.params' own
        self.updating = False
        return loss

    def state_arrays(self):
        """Arrays beyond the parameters and optimizer slots needed to resume."""
        return {"chains": self.chains_, "step_sizes": self.step_sizes_}

    def load_state_arrays(self, arrays):
        """Set the chains and their step sizes (from :meth:`state_arrays`), checked against this run's."""
        if set(arrays) != {"chains", "step_sizes"}:
            raise ValueError(f"Monte Carlo EM state arrays must be 'chains' and 'step_sizes', got {sorted(arrays)}")
        chains, steps = np.array(arrays["chains"], dtype=np.float64), np.array(arrays["step_sizes"], dtype=np.float64)
        if chains.shape != self.chains_.shape or steps.shape != self.step_sizes_.shape:
            raise ValueError(f"Monte Carlo EM state: chains {chains.shape} and step sizes {steps.shape} do not fit "
                             f"{self.n_data} datapoints with {self.chains_.shape[1]} latent dimensions")
        if not (np.isfinite(chains).all() and np.isfinite(steps).all() and (steps > 0).all()):
            raise ValueError("Monte Carlo EM state: the chains and step sizes must be finite, the step sizes positive")
        self.chains_, self.step_sizes_ = chains, steps
