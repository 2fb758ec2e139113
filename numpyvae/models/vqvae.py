r"""The vector-quantised VAE (van den Oord, Vinyals & Kavukcuoglu 2017), with MLP encoder and decoder.

The encoder maps x to M code slots of width d; each slot is replaced by its nearest of K codebook
vectors e_1..e_K (the rows of ``vq.codebook``), and the decoder reads the quantised vector:

    z_e = reshape(MLP(x) W_z + b_z, (M, d))                       (B, M, d)
    k_m = argmin_k ||z_e,m - e_k||^2;   z_q,m = e_{k_m}            (:func:`~numpyvae.ops.quantize.nearest_code`,
                                                                   :func:`~numpyvae.ops.quantize.gather_rows_forward`)
    loss = -log p(x | z_q) + ||sg[z_e] - z_q||^2 + beta_commit ||z_e - sg[z_q]||^2      (their eq. 3)

(sg: stop-gradient; both squared distances are summed over slots and code dimensions, the loss is
averaged over the batch). k_m is piecewise constant in z_e, so the reconstruction term has no useful
gradient with respect to the encoder. The **straight-through** estimator copies the decoder's
gradient at z_q onto z_e, d loss / d z_e := d loss / d z_q + beta_commit * 2 (z_e - z_q). It is not the
gradient of the loss: it is the exact gradient of the surrogate in which z_q is replaced by
z_e + sg[z_q - z_e] (:func:`straight_through_surrogate`, which :meth:`VQVAE.check_loss` gives the
gradient check; docs/variants.md, VQ-VAE). The codebook learns from the codebook loss alone
(``codebook_update="gradient"``) or, with ``codebook_update="ema"``, by exponential moving averages
of the encoder outputs assigned to each code (their appendix A.1), in which case the codebook loss
is dropped and the codebook's gradient is zero.
"""
import math

import numpy as np

from ..nn.decoders import LIKELIHOODS, make_decoder
from ..nn.layers import MLP, Dense
from ..ops.quantize import (gather_rows_backward, gather_rows_forward, nearest_code, squared_error_backward,
                            squared_error_forward)
from ..arrays.validation import check_choice, check_interval, check_positive_int
from ..arrays.workspace import as_workspace
from .base import BaseModel, check_finite_loss, check_hidden_sizes, check_nonnegative, check_positive
from .registry import register_model

CODEBOOK_UPDATES = ("gradient", "ema")
EMA_SMOOTHING = 1e-5  # Laplace smoothing of the EMA cluster sizes, as in the authors' Sonnet code


@register_model("vq-vae", example={"input_dim": 6, "hidden_sizes": (5,), "n_latents": 2, "code_dim": 2, "codebook_size": 4},
                aliases=("vqvae", "vq_vae"))
