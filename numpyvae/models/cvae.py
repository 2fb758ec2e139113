r"""The conditional VAE (Sohn, Lee & Yan 2015): a condition c enters encoder and decoder.

    mu, logvar = encoder([x, c]);   z_l = mu + exp(logvar / 2) * eps_l
    ELBO(x | c) = (1/L) sum_l log p(x | [z_l, c]) - beta * KL(q(z | x, c) || N(0, I))   (estimator B)
    or the Monte-Carlo KL (estimator A), exactly as :class:`numpyvae.VAE`,

with the prior p(z | c) = N(0, I). For MNIST, c is the one-hot label: sampling z ~ N(0, I) with a
chosen c draws that digit. The backward is the VAE's plus the split of the concatenations
(:func:`numpyvae.ops.conditioning.concat_condition_backward`); docs/variants.md derives it.
"""
import numpy as np

from ..nn.decoders import LIKELIHOODS, make_decoder
from ..nn.encoders import GaussianEncoder
from ..ops.conditioning import concat_condition_backward, concat_condition_forward
from ..ops.gaussian import (kl_standard_normal_backward, kl_standard_normal_forward, log_normal_backward,
                            log_normal_forward, log_standard_normal_backward, log_standard_normal_forward,
                            reparameterize_backward, reparameterize_forward)
from ..arrays.random import as_generator
from ..arrays.validation import check_choice, check_positive_int
from .vae import ESTIMATORS
from .base import BaseModel, check_finite_loss, check_hidden_sizes, check_nonnegative, check_positive
from .registry import register_model


@register_model("cvae", example={"input_dim": 6, "hidden_sizes": (5,), "latent_dim": 2, "condition_dim": 3},
                aliases=())
