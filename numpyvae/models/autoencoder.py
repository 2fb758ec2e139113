r"""A plain (deterministic) autoencoder with the VAE's MLPs, for side-by-side comparisons.

    z = MLP(x) W_z + b_z                                    (B, Z), no noise
    loss "bernoulli":      -sum_d [x_d eta_d - softplus(eta_d)],  eta = decoder logits
    loss "squared_error":  sum_d (x_d - xhat_d)^2,               xhat = decoder mean (identity output)

averaged over the batch. The backward is the decoder's, then the encoder's (docs/variants.md).
Sampling needs a distribution over codes: :meth:`Autoencoder.fit_prior` fits a Gaussian to the
codes of the training set.
"""
import numpy as np

from ..nn.decoders import BernoulliDecoder, GaussianDecoder
from ..nn.layers import MLP, Dense
from ..ops.quantize import squared_error_backward, squared_error_forward
from ..arrays.validation import check_choice, check_positive_int
from .base import BaseModel, check_finite_loss, check_hidden_sizes
from .registry import register_model

LOSSES = ("bernoulli", "squared_error")


@register_model("autoencoder", example={"input_dim": 6, "hidden_sizes": (5,), "latent_dim": 2},
                aliases=("ae",))
class Autoencoder(BaseModel):
    """Deterministic autoencoder: encoder ``enc.*`` -> code z -> decoder ``dec.*``.

    Parameters
    ----------
    input_dim : int
    hidden_sizes : sequence of int
        Encoder hidden widths; the decoder uses them reversed (as in :class:`numpyvae.VAE`).
    latent_dim : int
    loss : {"bernoulli", "squared_error"}
        Reconstruction loss: Bernoulli negative log-likelihood from logits (data in [0, 1]) or the
        squared error of an identity-output decoder.
    activation, dtype, rng, init, init_scale, backend
        As for :class:`numpyvae.VAE`.

    Attributes
    ----------
    params : dict of str -> array
        ``enc.<i>.W/b``, ``enc.z.W/b`` (the code head), ``dec.<i>.W/b`` and ``dec.logits.W/b``
        (Bernoulli) or ``dec.mean.W/b`` (squared error).
    buffers : dict of str -> array
        After :meth:`fit_prior`: ``ae.prior_mean`` (Z,) and ``ae.prior_scale_tril`` (Z, Z).
    """

    supports_workspace = True

    def __init__(self, input_dim, hidden_sizes=(500,), latent_dim=20, loss="bernoulli", activation="tanh",
                 dtype=np.float64, rng=None, init="normal", init_scale=0.01, backend=None):
        self._setup_common(input_dim, activation, dtype, rng, init, init_scale, backend)
        self.hidden_sizes = check_hidden_sizes(hidden_sizes)
        self.latent_dim = check_positive_int("latent_dim", latent_dim)
        self.loss = check_choice("loss", loss, LOSSES)
        self._data_likelihood = "bernoulli" if self.loss == "bernoulli" else None
        self.trunk = MLP((self.input_dim, *self.hidden_sizes), self.activation, "enc")
        self.z_head = Dense(self.trunk.out_dim, self.latent_dim, "enc.z")
        if self.loss == "bernoulli":
            self.decoder = BernoulliDecoder(self.latent_dim, self.hidden_sizes[::-1], self.input_dim, self.activation)
        else:  # a fixed-variance Gaussian decoder provides the identity-output mean head dec.mean
            self.decoder = GaussianDecoder(self.latent_dim, self.hidden_sizes[::-1], self.input_dim, self.activation,
                                           sigma=1.0)
        self._init_params(self.trunk, self.z_head, self.decoder)

    def get_config(self):
        """The constructor arguments as JSON-friendly values."""
        return {"input_dim": self.input_dim, "hidden_sizes": list(self.hidden_sizes), "latent_dim": self.latent_dim,
                "loss": self.loss, "activation": self.activation, "dtype": self.dtype.name, "init": self.init,
                "init_scale": self.init_scale}

    def __repr__(self):
        arch = "-".join(str(d) for d in (self.input_dim, *self.hidden_sizes, self.latent_dim))
        return f"Autoencoder({arch}, loss={self.loss!r}, dtype={self.dtype.name})"

    # ------------------------------------------------------------------ the objective
    def forward(self, x, workspace=None):
        """Per-datapoint reconstruction loss ``{"loss": (B,), "z": (B, Z)}`` and the cache. With a
        ``workspace``, the large intermediate arrays (and so the cache and ``z``) live in it."""
        ws = workspace
        h, trunk_cache = self.trunk.forward(self.params, x, ws)         # (B, H)
        z, head_cache = self.z_head.forward(self.params, h, ws)         # (B, Z)
        out, dec_cache = self.decoder.forward(self.params, z, workspace=ws)       # (B, D)
        if self.loss == "bernoulli":
            loglik, rec_cache = self.decoder.log_prob_forward(x, out, workspace=ws)  # (B,)
            loss = -loglik                                              # (B,)
        else:
            loss, rec_cache = squared_error_forward(out["mean"], x)     # (B,)  ||xhat - x||^2
        return {"loss": loss, "z": z}, (trunk_cache, head_cache, dec_cache, rec_cache)

    def backward(self, dloss, cache, workspace=None):
        """Gradients of sum_b dloss_b * loss_b. Shapes: dloss (B,) -> dict name -> array.

        With a ``workspace`` the gradients are its arrays, overwritten by the next backward pass.
        """
        trunk_cache, head_cache, dec_cache, rec_cache = cache
        ws = workspace
        if self.loss == "bernoulli":
            dout = self.decoder.log_prob_backward(-dloss, rec_cache, workspace=ws)  # {"logits": (B, D)}
        else:
            dmean, _ = squared_error_backward(dloss, rec_cache)         # (B, D)  2 (xhat - x)
            dout = {"mean": dmean}                                      # fixed variance: no logvar gradient
        dz, grads = self.decoder.backward(dout, dec_cache, workspace=ws)          # (B, Z)
        dh, head_grads = self.z_head.backward(dz, head_cache, ws)       # (B, H)
        grads.update(head_grads)
        # the data needs no gradient: need_dx=False skips the encoder's first-layer product dh W^T
        _, trunk_grads = self.trunk.backward(dh, trunk_cache, ws, need_dx=False)
        grads.update(trunk_grads)
        return grads

    def loss_and_grads(self, x, eps=None, rng=None, n_samples=1, workspace=None):
        """The mean reconstruction loss and its gradient. The model is deterministic: ``rng`` and
        ``n_samples`` are accepted for a uniform training interface and ignored; ``eps`` must be None.
        ``workspace``: as for :meth:`numpyvae.VAE.loss_and_grads`; the gradients come back in
        ``params`` order, laid out as consecutive pieces of one vector."""
        if eps is not None:
            raise ValueError("Autoencoder is deterministic and takes no noise: pass eps=None")
        x = self._data(x)
        ws = self._workspace(workspace, like=x)
        terms, cache = self.forward(x, workspace=ws)
        loss = check_finite_loss(self, float(terms["loss"].mean()), terms)    # a clear error, never inf or NaN
        B = x.shape[0]
        dloss = self.backend.xp.full(B, 1.0 / B, dtype=self.dtype)    # d mean / d loss_b = 1/B
        return loss, self._ordered(self.backward(dloss, cache, workspace=ws))

    def check_loss(self, x, eps=None, rng=0):
        """The mean reconstruction loss, for the float64 gradient check.

        Returns ``(loss_fn, grads)``: ``loss_fn()`` re-evaluates the loss from the current ``params``;
        ``grads`` is :meth:`loss_and_grads` at the current parameters. The model is deterministic:
        ``eps`` and ``rng`` are accepted for the uniform check interface and ignored.
        """
        x = self._data(x)
        _, grads = self.loss_and_grads(x)
        return (lambda: float(self.forward(x)[0]["loss"].mean())), grads

    bound_name = "minus the reconstruction loss"
    """What :meth:`bound` is for this model (it has no likelihood bound): reports say so."""
    prior_name = "codes from a Gaussian fitted to the training codes"
    """Where :meth:`sample` draws its codes (figure titles say so)."""

    def bound(self, x, eps=None, rng=None, n_samples=1):
        """Minus the reconstruction loss per datapoint, shape (B,) (higher is better): the objective
        the model trains on, in place of a bound (an autoencoder defines no likelihood)."""
        terms, _ = self.forward(self._data(x))
        return -terms["loss"]

    # ------------------------------------------------------------------ the model's parts
    def encode(self, x):
        """The code z, shape (B, Z)."""
        terms, _ = self.forward(self._data(x))
        return terms["z"]

    def embed(self, x):
        """The code z, shape (B, Z) (the same as :meth:`encode`)."""
        return self.encode(x)

    def decode(self, z):
        """Decoder outputs as a dict (``{"logits"}`` or ``{"mean", "logvar"}``), for z (B, Z) or (L, B, Z)."""
        out, _ = self.decoder.forward(self.params, self._latents(z, self.latent_dim))
        return out

    def reconstruct(self, x):
        """sigmoid(logits) (Bernoulli) or the identity-output mean, shape (B, input_dim)."""
        return self.decoder.mean(self.decode(self.encode(x)))

    def fit_prior(self, x, batch_size=1000):
        """Fit N(m, S) to the codes of ``x`` (the training set), for :meth:`sample`; returns ``self``."""
        batch_size = check_positive_int("batch_size", batch_size)
        x = self._data(x)
        if x.shape[0] < 2:
            raise ValueError("fit_prior needs at least 2 datapoints")
        z = np.concatenate([self.backend.to_numpy(self.encode(x[s:s + batch_size])).astype(np.float64)
                            for s in range(0, x.shape[0], batch_size)])
        cov = np.atleast_2d(np.cov(z, rowvar=False)) + 1e-6 * np.eye(self.latent_dim)
        self.buffers["ae.prior_mean"] = self.backend.asarray(z.mean(axis=0), dtype=self.dtype)
        self.buffers["ae.prior_scale_tril"] = self.backend.asarray(np.linalg.cholesky(cov), dtype=self.dtype)
        return self

    def sample(self, n, rng=None, mean=True):
        """Decode ``n`` codes drawn from the Gaussian of :meth:`fit_prior`. The autoencoder has no
        likelihood to sample from, so ``mean`` must be True."""
        n = check_positive_int("n", n)
        if not mean:
            raise ValueError("an autoencoder defines no p(x | z) to sample from: use mean=True")
        if "ae.prior_mean" not in self.buffers:
            raise ValueError("Autoencoder.sample needs a distribution over codes: call model.fit_prior(x_train) first")
        eps = self.backend.standard_normal(self._generator(rng), (n, self.latent_dim), self.dtype)
        z = self.buffers["ae.prior_mean"] + eps @ self.buffers["ae.prior_scale_tril"].T
        return self.decoder.mean(self.decode(z))