class VQVAE(BaseModel):
    """VQ-VAE with an MLP encoder producing ``n_latents`` code slots of width ``code_dim``.

    Parameters
    ----------
    input_dim : int
    hidden_sizes : sequence of int
        Encoder hidden widths; the decoder uses them reversed.
    n_latents : int
        M, the number of quantised slots per datapoint.
    code_dim : int
        d, the width of a code vector.
    codebook_size : int
        K, the number of code vectors.
    likelihood : {"bernoulli", "gaussian", "gaussian_sigmoid", "gaussian_fixed"}
        p(x | z_q) of the reconstruction term.
    activation : str
    beta_commit : float
        Weight of the commitment loss (0.25 in the paper).
    codebook_update : {"gradient", "ema"}
    ema_decay : float
        gamma of the EMA codebook update (0.99 in the paper).
    dtype, rng, init, init_scale, sigma, backend
        As for :class:`numpyvae.VAE`. The codebook is drawn from U(-1/K, 1/K).

    Attributes
    ----------
    params : dict of str -> array
        ``enc.<i>.W/b``, ``enc.z.W`` (H, M d), ``enc.z.b``, ``vq.codebook`` (K, d) and the decoder's
        ``dec.*`` (its first layer reads M d inputs).
    buffers : dict of str -> array
        With EMA updates, ``vq.ema_count`` (K,), the moving average of the code counts; after :meth:`fit_prior`,
        ``vq.prior_logprobs`` (M, K).
    """

    supports_workspace = True
    prior_name = "codes from the categorical prior fitted to the training codes"
    """Where :meth:`sample` draws (:meth:`sample_codes`; figure titles say so instead of N(0, I))."""

    def __init__(self, input_dim, hidden_sizes=(500,), n_latents=8, code_dim=16, codebook_size=64,
                 likelihood="bernoulli", activation="tanh", beta_commit=0.25, codebook_update="gradient",
                 ema_decay=0.99, dtype=np.float64, rng=None, init="normal", init_scale=0.01, sigma=1.0,
                 backend=None):
        self._setup_common(input_dim, activation, dtype, rng, init, init_scale, backend)
        self.hidden_sizes = check_hidden_sizes(hidden_sizes)
        self.n_latents = check_positive_int("n_latents", n_latents)
        self.code_dim = check_positive_int("code_dim", code_dim)
        self.codebook_size = check_positive_int("codebook_size", codebook_size)
        self.likelihood = check_choice("likelihood", likelihood, LIKELIHOODS)
        self._data_likelihood = self.likelihood
        self.beta_commit = check_nonnegative("beta_commit", beta_commit)
        self.codebook_update = check_choice("codebook_update", codebook_update, CODEBOOK_UPDATES)
        self.ema_decay = check_interval("ema_decay", ema_decay, 0, 1)
        self.sigma = check_positive("sigma", sigma)
        M, d, K = self.n_latents, self.code_dim, self.codebook_size
        self.trunk = MLP((self.input_dim, *self.hidden_sizes), self.activation, "enc")
        self.z_head = Dense(self.trunk.out_dim, M * d, "enc.z")
        self.decoder = make_decoder(self.likelihood, M * d, self.hidden_sizes[::-1], self.input_dim, self.activation,
                                    sigma=self.sigma)
        params = self.trunk.init_params(self.rng, self.dtype, self.init, self.init_scale)
        params.update(self.z_head.init_params(self.rng, self.dtype, self.init, self.init_scale))
        params["vq.codebook"] = self.rng.uniform(-1.0 / K, 1.0 / K, size=(K, d))
        params.update(self.decoder.init_params(self.rng, self.dtype, self.init, self.init_scale))
        self._set_params(params)
        if self.codebook_update == "ema":
            # every code starts as if seen once, at its initial value
            self.buffers["vq.ema_count"] = self.backend.xp.ones(K, dtype=self.dtype)

    @property
    def latent_dim(self):
        """Width M d of the flattened quantised vector z_q that the decoder reads."""
        return self.n_latents * self.code_dim

    def get_config(self):
        """The constructor arguments as JSON-friendly values."""
        return {"input_dim": self.input_dim, "hidden_sizes": list(self.hidden_sizes), "n_latents": self.n_latents,
                "code_dim": self.code_dim, "codebook_size": self.codebook_size, "likelihood": self.likelihood,
                "activation": self.activation, "beta_commit": self.beta_commit,
                "codebook_update": self.codebook_update, "ema_decay": self.ema_decay, "dtype": self.dtype.name,
                "init": self.init, "init_scale": self.init_scale, "sigma": self.sigma}

    def __repr__(self):
        return (f"VQVAE({self.input_dim}-{'-'.join(map(str, self.hidden_sizes))}-{self.n_latents}x{self.code_dim}, "
                f"K={self.codebook_size}, codebook_update={self.codebook_update!r}, dtype={self.dtype.name})")

    # ------------------------------------------------------------------ the objective
    def _encode(self, x, workspace=None):
        """z_e (B, M, d) and the encoder cache."""
        h, trunk_cache = self.trunk.forward(self.params, x, workspace)  # (B, H)
        ze, head_cache = self.z_head.forward(self.params, h, workspace)  # (B, M d)
        return ze.reshape(x.shape[0], self.n_latents, self.code_dim), (trunk_cache, head_cache)

    def forward(self, x, workspace=None):
        """Per-datapoint loss terms and the cache for :meth:`backward`.

        Returns ``terms, cache`` with ``terms = {"loss": (B,), "loglik": (B,), "sq_dist": (B,),
        "indices": (B, M)}``: loss = -loglik + (w_cb + beta_commit) * sq_dist, where sq_dist =
        ||z_e - z_q||^2 and w_cb = 1 for gradient codebook updates, 0 for EMA ones. With a
        ``workspace``, the large intermediate arrays (and so the cache) live in it.
        """
        ws = workspace
        B = x.shape[0]
        ze, enc_cache = self._encode(x, ws)                             # (B, M, d)
        indices = nearest_code(ze, self.params["vq.codebook"])          # (B, M)  no gradient
        zq, gather_cache = gather_rows_forward(self.params["vq.codebook"], indices)  # (B, M, d)
        out, dec_cache = self.decoder.forward(self.params, zq.reshape(B, -1), workspace=ws)  # each (B, D)
        loglik, ll_cache = self.decoder.log_prob_forward(x, out, workspace=ws)         # (B,)
        sq, sq_cache = squared_error_forward(ze, zq)                    # (B,)  ||z_e - z_q||^2
        w_cb = 1.0 if self.codebook_update == "gradient" else 0.0
        loss = -loglik + (w_cb + self.beta_commit) * sq                 # (B,)  codebook + commitment terms
        terms = {"loss": loss, "loglik": loglik, "sq_dist": sq, "indices": indices}
        return terms, (enc_cache, ze, gather_cache, dec_cache, ll_cache, sq_cache, w_cb, B)

    def backward(self, dloss, cache, workspace=None):
        """The VQ-VAE gradient of sum_b dloss_b * loss_b (straight-through for the encoder).

        Shapes: dloss (B,) -> dict name -> array. With a ``workspace`` the gradients are its
        arrays, overwritten by the next backward pass.
        """
        enc_cache, ze, gather_cache, dec_cache, ll_cache, sq_cache, w_cb, B = cache
        trunk_cache, head_cache = enc_cache
        ws = as_workspace(workspace)
        dout = self.decoder.log_prob_backward(-dloss, ll_cache, workspace=ws)    # each (B, D)
        dzq_flat, grads = self.decoder.backward(dout, dec_cache, workspace=ws)   # (B, M d)
        dzq = dzq_flat.reshape(ze.shape)                                # (B, M, d)
        # the same ||z_e - z_q||^2 serves both losses; stop-gradients route its two partials apart:
        dze_sq, dzq_sq = squared_error_backward(dloss, sq_cache)        # 2 (z_e - z_q), -2 (z_e - z_q)
        dze = dzq + self.beta_commit * dze_sq                           # straight-through + commitment (sg on z_q)
        dcodebook = gather_rows_backward(w_cb * dzq_sq, gather_cache)   # (K, d)  codebook loss only (sg on z_e)
        codebook = self.params["vq.codebook"]
        grads["vq.codebook"] = ws.empty("vq.codebook:grad", codebook.shape, codebook)  # (K, d)  its buffer
        grads["vq.codebook"][...] = dcodebook                           # the op makes its own array: copied in
        dh, head_grads = self.z_head.backward(dze.reshape(B, -1), head_cache, ws)  # (B, H)
        grads.update(head_grads)
        # the data needs no gradient: need_dx=False skips the encoder's first-layer product dh W^T
        _, trunk_grads = self.trunk.backward(dh, trunk_cache, ws, need_dx=False)
        grads.update(trunk_grads)
        return grads

    def loss_and_grads(self, x, eps=None, rng=None, n_samples=1, workspace=None):
        """The loss mean_b loss_b and its VQ-VAE gradient; with EMA codebook updates, also one EMA step.

        The model is deterministic: ``rng`` and ``n_samples`` are accepted for a uniform training
        interface and ignored; ``eps`` must be None. With ``codebook_update="ema"`` this call is the
        training step of the codebook: after computing the loss and gradient it moves
        ``params["vq.codebook"]`` (whose gradient is zero) in place by one EMA update.
        ``workspace``: as for :meth:`numpyvae.VAE.loss_and_grads`; the gradients come back in
        ``params`` order, laid out as consecutive pieces of one vector.
        """
        if eps is not None:
            raise ValueError("VQVAE is deterministic and takes no noise: pass eps=None")
        x = self._data(x)
        ws = self._workspace(workspace, like=x)
        terms, cache = self.forward(x, workspace=ws)
        loss = check_finite_loss(self, float(terms["loss"].mean()), terms)    # before the EMA moves anything
        B = x.shape[0]
        dloss = self.backend.xp.full(B, 1.0 / B, dtype=self.dtype)    # d mean / d loss_b = 1/B
        grads = self.backward(dloss, cache, workspace=ws)
        if self.codebook_update == "ema":
            self._ema_update(cache[1], terms["indices"])
        return loss, self._ordered(grads)

    def check_loss(self, x, eps=None, rng=0):
        """The loss whose exact gradient the VQ-VAE gradient is, for the float64 gradient check.

        Returns ``(loss_fn, grads)``: ``loss_fn`` is :func:`straight_through_surrogate` at the current
        parameters (the training loss does not have the straight-through gradient: its code
        assignment is piecewise constant), ``grads`` the gradient of :meth:`loss_and_grads` there,
        computed without its EMA codebook step (with ``codebook_update="ema"`` the codebook's
        gradient is zero and nothing moves). The model is deterministic: ``eps`` and ``rng`` are
        accepted for the uniform check interface and ignored.
        """
        x = self._data(x)
        _, cache = self.forward(x)
        dloss = self.backend.xp.full(x.shape[0], 1.0 / x.shape[0], dtype=self.dtype)  # d mean / d loss_b = 1/B
        return straight_through_surrogate(self, x), self._ordered(self.backward(dloss, cache))

    def _ema_update(self, ze, indices):
        r"""One EMA step of the codebook (van den Oord et al., appendix A.1):

            N_k <- g N_k + (1 - g) n_k;   m_k <- g m_k + (1 - g) sum_{i: k_i = k} z_e,i;   e_k = m_k / N~_k

        with n_k the batch's assignment counts and N~ the Laplace-smoothed counts
        (N_k + s) / (sum N + K s) * sum N. The codebook itself is the state: m_k = e_k N~_k is
        recovered from it, so only the counts N are kept in ``buffers["vq.ema_count"]``.
        """
        xp = self.backend.xp
        K, g = self.codebook_size, self.ema_decay
        flat_idx = indices.reshape(-1)                                  # (N,)
        onehot = (flat_idx[:, None] == xp.arange(K)).astype(self.dtype)  # (N, K)
        counts = onehot.sum(axis=0)                                     # (K,)  n_k
        sums = xp.matmul(onehot.T, ze.reshape(-1, self.code_dim))       # (K, d)
        count = self.buffers["vq.ema_count"]                            # (K,)  N_k, updated in place
        codebook = self.params["vq.codebook"]                           # (K, d)
        m = codebook * _smoothed(count)[:, None]                        # (K, d)  m_k = e_k N~_k
        count *= g
        count += (1.0 - g) * counts
        m *= g
        m += (1.0 - g) * sums
        codebook[...] = m / _smoothed(count)[:, None]

    # ------------------------------------------------------------------ scores
    def training_loss(self, x):
        """The training loss per datapoint (reconstruction, codebook and commitment terms), shape (B,)."""
        terms, _ = self.forward(self._data(x))
        return terms["loss"]

    def bound(self, x, eps=None, rng=None, n_samples=1):
        """The model's bound per datapoint: the ELBO under the uniform prior (see :meth:`elbo`), (B,)."""
        return self.elbo(x, eps, rng, n_samples)

    def elbo(self, x, eps=None, rng=None, n_samples=1):
        """The ELBO under the uniform prior of training, log p(x | z_q) - M log K, shape (B,).

        q(k | x) is one-hot, so KL(q || uniform) = M log K (van den Oord et al., section 3.1)."""
        terms, _ = self.forward(self._data(x))
        return terms["loglik"] - self.n_latents * math.log(self.codebook_size)

    def codebook_usage(self, x):
        """How often each code is chosen on ``x``: ``{"counts": (K,), "perplexity": float, "n_used": int}``.

        perplexity = exp(-sum_k p_k log p_k) with p the empirical code frequencies (over every slot):
        K when all codes are used equally, 1 when one code takes everything.
        """
        idx = self.encode(x)
        counts = np.bincount(self.backend.to_numpy(idx).reshape(-1), minlength=self.codebook_size)
        p = counts / counts.sum()
        nz = p[p > 0]
        return {"counts": counts, "perplexity": float(np.exp(-(nz * np.log(nz)).sum())),
                "n_used": int((counts > 0).sum())}

    # ------------------------------------------------------------------ the model's parts
    def encode(self, x):
        """The code indices k (B, M) of every slot."""
        ze, _ = self._encode(self._data(x))
        return nearest_code(ze, self.params["vq.codebook"])

    def embed(self, x):
        """The quantised vector z_q, flattened: shape (B, M d)."""
        return self.params["vq.codebook"][self.encode(x)].reshape(-1, self.latent_dim)

    def decode(self, z):
        """Parameters of p(x | z_q) as a dict, for z_q (B, M d) or (L, B, M d)."""
        out, _ = self.decoder.forward(self.params, self._latents(z, self.latent_dim))
        return out

    def decode_codes(self, indices):
        """Parameters of p(x | z_q) for code indices (B, M)."""
        xp = self.backend.xp
        idx = xp.asarray(indices)
        if idx.ndim != 2 or idx.shape[1] != self.n_latents or idx.dtype.kind not in "iu":
            raise ValueError(f"indices must be integers of shape (B, {self.n_latents}), got "
                             f"{idx.dtype} {tuple(idx.shape)}")
        if bool((idx < 0).any()) or bool((idx >= self.codebook_size).any()):
            raise ValueError(f"indices must lie in [0, {self.codebook_size})")
        zq = self.params["vq.codebook"][idx].reshape(idx.shape[0], -1)
        out, _ = self.decoder.forward(self.params, zq)
        return out

    def reconstruct(self, x):
        """Decoder mean at z_q(x), shape (B, input_dim)."""
        return self.decoder.mean(self.decode(self.embed(x)))

    def fit_prior(self, x, smoothing=1.0, batch_size=1000):
        """Fit the sampling prior: one categorical per slot, p_m(k) proportional to count + ``smoothing``
        over the codes of ``x`` (the training set). Stores ``buffers["vq.prior_logprobs"]`` (M, K);
        returns ``self``."""
        smoothing = check_nonnegative("smoothing", smoothing)
        batch_size = check_positive_int("batch_size", batch_size)
        x = self._data(x)
        M, K = self.n_latents, self.codebook_size
        counts = np.zeros((M, K))
        for start in range(0, x.shape[0], batch_size):
            idx = self.backend.to_numpy(self.encode(x[start:start + batch_size]))  # (b, M)
            for m in range(M):
                counts[m] += np.bincount(idx[:, m], minlength=K)
        counts += smoothing
        with np.errstate(divide="ignore"):
            logp = np.log(counts) - np.log(counts.sum(axis=1, keepdims=True))
        self.buffers["vq.prior_logprobs"] = self.backend.asarray(logp, dtype=self.dtype)
        return self

    def sample_codes(self, n, rng=None):
        """Draw ``n`` code vectors k (n, M) from the prior of :meth:`fit_prior`, each slot independently."""
        n = check_positive_int("n", n)
        if "vq.prior_logprobs" not in self.buffers:
            raise ValueError("VQVAE sampling needs the categorical prior: call model.fit_prior(x_train) first")
        rng = self._generator(rng)
        probs = np.exp(self.backend.to_numpy(self.buffers["vq.prior_logprobs"]).astype(np.float64))  # (M, K)
        cdf = np.cumsum(probs, axis=1)                                  # (M, K)
        u = rng.uniform(size=(n, self.n_latents, 1)) * cdf[:, -1:][None]  # (n, M, 1)
        idx = np.minimum((u > cdf[None]).sum(axis=-1), self.codebook_size - 1)  # inverse CDF, (n, M)
        return self.backend.asarray(idx)

    def sample(self, n, rng=None, mean=True):
        """Draw ``n`` datapoints: codes from :meth:`sample_codes`, then the decoder's mean (``mean=True``)
        or a sample."""
        rng = self._generator(rng)
        out = self.decode_codes(self.sample_codes(n, rng))
        return self.decoder.mean(out) if mean else self.decoder.sample(out, rng)


