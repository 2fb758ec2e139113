r"""The variational autoencoder of Kingma & Welling 2013 ("Auto-Encoding Variational Bayes").

For a datapoint x, with noise eps_l ~ N(0, I), l = 1..L:

    mu, logvar = encoder(x)                                   q(z|x) = N(mu, diag(exp(logvar)))
    z_l        = mu + exp(logvar / 2) * eps_l                 (reparameterization, eq. 4)
    estimator B ("analytic", eq. 7):
        ELBO(x) ~= (1/L) sum_l log p(x | z_l) - beta * KL(q(z|x) || N(0, I))
    estimator A ("mc", eq. 6):
        ELBO(x) ~= (1/L) sum_l [ log p(x | z_l) + beta * (log p(z_l) - log q(z_l | x)) ]

and the training loss is the batch mean of -ELBO (nats per datapoint). ``beta = 1`` is the plain
VAE; other values give the beta-VAE objective. The backward pass below is the chain rule through
these lines in reverse order; docs/derivations.md#mlp-backward lists the backward pass step by step.
"""
import numpy as np

from ..arrays.backend import get_backend
from ..nn.decoders import LIKELIHOODS, make_decoder
from ..nn.encoders import GaussianEncoder
from ..nn.init import INITIALIZERS
from ..arrays.inplace import pack
from ..ops.activations import ACTIVATIONS
from ..ops.gaussian import (kl_standard_normal_backward, kl_standard_normal_forward, log_normal_backward,
                           log_normal_forward, log_standard_normal_backward, log_standard_normal_forward,
                           reparameterize_backward, reparameterize_forward)
from ..arrays.random import as_generator
from ..arrays.validation import (DTYPES, check_choice, check_data, check_latents, check_noise, check_nonnegative,
                                 check_positive, check_positive_int)
from ..arrays.workspace import Workspace, as_workspace
from .base import check_finite_loss
from .registry import register_model

ESTIMATORS = ("analytic", "mc")


@register_model("vae", example={"input_dim": 6, "hidden_sizes": (5,), "latent_dim": 2},
                aliases=("beta-vae", "beta_vae", "betavae"))
