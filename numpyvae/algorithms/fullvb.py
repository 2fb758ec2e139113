r"""Full variational Bayes over the generative parameters (Kingma & Welling 2013, appendix F).

Instead of a point (MAP) estimate of the decoder parameters theta, keep a factorised Gaussian
posterior q(theta) = N(m, diag(exp(s))) and the prior p(theta) = N(0, I). The bound on the
marginal likelihood of the whole data set X (N points) is

    L(m, s, phi; X) = E_{q(theta)}[ sum_i ELBO_i(theta, phi) ] - KL(q(theta) || p(theta)),

estimated with theta = m + exp(s / 2) * zeta, zeta ~ N(0, I) (the reparameterisation trick applied to
theta, appendix F), one theta draw per minibatch of B points:

    F = -(1/B) sum_b ELBO_b(theta, phi) + (1/N) KL(q(theta) || p(theta))       (minimised; nats per datapoint)
    KL = 1/2 sum_j (m_j^2 + exp(s_j) - 1 - s_j)                               (closed form, appendix B)

Gradients (dF/dtheta = g from the model's own backward pass):

    dF/dm = g + m / N                                 (``reparameterize`` and ``kl_standard_normal`` ops)
    dF/ds = g * zeta * exp(s / 2) / 2 + (exp(s) - 1) / (2N)
    dF/dphi as in AEVB (the recognition parameters phi stay point estimates: they are variational
    parameters, not model parameters).

The model's own ``params["dec.*"]`` hold the means m; the log-variances s are kept here under
``"q.logvar.<name>"``.
"""
import math

import numpy as np

from ..ops.gaussian import (kl_standard_normal_backward, kl_standard_normal_forward, reparameterize_backward,
                           reparameterize_forward)
from ..optim.optimizers import Adagrad
from ..arrays.random import as_generator
from ..arrays.validation import check_positive_int, check_real
from .base import Algorithm, register_algorithm

LOGVAR_PREFIX = "q.logvar."