class CVAE(BaseModel):
    """Conditional VAE with a diagonal-Gaussian encoder q(z | x, c) and an MLP decoder p(x | z, c).

    Parameters
    ----------
    input_dim : int
    condition_dim : int
        Width C of the condition vector (10 for one-hot MNIST labels).
    hidden_sizes, latent_dim, likelihood, activation, estimator, beta, dtype, rng, init, init_scale,
    sigma, backend
        As for :class:`numpyvae.VAE`.

    Every method that reads data takes the condition as the keyword ``c``: an array (B, C) or a
    vector of B integer labels in [0, C), one-hot encoded.

    Attributes
    ----------
    params : dict of str -> array
        As in :class:`numpyvae.VAE`, but ``enc.0.W`` (or the heads, without hidden layers) reads
        input_dim + C inputs and ``dec.0.W`` reads latent_dim + C.
    """

    needs_labels = True
    supports_workspace = True

    def __init__(self, input_dim, condition_dim=10, hidden_sizes=(500,), latent_dim=20, likelihood="bernoulli",
                 activation="tanh", estimator="analytic", beta=1.0, dtype=np.float64, rng=None, init="normal",
                 init_scale=0.01, sigma=1.0, backend=None):
        self._setup_common(input_dim, activation, dtype, rng, init, init_scale, backend)
        self.condition_dim = check_positive_int("condition_dim", condition_dim)
        self.hidden_sizes = check_hidden_sizes(hidden_sizes)
        self.latent_dim = check_positive_int("latent_dim", latent_dim)
        self.likelihood = check_choice("likelihood", likelihood, LIKELIHOODS)
        self._data_likelihood = self.likelihood
        self.estimator = check_choice("estimator", estimator, ESTIMATORS)
        self.beta = check_nonnegative("beta", beta)
        self.sigma = check_positive("sigma", sigma)
        C = self.condition_dim
        self.encoder = GaussianEncoder(self.input_dim + C, self.hidden_sizes, self.latent_dim, self.activation)
        self.decoder = make_decoder(self.likelihood, self.latent_dim + C, self.hidden_sizes[::-1], self.input_dim,
                                    self.activation, sigma=self.sigma)
        self._init_params(self.encoder, self.decoder)

    def get_config(self):
        """The constructor arguments as JSON-friendly values."""
        return {"input_dim": self.input_dim, "condition_dim": self.condition_dim,
                "hidden_sizes": list(self.hidden_sizes), "latent_dim": self.latent_dim,
                "likelihood": self.likelihood, "activation": self.activation, "estimator": self.estimator,
                "beta": self.beta, "dtype": self.dtype.name, "init": self.init, "init_scale": self.init_scale,
                "sigma": self.sigma}

    def __repr__(self):
        arch = "-".join(str(d) for d in (self.input_dim, *self.hidden_sizes, self.latent_dim))
        return (f"CVAE({arch}, condition_dim={self.condition_dim}, likelihood={self.likelihood!r}, "
                f"estimator={self.estimator!r}, beta={self.beta:g}, dtype={self.dtype.name})")

    # ------------------------------------------------------------------ inputs
    def _condition(self, c, batch_size, name="c"):
        """Validate ``c``: (B, C) values, or (B,) integer labels -> one-hot (B, C), in the model's dtype."""
        xp = self.backend.xp
        if c is None:
            raise ValueError(f"this model is conditional: pass the condition as keyword {name}= (integer labels "
                             f"of shape ({batch_size},) or an array ({batch_size}, {self.condition_dim}))")
        c = self.backend.asarray(c)
        if c.dtype.kind not in "biuf":
            raise ValueError(f"{name} must be numeric, got dtype {c.dtype}")
        if c.ndim == 0:
            c = xp.full(batch_size, c)
        if c.ndim == 1:
            if c.dtype.kind == "f" and not bool((c == xp.round(c)).all()):
                raise ValueError(f"{name} given as a vector must hold integer labels")
            labels = c.astype(np.int64)
            if labels.shape[0] != batch_size:
                raise ValueError(f"{name} has {labels.shape[0]} labels for a batch of {batch_size}")
            if bool((labels < 0).any()) or bool((labels >= self.condition_dim).any()):
                raise ValueError(f"labels in {name} must lie in [0, {self.condition_dim}), found "
                                 f"[{int(labels.min())}, {int(labels.max())}]")
            return (labels[:, None] == xp.arange(self.condition_dim)).astype(self.dtype)
        if c.ndim != 2 or c.shape != (batch_size, self.condition_dim):
            raise ValueError(f"{name} must have shape ({batch_size}, {self.condition_dim}) or ({batch_size},) "
                             f"labels, got {tuple(c.shape)}")
        c = c.astype(self.dtype, copy=False)
        if not bool(xp.isfinite(c).all()):
            raise ValueError(f"{name} contains NaN or infinite values")
        return c

    def _inputs(self, x, c):
        x = self._data(x)
        return x, self._condition(c, x.shape[0])

    # ------------------------------------------------------------------ the objective
    def forward(self, x, c, eps, workspace=None):
        """Per-datapoint ELBO terms ``{"elbo", "loglik", "kl"}`` (each (B,)) and the cache.

        ``x`` (B, D), ``c`` (B, C) and ``eps`` (L, B, Z) must be validated arrays of the model's dtype.
        With a ``workspace``, the large intermediate arrays (and so the cache) live in it.
        """
        ws = workspace
        xc, _ = concat_condition_forward(x, c)                          # (B, D + C)
        (mu, logvar), enc_cache = self.encoder.forward(self.params, xc, workspace=ws)  # (B, Z) each
        z, rep_cache = reparameterize_forward(mu, logvar, eps)          # (L, B, Z)
        zc, zc_cache = concat_condition_forward(z, c)                   # (L, B, Z + C)
        out, dec_cache = self.decoder.forward(self.params, zc, workspace=ws)       # each (L, B, D)
        loglik, ll_cache = self.decoder.log_prob_forward(x, out, workspace=ws)     # (L, B)
        L = eps.shape[0]
        loglik_mean = loglik.sum(axis=0) / L                            # (B,)
        if self.estimator == "analytic":
            kl, kl_cache = kl_standard_normal_forward(mu, logvar)       # (B,)
        else:
            logp, logp_cache = log_standard_normal_forward(z)           # (L, B)
            logq, logq_cache = log_normal_forward(z, mu, logvar)        # (L, B)
            kl = (logq - logp).sum(axis=0) / L                          # (B,)
            kl_cache = (logp_cache, logq_cache)
        elbo = loglik_mean - self.beta * kl                             # (B,)
        cache = (enc_cache, rep_cache, zc_cache, dec_cache, ll_cache, kl_cache, L)
        return {"elbo": elbo, "loglik": loglik_mean, "kl": kl}, cache

    def backward(self, delbo, cache, workspace=None):
        """Gradients of sum_b delbo_b * ELBO_b. Shapes: delbo (B,) -> dict name -> array.

        With a ``workspace`` the gradients are its arrays, overwritten by the next backward pass.
        """
        enc_cache, rep_cache, zc_cache, dec_cache, ll_cache, kl_cache, L = cache
        ws = workspace
        xp = self.backend.xp
        dloglik = xp.broadcast_to(delbo / L, (L, delbo.shape[0]))      # (L, B)  d elbo / d loglik_l = 1/L
        dout = self.decoder.log_prob_backward(dloglik, ll_cache, workspace=ws)   # each (L, B, D)
        dzc, grads = self.decoder.backward(dout, dec_cache, workspace=ws)        # (L, B, Z + C)
        dz, _ = concat_condition_backward(dzc, zc_cache)                # (L, B, Z)  c is data: its part dropped
        if self.estimator == "analytic":
            dmu_kl, dlogvar_kl = kl_standard_normal_backward(-self.beta * delbo, kl_cache)  # (B, Z)
        else:
            logp_cache, logq_cache = kl_cache
            dz_p = log_standard_normal_backward(self.beta * dloglik, logp_cache)           # (L, B, Z)
            dz_q, dmu_kl, dlogvar_kl = log_normal_backward(-self.beta * dloglik, logq_cache)
            dz = dz + dz_p + dz_q                                       # z feeds decoder, log p(z), log q(z|x,c)
        dmu_z, dlogvar_z = reparameterize_backward(dz, rep_cache)       # (B, Z)
        # mu, logvar feed the sample and the KL; [x, c] is data: need_dx=False skips its gradient
        _, enc_grads = self.encoder.backward(dmu_z + dmu_kl, dlogvar_z + dlogvar_kl, enc_cache, workspace=ws,
                                             need_dx=False)
        grads.update(enc_grads)
        return grads

    def loss_and_grads(self, x, eps=None, rng=None, n_samples=1, c=None, workspace=None):
        """The loss -mean_b ELBO(x_b | c_b) and its gradient (see :meth:`numpyvae.VAE.loss_and_grads`,
        also for ``workspace``). Returns ``(loss, grads)``, ``grads`` in ``params`` order, laid out as
        consecutive pieces of one vector."""
        x, c = self._inputs(x, c)
        eps = self._noise(x, eps, rng, n_samples, self.latent_dim)
        ws = self._workspace(workspace, like=x)
        terms, cache = self.forward(x, c, eps, workspace=ws)
        loss = check_finite_loss(self, -float(terms["elbo"].mean()), terms)   # a clear error, never inf or NaN
        B = x.shape[0]
        delbo = self.backend.xp.full(B, -1.0 / B, dtype=self.dtype)   # d loss / d elbo_b = -1/B
        grads = self.backward(delbo, cache, workspace=ws)
        return loss, self._ordered(grads)

    def check_loss(self, x, eps=None, rng=0, c=None):
        """The loss -mean_b ELBO(x_b | c_b) at fixed noise, for the float64 gradient check.

        Returns ``(loss_fn, grads)``: ``loss_fn()`` re-evaluates the loss from the current ``params``
        with the noise ``eps`` (L, B, latent_dim) and the condition ``c`` held fixed (one noise draw,
        L = 1, from ``rng`` when not given); ``grads`` is :meth:`loss_and_grads` at the current
        parameters with that noise and condition.
        """
        x = self._data(x)
        eps = self._noise(x, eps, as_generator(rng), 1, self.latent_dim)   # (L, B, Z), fixed from here on
        c = self._condition(c, x.shape[0])                              # (B, C)
        _, grads = self.loss_and_grads(x, eps, c=c)
        return (lambda: -float(self.forward(x, c, eps)[0]["elbo"].mean())), grads

    def elbo_terms(self, x, eps=None, rng=None, n_samples=1, c=None):
        """``{"elbo", "loglik", "kl"}``, each (B,)."""
        x, c = self._inputs(x, c)
        terms, _ = self.forward(x, c, self._noise(x, eps, rng, n_samples, self.latent_dim))
        return terms

    def elbo(self, x, eps=None, rng=None, n_samples=1, c=None):
        """Per-datapoint ELBO of log p(x | c), shape (B,)."""
        return self.elbo_terms(x, eps, rng, n_samples, c=c)["elbo"]

    def bound(self, x, eps=None, rng=None, n_samples=1, c=None):
        """The model's bound per datapoint (the ELBO of log p(x | c)), shape (B,); higher is better."""
        return self.elbo(x, eps, rng, n_samples, c=c)

    def log_weights(self, x, eps=None, rng=None, n_samples=1, c=None):
        r"""log w_l = log p(x | z_l, c) + log p(z_l) - log q(z_l | x, c), shape (L, B)."""
        x, c = self._inputs(x, c)
        eps = self._noise(x, eps, rng, n_samples, self.latent_dim)
        xc, _ = concat_condition_forward(x, c)
        (mu, logvar), _ = self.encoder.forward(self.params, xc)
        z, _ = reparameterize_forward(mu, logvar, eps)                  # (L, B, Z)
        zc, _ = concat_condition_forward(z, c)
        out, _ = self.decoder.forward(self.params, zc)
        loglik, _ = self.decoder.log_prob_forward(x, out)               # (L, B)
        logp, _ = log_standard_normal_forward(z)
        logq, _ = log_normal_forward(z, mu, logvar)
        return loglik + logp - logq

    # ------------------------------------------------------------------ the model's parts
    def encode(self, x, c=None):
        """Parameters of q(z | x, c): mu (B, Z) and logvar (B, Z)."""
        x, c = self._inputs(x, c)
        xc, _ = concat_condition_forward(x, c)
        (mu, logvar), _ = self.encoder.forward(self.params, xc)
        return mu, logvar

    def embed(self, x, c=None):
        """The posterior mean E_q[z | x, c], shape (B, Z)."""
        return self.encode(x, c=c)[0]

    def posterior_means(self, x, rng=None, n_samples=1, c=None):
        """[E_q[z | x, c]], for the active-units statistic."""
        return [self.embed(x, c=c)]

    def decode(self, z, c=None):
        """Parameters of p(x | z, c) as a dict, for z (B, Z) or (L, B, Z) and c for the B datapoints."""
        z = self._latents(z, self.latent_dim)
        zc, _ = concat_condition_forward(z, self._condition(c, z.shape[-2]))
        out, _ = self.decoder.forward(self.params, zc)
        return out

    def sample(self, n, rng=None, mean=True, c=None):
        """Draw ``n`` datapoints given the condition: z ~ N(0, I), then p(x | z, c).

        ``c`` is one integer label (every sample of that class), ``n`` labels, or an (n, C) array.
        """
        n = check_positive_int("n", n)
        rng = self._generator(rng)
        c = self._condition(c, n)
        z = self.backend.standard_normal(rng, (n, self.latent_dim), self.dtype)
        zc, _ = concat_condition_forward(z, c)
        out, _ = self.decoder.forward(self.params, zc)
        return self.decoder.mean(out) if mean else self.decoder.sample(out, rng)

    def reconstruct(self, x, c=None):
        """Decoder mean at the posterior mean, E[x | z = mu(x, c), c], shape (B, input_dim)."""
        x, c = self._inputs(x, c)
        xc, _ = concat_condition_forward(x, c)
        (mu, _), _ = self.encoder.forward(self.params, xc)
        zc, _ = concat_condition_forward(mu, c)
        out, _ = self.decoder.forward(self.params, zc)
        return self.decoder.mean(out)


def samples_per_class(model, n_per_class, rng=None, mean=True):
    """One row of samples per class of a :class:`CVAE`: array (condition_dim, n_per_class, input_dim).

    Row j holds ``n_per_class`` draws with the one-hot condition e_j, the same latent draws z in
    every row, so that the rows differ only in the class (reshape to images and tile for a figure).
    """
    n_per_class = check_positive_int("n_per_class", n_per_class)
    rng = model._generator(rng)
    C = model.condition_dim
    z = model.backend.standard_normal(rng, (n_per_class, model.latent_dim), model.dtype)
    rows = []
    for label in range(C):
        out = model.decode(z, c=model.backend.xp.full(n_per_class, label))
        rows.append(model.decoder.mean(out) if mean else model.decoder.sample(out, rng))
    return model.backend.xp.stack(rows)                                # (C, n, D)