def straight_through_surrogate(model, x):
    r"""The loss whose exact gradient is the VQ-VAE gradient of ``model``, at its current parameters.

        S = mean_b [ -log p(x_b | z_e,b + c_b) + w_cb ||z_e,b^0 - E[k_b^0]||^2 + beta_commit ||z_e,b - z_q,b^0||^2 ]

    with the codes k^0, z_e^0, z_q^0 = E[k^0] and the offset c = z_q^0 - z_e^0 frozen at the current
    parameters (superscript 0): z_q = z_e + sg[z_q - z_e] written out, so the decoder reads z_q^0 and
    its gradient at z_q reaches z_e unchanged (straight-through); the codebook term sees the encoder
    output frozen (sg[z_e]), the commitment term the code frozen (sg[z_q]); w_cb = 1 for gradient
    codebook updates, 0 for EMA ones. At the current parameters S equals the training loss; unlike
    it, S is differentiable in every parameter, and :meth:`VQVAE.backward` is its exact gradient
    (docs/variants.md, VQ-VAE).

    ``x`` must be validated (``model._data(x)``). Returns ``loss_fn() -> float``, which re-reads
    ``model.params`` at every call.
    """
    B = x.shape[0]
    ze0, _ = model._encode(x)                                           # (B, M, d)
    idx0 = nearest_code(ze0, model.params["vq.codebook"])               # (B, M)  k^0, frozen
    ze0 = ze0.copy()                                                    # (B, M, d)  z_e^0
    zq0 = model.params["vq.codebook"][idx0].copy()                      # (B, M, d)  z_q^0
    w_cb = 1.0 if model.codebook_update == "gradient" else 0.0

    def loss_fn():
        ze, _ = model._encode(x)                                        # (B, M, d)
        out, _ = model.decoder.forward(model.params, (ze + (zq0 - ze0)).reshape(B, -1))
        loglik, _ = model.decoder.log_prob_forward(x, out)              # (B,)
        codebook = ((ze0 - model.params["vq.codebook"][idx0]) ** 2).sum(axis=(1, 2))   # (B,)
        commitment = ((ze - zq0) ** 2).sum(axis=(1, 2))                 # (B,)
        return float((-loglik + w_cb * codebook + model.beta_commit * commitment).mean())

    return loss_fn


def _smoothed(count):
    """Laplace-smoothed counts (N_k + s) / (sum N + K s) * sum N: never zero, same total."""
    n = count.sum()
    return (count + EMA_SMOOTHING) / (n + count.shape[0] * EMA_SMOOTHING) * n