@register_algorithm("fullvb")
class FullVB(Algorithm):
    """Full variational Bayes for a :class:`numpyvae.VAE`: a Gaussian posterior over its decoder.

    Parameters
    ----------
    model : VAE
        Its decoder parameters become the posterior means; its encoder stays a point estimate.
    n_data : int
        N, the training-set size (weighs the KL against the data term).
    lr : float
        Adagrad step size (when no ``optimizer`` is given).
    init_logvar : float
        Initial log-variance s of every decoder parameter (default: log 1e-4, std 0.01 = the
        paper's initialisation scale).
    rng : numpy.random.Generator or int
        Default noise source of :meth:`step`.
    optimizer : numpyvae.optim.Optimizer, optional
        Updates :attr:`params`; default Adagrad with ``lr``.

    Attributes
    ----------
    params : dict
        Every variational parameter: the model's encoder and decoder arrays (the same objects)
        and the log-variances ``"q.logvar.dec.*"``.
    """

    def __init__(self, model, n_data, lr=0.02, init_logvar=math.log(1e-4), rng=0, optimizer=None):
        super().__init__(model, Adagrad(lr=lr) if optimizer is None else optimizer)
        self.init_logvar = check_real("init_logvar", init_logvar)
        self.n_data = check_positive_int("n_data", n_data)
        self.decoder_names = [k for k in model.params if k.startswith("dec.")]
        xp = model.backend.xp
        self.logvars = {LOGVAR_PREFIX + k: xp.full(model.params[k].shape, init_logvar, dtype=model.dtype)
                        for k in self.decoder_names}
        self.rng = as_generator(rng)

    @classmethod
    def build(cls, model, optimizer, n_data=None, seed=0, init_logvar=math.log(1e-4)):
        if n_data is None:
            raise ValueError("full VB needs n_data, the number of training points (it weighs the KL)")
        return cls(model, n_data, init_logvar=init_logvar, rng=seed, optimizer=optimizer)

    def get_config(self):
        return {"init_logvar": self.init_logvar}

    @property
    def params(self):
        return {**self.model.params, **self.logvars}

    def sample_theta(self, zeta):
        """theta = m + exp(s / 2) * zeta for every decoder parameter; zeta a dict of arrays of their shapes."""
        theta, caches = {}, {}
        for k in self.decoder_names:
            t, caches[k] = reparameterize_forward(self.model.params[k], self.logvars[LOGVAR_PREFIX + k],
                                                  zeta[k][None])   # (1, *shape)
            theta[k] = t[0]
        return theta, caches

    def kl(self):
        """KL(q(theta) || N(0, I)), summed over every decoder parameter."""
        total = 0.0
        for k in self.decoder_names:
            m = self.model.params[k].reshape(1, -1)
            s = self.logvars[LOGVAR_PREFIX + k].reshape(1, -1)
            total += float(kl_standard_normal_forward(m, s)[0][0])
        return total

    def draw_zeta(self, rng):
        return {k: self.model.backend.standard_normal(rng, self.model.params[k].shape, self.model.dtype)
                for k in self.decoder_names}

    def _with_theta(self, theta, fn):
        saved = self.model.params
        self.model.params = {**saved, **theta}
        try:
            return fn()
        finally:
            self.model.params = saved

    def loss_and_grads(self, x, eps, zeta):
        """F (see the module docstring) and its gradient over :attr:`params`, at fixed noise.

        Shapes: x (B, D), eps (L, B, Z), zeta dict of decoder-parameter shapes.
        """
        theta, caches = self.sample_theta(zeta)
        loss, g = self._with_theta(theta, lambda: self.model.loss_and_grads(x, eps))
        inv_n = 1.0 / self.n_data                                     # the KL is spread over N datapoints
        grads = {k: g[k] for k in self.model.params if k not in theta}    # enc.*: as in AEVB
        kl = 0.0
        for k in self.decoder_names:
            m = self.model.params[k].reshape(1, -1)
            s = self.logvars[LOGVAR_PREFIX + k].reshape(1, -1)
            kl_k, kl_cache = kl_standard_normal_forward(m, s)         # (1,)
            kl += float(kl_k[0])
            dm_kl, ds_kl = kl_standard_normal_backward(np.full(1, inv_n), kl_cache)   # (1, P)
            dm_z, ds_z = reparameterize_backward(g[k][None], caches[k])               # theta feeds the ELBO
            grads[k] = dm_z + dm_kl.reshape(g[k].shape)                               # m feeds theta and the KL
            grads[LOGVAR_PREFIX + k] = ds_z + ds_kl.reshape(g[k].shape)
        return loss + kl * inv_n, grads

    def step(self, x, rng=None, index=None):
        """One optimizer step on F with fresh eps and zeta. Returns F."""
        rng = self.rng if rng is None else as_generator(rng)
        x = self.model._data(x)
        eps = self.model.backend.standard_normal(rng, (1, x.shape[0], self.model.latent_dim), self.model.dtype)
        loss, grads = self.loss_and_grads(x, eps, self.draw_zeta(rng))
        if math.isfinite(loss):
            self._update(self.params, grads)
        return loss

    def bound(self, x, rng=None, n_theta=5):
        """Per-datapoint lower bound E_q(theta)[ELBO(x; theta)] - KL / N, averaged over ``n_theta`` draws.

        Returns the mean over the rows of ``x`` (a float): the whole-data-set bound L / N when
        ``x`` is the training set.
        """
        rng = self.rng if rng is None else as_generator(rng)
        x = self.model._data(x)
        total = 0.0
        for _ in range(int(n_theta)):
            theta, _ = self.sample_theta(self.draw_zeta(rng))
            total += self._with_theta(theta, lambda: float(self.model.elbo(x, rng=rng).mean()))
        return total / int(n_theta) - self.kl() / self.n_data

    def state_arrays(self):
        return {k: self.model.backend.to_numpy(v) for k, v in self.logvars.items()}

    def load_state_arrays(self, arrays):
        if set(arrays) != set(self.logvars):
            raise ValueError(f"full VB state arrays {sorted(arrays)} do not match {sorted(self.logvars)}")
        for k, a in arrays.items():
            if np.shape(a) != tuple(self.logvars[k].shape) or not np.isfinite(a).all():
                raise ValueError(f"full VB state {k!r} must be a finite array of shape {tuple(self.logvars[k].shape)}, "
                                 f"got shape {np.shape(a)}")
        for k in self.logvars:
            self.logvars[k] = self.model.backend.asarray(np.array(arrays[k]), dtype=self.model.dtype)
