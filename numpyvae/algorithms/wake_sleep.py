r"""The wake-sleep algorithm (Hinton, Dayan, Frey & Neal 1995), K&W's baseline in Figures 2 and 3.

It trains the same two networks as AEVB, the recognition model q_phi(z | x) and the generative
model p_theta(x | z) p(z), but with two separate updates instead of one objective:

- **wake** (theta): draw z ~ q_phi(z | x) for a data minibatch and ascend
  (1/B) sum_b log p_theta(x_b | z_b); no gradient flows into phi through z.
- **sleep** (phi): draw a fantasy z ~ p(z), x ~ p_theta(x | z) and ascend
  (1/B) sum_b log q_phi(z_b | x_b), i.e. fit the recognition model to the generative model's own
  samples (it minimises KL(p || q) rather than AEVB's KL(q || p)).

Each update is the exact gradient of its own loss at fixed samples, so both are checked against
finite differences (tests/test_repro_wake_sleep.py). The sum of the two is not the gradient of any
single objective; the variational lower bound is still the natural measure of progress, and K&W
plot it for wake-sleep with its recognition model as q.

Fantasies from a Bernoulli decoder are binary draws; from a Gaussian decoder, mean plus noise.
"""

import math

from ..models.log_joint import log_joint
from ..ops.gaussian import log_normal_backward, log_normal_forward, reparameterize_forward
from ..optim.optimizers import Adagrad
from ..arrays.random import as_generator
from ..arrays.validation import check_optional_positive_int
from .base import Algorithm, register_algorithm


def wake_loss_and_grads(model, x, z):
    r"""Wake phase: loss = -(1/B) sum_b log p_theta(x_b | z_b) at fixed z, and d loss / d theta.

    (log p(z) is added to the reported value but has no theta gradient.)
    Shapes: x (B, D), z (B, Z) -> float, dict of "dec.*" gradients.
    """
    B = x.shape[0]
    dlogp = model.backend.xp.full(B, -1.0 / B, dtype=model.dtype)    # d loss / d log p(x_b, z_b) = -1/B
    logp, grads, _ = log_joint(model, x, z, dlogp)
    return -float(logp.mean()), grads


def sleep_loss_and_grads(model, z, x_fantasy):
    r"""Sleep phase: loss = -(1/B) sum_b log q_phi(z_b | x_b) at a fixed fantasy (z, x), and d loss / d phi.

    log q(z | x) = log N(z; mu(x), diag(exp(logvar(x)))); its gradients with respect to mu and
    logvar come from the registered ``log_normal`` op and flow back through the encoder.
    Shapes: z (B, Z), x_fantasy (B, D) -> float, dict of "enc.*" gradients.
    """
    B = z.shape[0]
    (mu, logvar), enc_cache = model.encoder.forward(model.params, x_fantasy)   # (B, Z), (B, Z)
    logq, q_cache = log_normal_forward(z, mu, logvar)                          # (B,)
    dlogq = model.backend.xp.full(B, -1.0 / B, dtype=model.dtype)              # d loss / d log q_b
    _, dmu, dlogvar = log_normal_backward(dlogq, q_cache)                      # (B, Z) each
    _, grads = model.encoder.backward(dmu, dlogvar, enc_cache)
    return -float(logq.mean()), grads


def sample_recognition(model, x, rng):
    """z ~ q(z | x), one draw per datapoint (B, Z), with no gradient attached."""
    mu, logvar = model.encode(x)
    eps = model.backend.standard_normal(rng, (1, x.shape[0], model.latent_dim), model.dtype)
    z, _ = reparameterize_forward(mu, logvar, eps)                             # (1, B, Z)
    return z[0]


def sample_fantasy(model, n, rng):
    """A fantasy (z, x) from the generative model: z ~ N(0, I), x ~ p(x | z). Shapes (n, Z), (n, D)."""
    z = model.backend.standard_normal(rng, (n, model.latent_dim), model.dtype)
    out, _ = model.decoder.forward(model.params, z)
    return z, model.decoder.sample(out, rng)


@register_algorithm("wake_sleep")
class WakeSleep(Algorithm):
    """Wake-sleep training of a :class:`numpyvae.VAE`'s encoder and decoder.

    Parameters
    ----------
    model : VAE
        Its ``params`` are updated in place; the architecture is the AEVB one, so the two methods
        are compared with the same recognition model.
    optimizer : numpyvae.optim.Optimizer, optional
        Default: Adagrad with ``lr`` and ``weight_decay`` (the paper's).
    lr : float
        Adagrad step size (K&W pick it from {0.01, 0.02, 0.1}) when no optimizer is given.
    weight_decay : float
        lambda of the N(0, I / lambda) prior on every parameter (MAP), as for AEVB.
    n_sleep : int, optional
        Fantasies per sleep phase; default: the data minibatch size.

    Attributes
    ----------
    last_wake_loss_, last_sleep_loss_ : float
    """

    def __init__(self, model, optimizer=None, lr=0.02, weight_decay=0.0, n_sleep=None):
        super().__init__(model, Adagrad(lr=lr, weight_decay=weight_decay) if optimizer is None else optimizer)
        self.n_sleep = check_optional_positive_int("n_sleep", n_sleep)

    @classmethod
    def build(cls, model, optimizer, n_data=None, seed=0, n_sleep=None):
        return cls(model, optimizer, n_sleep=n_sleep)

    def get_config(self):
        return {"n_sleep": self.n_sleep}

    def step(self, x, rng, index=None):
        """One wake and one sleep update, applied together in one optimizer step. Returns the wake loss."""
        rng = as_generator(rng)
        model = self.model
        x = model._data(x)
        z = sample_recognition(model, x, rng)                         # (B, Z)
        wake_loss, grads = wake_loss_and_grads(model, x, z)          # dec.*
        n = x.shape[0] if self.n_sleep is None else int(self.n_sleep)
        z_f, x_f = sample_fantasy(model, n, rng)                     # (n, Z), (n, D)
        sleep_loss, enc_grads = sleep_loss_and_grads(model, z_f, x_f)  # enc.*
        grads.update(enc_grads)
        self.last_wake_loss_, self.last_sleep_loss_ = wake_loss, sleep_loss
        if not (math.isfinite(wake_loss) and math.isfinite(sleep_loss)):
            return wake_loss if not math.isfinite(wake_loss) else sleep_loss   # parameters untouched
        self._update(model.params, grads)
        return wake_loss
