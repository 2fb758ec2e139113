r"""A VAE whose posterior is a Gaussian with full covariance, Sigma = L L^T.

The encoder has three heads on its last hidden layer h:

    mu = h W_mu + b_mu;   log_std = h W_ls + b_ls;   L' = h W_off + b_off   (Z (Z - 1) / 2 entries)
    L  = mask * L' + diag(exp(log_std))             (:func:`numpyvae.ops.fullcov.scale_tril_forward`)
    z  = mu + L eps                                 (:func:`numpyvae.ops.fullcov.tril_reparameterize_forward`)

- estimator "analytic": KL(N(mu, L L^T) || N(0, I)) = 1/2 [tr(L L^T) + mu^T mu - Z] - sum_i log L_ii
  (:func:`~numpyvae.ops.fullcov.kl_tril_standard_normal_forward`);
- estimator "mc": log q(z | x) = log N(eps; 0, I) - log|det dz/d eps| = log N(eps; 0, I) - sum_i log_std_i,
  which, for z made from eps, is exactly log N(z; mu, L L^T) (:func:`~numpyvae.ops.fullcov.log_normal_tril_forward`
  computes the same density for an arbitrary z).

With W_off = 0 and b_off = 0 the model is the diagonal VAE with logvar = 2 log_std.
"""
import numpy as np

from ..nn.decoders import LIKELIHOODS, make_decoder
from ..nn.layers import MLP, Dense
from ..ops.fullcov import (kl_tril_standard_normal_backward, kl_tril_standard_normal_forward, n_offdiag,
                           scale_tril_backward, scale_tril_forward, tril_reparameterize_backward,
                           tril_reparameterize_forward)
from ..ops.gaussian import log_standard_normal_backward, log_standard_normal_forward
from ..arrays.random import as_generator
from ..arrays.validation import check_choice, check_positive_int
from .vae import ESTIMATORS
from .base import (BaseModel, StandardNormalPriorMixin, check_finite_loss, check_hidden_sizes, check_nonnegative,
                   check_positive)
from .registry import register_model


class FullCovGaussianEncoder:
    """Recognition model q(z | x) = N(mu, L L^T): an MLP and heads ``mu``, ``log_std``, ``offdiag``.

    Structure only, like :class:`numpyvae.GaussianEncoder`. For Z = 1 there is no off-diagonal
    head (and ``offdiag`` is an empty (B, 0) array). ``forward`` and ``backward`` take an optional
    ``workspace`` to draw their arrays from (see :mod:`numpyvae.nn.layers`).
    """

    def __init__(self, input_dim, hidden_sizes, latent_dim, activation, name="enc"):
        self.trunk = MLP((input_dim, *hidden_sizes), activation, name)
        self.latent_dim = int(latent_dim)
        self.mu_head = Dense(self.trunk.out_dim, latent_dim, f"{name}.mu")
        self.log_std_head = Dense(self.trunk.out_dim, latent_dim, f"{name}.log_std")
        n_off = n_offdiag(self.latent_dim)
        self.offdiag_head = Dense(self.trunk.out_dim, n_off, f"{name}.offdiag") if n_off else None

    def init_params(self, rng, dtype, init="normal", init_scale=0.01):
        params = self.trunk.init_params(rng, dtype, init, init_scale)
        for head in (self.mu_head, self.log_std_head, self.offdiag_head):
            if head is not None:
                params.update(head.init_params(rng, dtype, init, init_scale))
        return params

    def forward(self, params, x, workspace=None):
        """Shapes: x (B, input_dim) -> mu (B, Z), log_std (B, Z), offdiag (B, Z (Z - 1) / 2)."""
        h, trunk_cache = self.trunk.forward(params, x, workspace)     # (B, H)
        mu, mu_cache = self.mu_head.forward(params, h, workspace)     # (B, Z)
        log_std, ls_cache = self.log_std_head.forward(params, h, workspace)  # (B, Z)
        if self.offdiag_head is not None:
            offdiag, off_cache = self.offdiag_head.forward(params, h, workspace)  # (B, Z (Z - 1) / 2)
        else:
            offdiag, off_cache = h[:, :0] * 0, None                   # (B, 0)
        return (mu, log_std, offdiag), (trunk_cache, mu_cache, ls_cache, off_cache)

    def backward(self, dmu, dlog_std, doffdiag, cache, workspace=None, need_dx=True):
        """Shapes: dmu (B, Z), dlog_std (B, Z), doffdiag (B, Z (Z - 1) / 2) -> dx, parameter grads.

        ``need_dx=False`` skips the gradient with respect to the input x (returned as None).
        """
        trunk_cache, mu_cache, ls_cache, off_cache = cache
        dh, grads = self.mu_head.backward(dmu, mu_cache, workspace)   # (B, H)  the head's own array
        dh_ls, ls_grads = self.log_std_head.backward(dlog_std, ls_cache, workspace)
        grads.update(ls_grads)
        dh += dh_ls                                                   # (B, H)  h feeds every head
        if self.offdiag_head is not None:
            dh_off, off_grads = self.offdiag_head.backward(doffdiag, off_cache, workspace)
            grads.update(off_grads)
            dh += dh_off
        dx, trunk_grads = self.trunk.backward(dh, trunk_cache, workspace, need_dx=need_dx)
        grads.update(trunk_grads)
        return dx, grads


