r"""KL-weight schedules for the beta-VAE (Higgins et al. 2017) and KL warm-up (Bowman et al. 2016;
Sønderby et al. 2016).

A schedule maps the training step t = 0, 1, 2, ... to beta_t. The trainer applies it before each
step with ``schedule.apply(model, t)``, which sets ``model.beta``; every model with a ``beta``
attribute (:class:`numpyvae.VAE`, :class:`~numpyvae.models.CVAE`, :class:`~numpyvae.models.FullCovVAE`,
:class:`~numpyvae.models.IWAE`, :class:`~numpyvae.models.HierarchicalVAE`) reads it on its next forward
pass. beta_t only scales the KL (or log p(z) - log q(z)) term, so each step's gradient is the exact
gradient of that step's objective.
"""
from ..arrays.validation import check_nonnegative, check_positive_int


def _check_beta(name, value):
    return check_nonnegative(name, value)


def _check_step(step):
    if isinstance(step, bool) or not isinstance(step, int) and not hasattr(step, "__index__"):
        raise ValueError(f"step must be an integer >= 0, got {step!r}")
    step = int(step)
    if step < 0:
        raise ValueError(f"step must be an integer >= 0, got {step!r}")
    return step


class BetaSchedule:
    """Base class: ``schedule(t) -> beta_t`` and ``schedule.apply(model, t)``."""

    def __call__(self, step):
        raise NotImplementedError

    def apply(self, model, step):
        """Set ``model.beta = self(step)`` and return it."""
        if not hasattr(model, "beta"):
            raise ValueError(f"{type(model).__name__} has no KL weight beta to schedule")
        model.beta = self(step)
        return model.beta


class ConstantBeta(BetaSchedule):
    """beta_t = beta for every t (beta > 1 is the beta-VAE of Higgins et al.)."""

    def __init__(self, beta=1.0):
        self.beta = _check_beta("beta", beta)

    def __call__(self, step):
        _check_step(step)
        return self.beta

    def get_config(self):
        return {"beta": self.beta}

    def __repr__(self):
        return f"ConstantBeta({self.beta:g})"


class LinearWarmup(BetaSchedule):
    """beta_t = beta_start + (beta_end - beta_start) * min(t / n_steps, 1): a linear ramp over the
    first ``n_steps`` steps, then constant.

    Parameters
    ----------
    n_steps : int
        Length of the ramp (>= 1); beta reaches ``beta_end`` at step ``n_steps``.
    beta_end : float
        Final KL weight (1 for the ELBO, > 1 for a beta-VAE).
    beta_start : float
        KL weight at step 0.
    """

    def __init__(self, n_steps, beta_end=1.0, beta_start=0.0):
        self.n_steps = check_positive_int("n_steps", n_steps)
        self.beta_end = _check_beta("beta_end", beta_end)
        self.beta_start = _check_beta("beta_start", beta_start)

    def __call__(self, step):
        frac = min(_check_step(step) / self.n_steps, 1.0)
        return self.beta_start + (self.beta_end - self.beta_start) * frac

    def get_config(self):
        return {"n_steps": self.n_steps, "beta_end": self.beta_end, "beta_start": self.beta_start}

    def __repr__(self):
        return f"LinearWarmup(n_steps={self.n_steps}, beta_end={self.beta_end:g}, beta_start={self.beta_start:g})"