class VAE:
    """Variational autoencoder with a diagonal-Gaussian encoder and an MLP decoder.

    Parameters
    ----------
    input_dim : int
        D, the number of data dimensions (784 for MNIST).
    hidden_sizes : sequence of int
        Widths of the encoder's hidden layers; the decoder uses them in reverse order. ``()`` gives
        linear encoder and decoder.
    latent_dim : int
        Z, the number of latent dimensions.
    likelihood : {"bernoulli", "gaussian", "gaussian_sigmoid", "gaussian_fixed"}
        p(x | z): Bernoulli from logits; Gaussian with learned per-dimension log-variance; the same
        with a sigmoid on the mean (K&W's Frey Face decoder); Gaussian with fixed ``sigma``.
    activation : str
        Hidden-layer activation: tanh, relu, softplus, sigmoid, leaky_relu, elu or identity.
    estimator : {"analytic", "mc"}
        K&W's estimator B (closed-form KL) or A (Monte-Carlo log q - log p).
    beta : float
        Weight of the KL term (1 is the ELBO).
    dtype : numpy.float32 or numpy.float64
    rng : numpy.random.Generator, int or None
        Draws the initial parameters; also the default noise source when a method gets neither
        ``eps`` nor ``rng``.
    init : {"normal", "glorot", "he"}
        Initialiser; ``"normal"`` draws every parameter from N(0, init_scale^2) as in the paper.
    init_scale : float
    sigma : float
        Standard deviation of the ``"gaussian_fixed"`` decoder.
    backend : str or Backend or None
        ``"numpy"`` (default) or ``"cupy"``; None reads ``NUMPYVAE_BACKEND``.

    Attributes
    ----------
    params : dict of str -> array
        Every learned array by name (see ``param_names``); optimizers update it in place. The arrays
        are views into one contiguous vector (the fast path of the optimizers): to load values,
        write into them, ``params[name][...] = value``. Rebinding a name to another array works
        too, but takes that parameter out of the one-pass update.
    """

    supports_workspace = True
    flat_params = True

    def __init__(self, input_dim, hidden_sizes=(500,), latent_dim=20, likelihood="bernoulli",
                 activation="tanh", estimator="analytic", beta=1.0, dtype=np.float64, rng=None,
                 init="normal", init_scale=0.01, sigma=1.0, backend=None):
        self.input_dim = check_positive_int("input_dim", input_dim)
        self.latent_dim = check_positive_int("latent_dim", latent_dim)
        if isinstance(hidden_sizes, (int, np.integer)):
            hidden_sizes = (hidden_sizes,)
        if isinstance(hidden_sizes, str) or not hasattr(hidden_sizes, "__iter__"):
            raise ValueError(f"hidden_sizes must be a sequence of positive integers, got {hidden_sizes!r}")
        self.hidden_sizes = tuple(check_positive_int("each hidden size", h) for h in hidden_sizes)
        self.likelihood = check_choice("likelihood", likelihood, LIKELIHOODS)
        self.activation = check_choice("activation", activation, tuple(ACTIVATIONS))
        self.estimator = check_choice("estimator", estimator, ESTIMATORS)
        self.beta = check_nonnegative("beta", beta)
        self.dtype = np.dtype(dtype)
        if self.dtype not in [np.dtype(d) for d in DTYPES]:
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        self.init = check_choice("init", init, INITIALIZERS)
        self.init_scale = check_positive("init_scale", init_scale)
        self.sigma = check_positive("sigma", sigma)
        self.backend = get_backend(backend)
        self.rng = as_generator(rng)

        self.encoder = GaussianEncoder(self.input_dim, self.hidden_sizes, self.latent_dim, self.activation)
        self.decoder = make_decoder(self.likelihood, self.latent_dim, self.hidden_sizes[::-1], self.input_dim,
                                    self.activation, sigma=self.sigma)
        params = self.encoder.init_params(self.rng, self.dtype, self.init, self.init_scale)
        params.update(self.decoder.init_params(self.rng, self.dtype, self.init, self.init_scale))
        # every parameter is a view into one contiguous vector, so an optimizer can update them all
        # in one pass (numpyvae.arrays.inplace.joined); write into them in place: params[name][...] = value
        _, self.params = pack({name: self.backend.asarray(p) for name, p in params.items()}, xp=self.backend.xp)

    # ------------------------------------------------------------------ configuration
    def get_config(self):
        """The constructor arguments as JSON-friendly values (used by checkpoints)."""
        return {"input_dim": self.input_dim, "hidden_sizes": list(self.hidden_sizes),
                "latent_dim": self.latent_dim, "likelihood": self.likelihood, "activation": self.activation,
                "estimator": self.estimator, "beta": self.beta, "dtype": self.dtype.name, "init": self.init,
                "init_scale": self.init_scale, "sigma": self.sigma}

    @property
    def param_names(self):
        return list(self.params)

    def __setstate__(self, state):
        """Unpickling and ``copy.deepcopy``: pickle copies each array on its own, so the parameters are
        made views into one contiguous vector again (as the constructor lays them out)."""
        self.__dict__.update(state)
        _, self.params = pack(dict(self.params), xp=self.backend.xp)

    def __repr__(self):
        arch = "-".join(str(d) for d in (self.input_dim, *self.hidden_sizes, self.latent_dim))
        return (f"VAE({arch}, likelihood={self.likelihood!r}, activation={self.activation!r}, "
                f"estimator={self.estimator!r}, beta={self.beta:g}, dtype={self.dtype.name})")

    # ------------------------------------------------------------------ inputs
    def _data(self, x):
        return check_data(x, self.input_dim, self.backend, self.dtype, self.likelihood)

    def _noise(self, x, eps, rng, n_samples):
        """The noise eps (L, B, Z): validated if given, else drawn from ``rng`` (or the model's)."""
        if eps is not None:
            return check_noise(eps, x.shape[0], self.latent_dim, self.backend, self.dtype)
        n_samples = check_positive_int("n_samples", n_samples)
        rng = self.rng if rng is None else as_generator(rng)
        return self.backend.standard_normal(rng, (n_samples, x.shape[0], self.latent_dim), self.dtype)

    # ------------------------------------------------------------------ the model's parts
    def encode(self, x):
        """Parameters of q(z | x): mu (B, Z) and logvar (B, Z)."""
        (mu, logvar), _ = self.encoder.forward(self.params, self._data(x))
        return mu, logvar

    def embed(self, x):
        """The posterior mean E_q[z | x] = mu, shape (B, Z): one latent point per datapoint (the same
        method on every model class, for plots and comparisons)."""
        return self.encode(x)[0]

    def decode(self, z):
        """Parameters of p(x | z) as a dict, for z (B, Z) or (L, B, Z): ``{"logits"}`` (Bernoulli) or
        ``{"mean", "logvar"}`` (Gaussian decoders; a fixed variance is broadcast)."""
        z = check_latents(z, self.latent_dim, self.backend, self.dtype)
        out, _ = self.decoder.forward(self.params, z)
        return out

    # ------------------------------------------------------------------ the objective
    def forward(self, x, eps, workspace=None):
        """The ELBO of every datapoint and the cache for :meth:`backward`.

        ``x`` and ``eps`` must already be validated arrays of the model's dtype (the public methods
        do that). Returns ``terms, cache`` with ``terms = {"elbo": (B,), "loglik": (B,), "kl": (B,)}``:
        ``loglik`` is (1/L) sum_l log p(x|z_l) and ``kl`` the closed-form KL (estimator B) or its
        Monte-Carlo estimate (1/L) sum_l [log q(z_l|x) - log p(z_l)] (estimator A). With a
        ``workspace``, the large intermediate arrays (and so the cache) live in it.
        """
        ws = workspace
        (mu, logvar), enc_cache = self.encoder.forward(self.params, x, workspace=ws)   # (B, Z), (B, Z)
        z, rep_cache = reparameterize_forward(mu, logvar, eps)          # (L, B, Z)
        out, dec_cache = self.decoder.forward(self.params, z, workspace=ws)        # each (L, B, D)
        loglik, ll_cache = self.decoder.log_prob_forward(x, out, workspace=ws)     # (L, B)
        L = eps.shape[0]
        loglik_mean = loglik.sum(axis=0) / L                            # (B,)
        if self.estimator == "analytic":
            kl, kl_cache = kl_standard_normal_forward(mu, logvar)       # (B,)
        else:
            logp, logp_cache = log_standard_normal_forward(z)           # (L, B)  log p(z_l)
            logq, logq_cache = log_normal_forward(z, mu, logvar)        # (L, B)  log q(z_l | x)
            kl = (logq - logp).sum(axis=0) / L                          # (B,)
            kl_cache = (logp_cache, logq_cache)
        elbo = loglik_mean - self.beta * kl                             # (B,)
        cache = (enc_cache, rep_cache, dec_cache, ll_cache, kl_cache, L)
        return {"elbo": elbo, "loglik": loglik_mean, "kl": kl}, cache

    def backward(self, delbo, cache, workspace=None):
        """Gradients of sum_b delbo_b * ELBO_b with respect to every parameter.

        For the loss -mean(ELBO), pass delbo = -1/B (see :meth:`loss_and_grads`).
        Shapes: delbo (B,), or a scalar (0-d array) when every datapoint has the same weight ->
        dict name -> array of that parameter's shape. With a ``workspace`` the gradients are
        arrays of the workspace, overwritten by the next backward pass that uses it.
        """
        enc_cache, rep_cache, dec_cache, ll_cache, kl_cache, L = cache
        ws = workspace
        xp = self.backend.xp
        dloglik = delbo / L                                             # d elbo / d loglik_l = 1/L
        if xp.ndim(dloglik):
            dloglik = xp.broadcast_to(dloglik, (L, xp.shape(delbo)[0]))  # (L, B)
        dout = self.decoder.log_prob_backward(dloglik, ll_cache, workspace=ws)   # each (L, B, D)
        dz, grads = self.decoder.backward(dout, dec_cache, workspace=ws)         # (L, B, Z)
        if self.estimator == "analytic":
            dmu_kl, dlogvar_kl = kl_standard_normal_backward(-self.beta * delbo, kl_cache)  # (B, Z)
        else:
            logp_cache, logq_cache = kl_cache
            dz_p = log_standard_normal_backward(self.beta * dloglik, logp_cache)           # (L, B, Z)
            dz_q, dmu_kl, dlogvar_kl = log_normal_backward(-self.beta * dloglik, logq_cache)
            dz = dz + dz_p + dz_q                                       # z feeds decoder, log p(z), log q(z|x)
        dmu_z, dlogvar_z = reparameterize_backward(dz, rep_cache)       # (B, Z)
        dmu = dmu_z + dmu_kl                                            # mu feeds the sample and the KL
        dlogvar = dlogvar_z + dlogvar_kl                                # logvar likewise
        # the data needs no gradient: need_dx=False skips the encoder's first-layer product dh W^T
        _, enc_grads = self.encoder.backward(dmu, dlogvar, enc_cache, workspace=ws, need_dx=False)
        grads.update(enc_grads)
        return grads

    def loss_and_grads(self, x, eps=None, rng=None, n_samples=1, workspace=None):
        """The loss -mean_b ELBO(x_b) (nats per datapoint) and its gradient.

        Parameters
        ----------
        x : array (B, input_dim)
        eps : array (L, B, latent_dim), optional
            The reparameterization noise; with it the result is deterministic. Otherwise L =
            ``n_samples`` draws are taken from ``rng`` (default: the model's generator).
        workspace : numpyvae.Workspace, optional
            Keeps the step's arrays from one call to the next instead of allocating them (the
            fast path for training; see :mod:`numpyvae.arrays.workspace`). The returned gradients are
            then arrays of the workspace: valid until the next call with the same workspace,
            which overwrites them. Without one, every call returns new arrays.

        Returns
        -------
        loss : float
        grads : dict with exactly the keys of ``params``, each of that parameter's shape.
        """
        # without a workspace, a new one for this call only: every array is fresh, as documented
        workspace = Workspace() if workspace is None else as_workspace(workspace)
        x = self._data(x)
        eps = self._noise(x, eps, rng, n_samples)
        # the gradients, laid out like the parameters: consecutive pieces of one vector
        workspace.pack({f"{name}:grad": p.shape for name, p in self.params.items()}, like=x)
        terms, cache = self.forward(x, eps, workspace=workspace)
        B = x.shape[0]
        loss = check_finite_loss(self, -float(terms["elbo"].sum()) / B, terms)   # a clear error, never inf or NaN
        delbo = self.backend.xp.asarray(-1.0 / B, dtype=self.dtype)   # d loss / d elbo_b = -1/B, every b
        grads = self.backward(delbo, cache, workspace=workspace)
        return loss, {name: grads[name] for name in self.params}

    def check_loss(self, x, eps=None, rng=0):
        """The loss -mean_b ELBO(x_b) at fixed noise, for the float64 gradient check.

        Returns ``(loss_fn, grads)``: ``loss_fn()`` re-evaluates the loss from the current ``params``
        with the noise ``eps`` (L, B, latent_dim) held fixed (one draw, L = 1, from ``rng`` when not
        given); ``grads`` is :meth:`loss_and_grads` at the current parameters with that noise.
        """
        x = self._data(x)
        eps = self._noise(x, eps, as_generator(rng), 1)                 # (L, B, Z), fixed from here on
        _, grads = self.loss_and_grads(x, eps)
        return (lambda: -float(self.forward(x, eps)[0]["elbo"].mean())), grads

    def bound(self, x, eps=None, rng=None, n_samples=1):
        """The model's bound per datapoint (the ELBO; every model has ``bound``), shape (B,)."""
        return self.elbo(x, eps, rng, n_samples)

    def elbo(self, x, eps=None, rng=None, n_samples=1):
        """Per-datapoint ELBO estimate, shape (B,)."""
        return self.elbo_terms(x, eps, rng, n_samples)["elbo"]

    def elbo_terms(self, x, eps=None, rng=None, n_samples=1):
        """``{"elbo", "loglik", "kl"}``, each (B,): the bound and its two parts (see :meth:`forward`)."""
        x = self._data(x)
        terms, _ = self.forward(x, self._noise(x, eps, rng, n_samples))
        return terms

    def log_weights(self, x, eps=None, rng=None, n_samples=1):
        r"""Importance log-weights log w_l = log p(x | z_l) + log p(z_l) - log q(z_l | x), shape (L, B).

        Their log-mean-exp over l is an importance-sampled estimate of log p(x) (K&W appendix D,
        Burda et al. 2015); their mean over l is the Monte-Carlo ELBO.
        """
        x = self._data(x)
        eps = self._noise(x, eps, rng, n_samples)
        (mu, logvar), _ = self.encoder.forward(self.params, x)
        z, _ = reparameterize_forward(mu, logvar, eps)                  # (L, B, Z)
        out, _ = self.decoder.forward(self.params, z)
        loglik, _ = self.decoder.log_prob_forward(x, out)               # (L, B)
        logp, _ = log_standard_normal_forward(z)                        # (L, B)
        logq, _ = log_normal_forward(z, mu, logvar)                     # (L, B)
        return loglik + logp - logq

    # ------------------------------------------------------------------ generation
    def sample(self, n, rng=None, mean=True):
        """Draw ``n`` datapoints: z ~ N(0, I), then the decoder's mean (``mean=True``) or a sample."""
        n = check_positive_int("n", n)
        rng = self.rng if rng is None else as_generator(rng)
        z = self.backend.standard_normal(rng, (n, self.latent_dim), self.dtype)
        out, _ = self.decoder.forward(self.params, z)
        return self.decoder.mean(out) if mean else self.decoder.sample(out, rng)

    def reconstruct(self, x):
        """Decoder mean at the posterior mean: E[x | z = mu(x)], shape (B, input_dim)."""
        mu, _ = self.encode(x)
        out, _ = self.decoder.forward(self.params, mu)
        return self.decoder.mean(out)