@register_model("fullcov-vae", example={"input_dim": 6, "hidden_sizes": (5,), "latent_dim": 3},
                aliases=("fullcov", "fullcov_vae"))
class FullCovVAE(StandardNormalPriorMixin, BaseModel):
    """VAE with a full-covariance Gaussian posterior N(mu, L L^T).

    Parameters
    ----------
    input_dim, hidden_sizes, latent_dim, likelihood, activation, estimator, beta, dtype, rng, init,
    init_scale, sigma, backend
        As for :class:`numpyvae.VAE`.

    Attributes
    ----------
    params : dict of str -> array
        ``enc.<i>.W/b``, ``enc.mu.W/b``, ``enc.log_std.W/b``, ``enc.offdiag.W/b``
        ((H, Z (Z - 1) / 2); absent for Z = 1), and the decoder's ``dec.*`` as in :class:`numpyvae.VAE`.
    """

    supports_workspace = True

    def __init__(self, input_dim, hidden_sizes=(500,), latent_dim=20, likelihood="bernoulli", activation="tanh",
                 estimator="analytic", beta=1.0, dtype=np.float64, rng=None, init="normal", init_scale=0.01,
                 sigma=1.0, backend=None):
        self._setup_common(input_dim, activation, dtype, rng, init, init_scale, backend)
        self.hidden_sizes = check_hidden_sizes(hidden_sizes)
        self.latent_dim = check_positive_int("latent_dim", latent_dim)
        self.likelihood = check_choice("likelihood", likelihood, LIKELIHOODS)
        self._data_likelihood = self.likelihood
        self.estimator = check_choice("estimator", estimator, ESTIMATORS)
        self.beta = check_nonnegative("beta", beta)
        self.sigma = check_positive("sigma", sigma)
        self.encoder = FullCovGaussianEncoder(self.input_dim, self.hidden_sizes, self.latent_dim, self.activation)
        self.decoder = make_decoder(self.likelihood, self.latent_dim, self.hidden_sizes[::-1], self.input_dim,
                                    self.activation, sigma=self.sigma)
        self._init_params(self.encoder, self.decoder)

    def get_config(self):
        """The constructor arguments as JSON-friendly values."""
        return {"input_dim": self.input_dim, "hidden_sizes": list(self.hidden_sizes), "latent_dim": self.latent_dim,
                "likelihood": self.likelihood, "activation": self.activation, "estimator": self.estimator,
                "beta": self.beta, "dtype": self.dtype.name, "init": self.init, "init_scale": self.init_scale,
                "sigma": self.sigma}

    def __repr__(self):
        arch = "-".join(str(d) for d in (self.input_dim, *self.hidden_sizes, self.latent_dim))
        return (f"FullCovVAE({arch}, likelihood={self.likelihood!r}, estimator={self.estimator!r}, "
                f"beta={self.beta:g}, dtype={self.dtype.name})")

    # ------------------------------------------------------------------ the objective
    def forward(self, x, eps, workspace=None):
        """Per-datapoint ``{"elbo", "loglik", "kl"}`` (each (B,)) and the cache.

        ``x`` (B, D) and ``eps`` (L, B, Z) must be validated arrays of the model's dtype. With a
        ``workspace``, the large intermediate arrays (and so the cache) live in it.
        """
        ws = workspace
        (mu, log_std, offdiag), enc_cache = self.encoder.forward(self.params, x, ws)  # (B,Z), (B,Z), (B,Z(Z-1)/2)
        Lm, tril_cache = scale_tril_forward(log_std, offdiag)           # (B, Z, Z)
        z, rep_cache = tril_reparameterize_forward(mu, Lm, eps)         # (L, B, Z)
        out, dec_cache = self.decoder.forward(self.params, z, workspace=ws)        # each (L, B, D)
        loglik, ll_cache = self.decoder.log_prob_forward(x, out, workspace=ws)     # (L, B)
        L = eps.shape[0]
        loglik_mean = loglik.sum(axis=0) / L                            # (B,)
        if self.estimator == "analytic":
            kl, kl_cache = kl_tril_standard_normal_forward(mu, Lm)      # (B,)
        else:
            logp, logp_cache = log_standard_normal_forward(z)           # (L, B)  log p(z_l)
            log_eps, _ = log_standard_normal_forward(eps)               # (L, B)  log N(eps_l; 0, I)
            logq = log_eps - log_std.sum(axis=-1)                       # (L, B)  - log|det L|
            kl = (logq - logp).sum(axis=0) / L                          # (B,)
            kl_cache = logp_cache
        elbo = loglik_mean - self.beta * kl                             # (B,)
        cache = (enc_cache, tril_cache, rep_cache, dec_cache, ll_cache, kl_cache, L)
        return {"elbo": elbo, "loglik": loglik_mean, "kl": kl}, cache

    def backward(self, delbo, cache, workspace=None):
        """Gradients of sum_b delbo_b * ELBO_b. Shapes: delbo (B,) -> dict name -> array.

        With a ``workspace`` the gradients are its arrays, overwritten by the next backward pass.
        """
        enc_cache, tril_cache, rep_cache, dec_cache, ll_cache, kl_cache, L = cache
        ws = workspace
        xp = self.backend.xp
        dloglik = xp.broadcast_to(delbo / L, (L, delbo.shape[0]))      # (L, B)  d elbo / d loglik_l = 1/L
        dout = self.decoder.log_prob_backward(dloglik, ll_cache, workspace=ws)   # each (L, B, D)
        dz, grads = self.decoder.backward(dout, dec_cache, workspace=ws)         # (L, B, Z)
        if self.estimator == "analytic":
            dmu_kl, dL_kl = kl_tril_standard_normal_backward(-self.beta * delbo, kl_cache)  # (B,Z), (B,Z,Z)
            dlog_std_kl = 0.0
        else:
            dz = dz + log_standard_normal_backward(self.beta * dloglik, kl_cache)  # z feeds decoder and log p(z)
            dmu_kl, dL_kl = 0.0, 0.0
            # elbo contains -beta (1/L) sum_l logq_l and d logq_l / d log_std_i = -1
            dlog_std_kl = self.beta * delbo[:, None]                    # (B, 1), broadcast over Z
        dmu_z, dL_z = tril_reparameterize_backward(dz, rep_cache)       # (B, Z), (B, Z, Z)
        dlog_std, doffdiag = scale_tril_backward(dL_z + dL_kl, tril_cache)  # L feeds the sample and the KL
        dlog_std = dlog_std + dlog_std_kl                               # (B, Z)
        # the data needs no gradient: need_dx=False skips the encoder's first-layer product dh W^T
        _, enc_grads = self.encoder.backward(dmu_z + dmu_kl, dlog_std, doffdiag, enc_cache, workspace=ws,
                                             need_dx=False)
        grads.update(enc_grads)
        return grads

    def loss_and_grads(self, x, eps=None, rng=None, n_samples=1, workspace=None):
        """The loss -mean_b ELBO(x_b) and its gradient (see :meth:`numpyvae.VAE.loss_and_grads`, also
        for ``workspace``). Returns ``(loss, grads)``, ``grads`` in ``params`` order, laid out as
        consecutive pieces of one vector."""
        x = self._data(x)
        eps = self._noise(x, eps, rng, n_samples, self.latent_dim)
        ws = self._workspace(workspace, like=x)
        terms, cache = self.forward(x, eps, workspace=ws)
        loss = check_finite_loss(self, -float(terms["elbo"].mean()), terms)   # a clear error, never inf or NaN
        B = x.shape[0]
        delbo = self.backend.xp.full(B, -1.0 / B, dtype=self.dtype)   # d loss / d elbo_b = -1/B
        grads = self.backward(delbo, cache, workspace=ws)
        return loss, self._ordered(grads)

    def check_loss(self, x, eps=None, rng=0):
        """The loss -mean_b ELBO(x_b) at fixed noise, for the float64 gradient check.

        Returns ``(loss_fn, grads)``: ``loss_fn()`` re-evaluates the loss from the current ``params``
        with the noise ``eps`` (L, B, latent_dim) held fixed (one draw, L = 1, from ``rng`` when not
        given); ``grads`` is :meth:`loss_and_grads` at the current parameters with that noise.
        """
        x = self._data(x)
        eps = self._noise(x, eps, as_generator(rng), 1, self.latent_dim)   # (L, B, Z), fixed from here on
        _, grads = self.loss_and_grads(x, eps)
        return (lambda: -float(self.forward(x, eps)[0]["elbo"].mean())), grads

    def elbo_terms(self, x, eps=None, rng=None, n_samples=1):
        """``{"elbo", "loglik", "kl"}``, each (B,)."""
        x = self._data(x)
        terms, _ = self.forward(x, self._noise(x, eps, rng, n_samples, self.latent_dim))
        return terms

    def elbo(self, x, eps=None, rng=None, n_samples=1):
        """Per-datapoint ELBO estimate, shape (B,)."""
        return self.elbo_terms(x, eps, rng, n_samples)["elbo"]

    def bound(self, x, eps=None, rng=None, n_samples=1):
        """The model's bound per datapoint (the ELBO), shape (B,); higher is better."""
        return self.elbo(x, eps, rng, n_samples)

    def log_weights(self, x, eps=None, rng=None, n_samples=1):
        r"""log w_l = log p(x | z_l) + log p(z_l) - log q(z_l | x), shape (L, B)."""
        x = self._data(x)
        eps = self._noise(x, eps, rng, n_samples, self.latent_dim)
        (mu, log_std, offdiag), _ = self.encoder.forward(self.params, x)
        Lm, _ = scale_tril_forward(log_std, offdiag)
        z, _ = tril_reparameterize_forward(mu, Lm, eps)                 # (L, B, Z)
        out, _ = self.decoder.forward(self.params, z)
        loglik, _ = self.decoder.log_prob_forward(x, out)               # (L, B)
        logp, _ = log_standard_normal_forward(z)                        # (L, B)
        log_eps, _ = log_standard_normal_forward(eps)                   # (L, B)
        return loglik + logp - (log_eps - log_std.sum(axis=-1))

    # ------------------------------------------------------------------ the model's parts
    def encode(self, x):
        """Parameters of q(z | x): mu (B, Z) and the lower-triangular scale L (B, Z, Z), Sigma = L L^T."""
        (mu, log_std, offdiag), _ = self.encoder.forward(self.params, self._data(x))
        Lm, _ = scale_tril_forward(log_std, offdiag)
        return mu, Lm
