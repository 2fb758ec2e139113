r"""A VAE with two stochastic layers (Burda et al. 2015, section 5: the 100-50 architecture).

Generative model p(z2) p(z1 | z2) p(x | z1), recognition model q(z1 | x) q(z2 | z1), every
conditional a diagonal Gaussian from an MLP (p(x | z1) is any of the core likelihoods):

    mu1, logvar1 = enc1(x);        z1 = mu1 + exp(logvar1 / 2) * eps1          q(z1 | x)
    mu2, logvar2 = enc2(z1);       z2 = mu2 + exp(logvar2 / 2) * eps2          q(z2 | z1)
    pm1, plogvar1 = dec2(z2)                                                   p(z1 | z2)
    log w = log p(x | z1) + beta [ log N(z1; pm1, plogvar1) + log N(z2; 0, I)
                                   - log N(z1; mu1, logvar1) - log N(z2; mu2, logvar2) ]

Trained on the ELBO (k = 1) or the IWAE bound (k > 1) through
:class:`~numpyvae.models.importance.ImportanceWeightedModel`.

**Noise layout.** One sample's noise is the vector eps = [eps1, eps2] of width Z1 + Z2, eps1 in the
first Z1 columns. ``latent_dim`` is Z1 + Z2, so :func:`numpyvae.importance_sampled_log_px` draws
(K, B, Z1 + Z2) noise and scores the two layers jointly.
"""
import numpy as np

from ..nn.decoders import LIKELIHOODS, make_decoder
from ..nn.encoders import GaussianEncoder
from ..ops.gaussian import (log_normal_backward, log_normal_forward, log_standard_normal_backward,
                            log_standard_normal_forward, reparameterize_backward, reparameterize_forward)
from ..arrays.validation import check_choice, check_positive_int
from .base import check_hidden_sizes, check_positive
from .importance import ImportanceWeightedModel
from .registry import register_model


@register_model("hierarchical-vae", example={"input_dim": 6, "hidden_sizes": (5,), "latent_dims": (3, 2), "hidden_sizes2": (4,), "k": 2},
                aliases=("hvae", "hierarchical", "hierarchical_vae"))
class HierarchicalVAE(ImportanceWeightedModel):
    """Two stochastic layers z1 (near the data) and z2 (top), trained with the ELBO or the IWAE bound.

    Parameters
    ----------
    input_dim : int
    hidden_sizes : sequence of int
        Hidden widths of q(z1 | x); p(x | z1) uses them reversed (Burda et al.: (200, 200)).
    latent_dims : (int, int)
        (Z1, Z2) (Burda et al.: (100, 50)).
    hidden_sizes2 : sequence of int
        Hidden widths of q(z2 | z1); p(z1 | z2) uses them reversed (Burda et al.: (100, 100)).
    k : int
        Importance samples per bound: 1 trains the ELBO, k > 1 the IWAE bound.
    likelihood, activation, beta, dtype, rng, init, init_scale, sigma, backend
        As for :class:`numpyvae.models.IWAE`.

    Attributes
    ----------
    params : dict of str -> array
        ``enc1.*`` (q(z1|x): ``enc1.<i>``, ``enc1.mu``, ``enc1.logvar``), ``enc2.*`` (q(z2|z1)),
        ``dec2.*`` (p(z1|z2): ``dec2.<i>``, ``dec2.mu``, ``dec2.logvar``) and ``dec1.*`` (p(x|z1), heads
        named as in the core decoders: ``dec1.logits`` or ``dec1.mean``/``dec1.logvar``).
    latent_dim : int
        Z1 + Z2, the width of one sample's noise.
    """

    supports_workspace = True
    prior_name = "z2 ~ N(0, I), z1 ~ p(z1 | z2)"
    """Where :meth:`sample` draws (figure titles say so)."""

    def __init__(self, input_dim, hidden_sizes=(200, 200), latent_dims=(100, 50), hidden_sizes2=(100, 100), k=1,
                 likelihood="bernoulli", activation="tanh", beta=1.0, dtype=np.float64, rng=None, init="normal",
                 init_scale=0.01, sigma=1.0, backend=None):
        self._setup_common(input_dim, activation, dtype, rng, init, init_scale, backend)
        self.hidden_sizes = check_hidden_sizes(hidden_sizes)
        self.hidden_sizes2 = check_hidden_sizes(hidden_sizes2, "hidden_sizes2")
        try:
            z1, z2 = latent_dims
        except (TypeError, ValueError):
            raise ValueError(f"latent_dims must be a pair (Z1, Z2), got {latent_dims!r}") from None
        self.latent_dims = (check_positive_int("latent_dims[0] (Z1)", z1), check_positive_int("latent_dims[1] (Z2)", z2))
        self.likelihood = check_choice("likelihood", likelihood, LIKELIHOODS)
        self._data_likelihood = self.likelihood
        self.sigma = check_positive("sigma", sigma)
        self._setup_bound(k, beta)
        Z1, Z2 = self.latent_dims
        act = self.activation
        self.enc1 = GaussianEncoder(self.input_dim, self.hidden_sizes, Z1, act, name="enc1")     # q(z1 | x)
        self.enc2 = GaussianEncoder(Z1, self.hidden_sizes2, Z2, act, name="enc2")                # q(z2 | z1)
        self.dec2 = GaussianEncoder(Z2, self.hidden_sizes2[::-1], Z1, act, name="dec2")          # p(z1 | z2)
        self.dec1 = make_decoder(self.likelihood, Z1, self.hidden_sizes[::-1], self.input_dim, act,
                                 sigma=self.sigma, name="dec1")                                  # p(x | z1)
        self._init_params(self.enc1, self.enc2, self.dec2, self.dec1)

    @property
    def latent_dim(self):
        return self.latent_dims[0] + self.latent_dims[1]

    def get_config(self):
        """The constructor arguments as JSON-friendly values."""
        return {"input_dim": self.input_dim, "hidden_sizes": list(self.hidden_sizes),
                "latent_dims": list(self.latent_dims), "hidden_sizes2": list(self.hidden_sizes2), "k": self.k,
                "likelihood": self.likelihood, "activation": self.activation, "beta": self.beta,
                "dtype": self.dtype.name, "init": self.init, "init_scale": self.init_scale, "sigma": self.sigma}

    def __repr__(self):
        Z1, Z2 = self.latent_dims
        return (f"HierarchicalVAE({self.input_dim}-{'-'.join(map(str, self.hidden_sizes))}-{Z1}"
                f"-{'-'.join(map(str, self.hidden_sizes2))}-{Z2}, k={self.k}, likelihood={self.likelihood!r}, "
                f"dtype={self.dtype.name})")

    # ------------------------------------------------------------------ log-weights
    def _log_weights_forward(self, x, eps, beta, workspace=None):
        """x (B, D), eps (L, B, Z1 + Z2) -> logw (L, B).

        Each of the four networks runs once, under its own parameter prefix, so they share one
        ``workspace`` without their arrays colliding."""
        ws = workspace
        Z1, Z2 = self.latent_dims
        L, B = eps.shape[0], eps.shape[1]
        N = L * B
        eps1 = eps[..., :Z1]                                            # (L, B, Z1)
        eps2 = eps[..., Z1:].reshape(1, N, Z2)                          # (1, N, Z2)  one sample per z1
        (mu1, lv1), enc1_cache = self.enc1.forward(self.params, x, ws)  # (B, Z1) each
        z1, rep1_cache = reparameterize_forward(mu1, lv1, eps1)         # (L, B, Z1)
        z1f = z1.reshape(N, Z1)                                         # (N, Z1)
        (mu2, lv2), enc2_cache = self.enc2.forward(self.params, z1f, ws)  # (N, Z2) each
        z2, rep2_cache = reparameterize_forward(mu2, lv2, eps2)         # (1, N, Z2)
        z2 = z2[0]                                                      # (N, Z2)
        (pm1, plv1), dec2_cache = self.dec2.forward(self.params, z2, ws)  # (N, Z1) each
        out, dec1_cache = self.dec1.forward(self.params, z1, ws)        # each (L, B, D)

        loglik, ll_cache = self.dec1.log_prob_forward(x, out, ws)       # (L, B)  log p(x | z1)
        logp1, p1_cache = log_normal_forward(z1f, pm1, plv1)            # (N,)    log p(z1 | z2)
        logp2, p2_cache = log_standard_normal_forward(z2)               # (N,)    log p(z2)
        logq1, q1_cache = log_normal_forward(z1, mu1, lv1)              # (L, B)  log q(z1 | x)
        logq2, q2_cache = log_normal_forward(z2, mu2, lv2)              # (N,)    log q(z2 | z1)
        log_ratio = (logp1 + logp2 - logq2).reshape(L, B) - logq1       # (L, B)
        logw = loglik + beta * log_ratio                                # (L, B)
        cache = (enc1_cache, rep1_cache, enc2_cache, rep2_cache, dec2_cache, dec1_cache, ll_cache, p1_cache,
                 p2_cache, q1_cache, q2_cache, beta, L, B)
        return logw, cache

    def _log_weights_backward(self, dlogw, cache, workspace=None):
        """Shapes: dlogw (L, B) -> dict name -> array (docs/variants.md, hierarchical VAE)."""
        (enc1_cache, rep1_cache, enc2_cache, rep2_cache, dec2_cache, dec1_cache, ll_cache, p1_cache, p2_cache,
         q1_cache, q2_cache, beta, L, B) = cache
        Z1, _ = self.latent_dims
        ws = workspace
        N = L * B
        dratio = beta * dlogw                                           # (L, B)  d logw / d log_ratio = beta
        dratio_f = dratio.reshape(N)                                    # (N,)

        # top layer: z2 feeds log p(z1|z2) (through dec2), log p(z2) and log q(z2|z1)
        dz1_p1, dpm1, dplv1 = log_normal_backward(dratio_f, p1_cache)   # (N, Z1) each
        dz2_dec, grads = self.dec2.backward(dpm1, dplv1, dec2_cache, ws)  # (N, Z2)
        dz2_p = log_standard_normal_backward(dratio_f, p2_cache)        # (N, Z2)
        dz2_q, dmu2_q, dlv2_q = log_normal_backward(-dratio_f, q2_cache)  # (N, Z2) each
        dz2 = dz2_dec + dz2_p + dz2_q                                   # (N, Z2)  three consumers of z2
        dmu2_z, dlv2_z = reparameterize_backward(dz2[None], rep2_cache)  # (N, Z2)
        dz1_enc2, enc2_grads = self.enc2.backward(dmu2_z + dmu2_q, dlv2_z + dlv2_q, enc2_cache, ws)  # (N, Z1)
        grads.update(enc2_grads)

        # bottom layer: z1 feeds p(x|z1), log p(z1|z2), q(z2|z1) (through enc2) and log q(z1|x)
        dout = self.dec1.log_prob_backward(dlogw, ll_cache, ws)         # each (L, B, D)
        dz1_x, dec1_grads = self.dec1.backward(dout, dec1_cache, ws)    # (L, B, Z1)
        grads.update(dec1_grads)
        dz1_q, dmu1_q, dlv1_q = log_normal_backward(-dratio, q1_cache)  # (L, B, Z1), (B, Z1), (B, Z1)
        dz1 = dz1_x + dz1_q + (dz1_p1 + dz1_enc2).reshape(L, B, Z1)     # (L, B, Z1)  four consumers of z1
        dmu1_z, dlv1_z = reparameterize_backward(dz1, rep1_cache)       # (B, Z1)
        # the data needs no gradient: need_dx=False skips enc1's first-layer product dh W^T
        _, enc1_grads = self.enc1.backward(dmu1_z + dmu1_q, dlv1_z + dlv1_q, enc1_cache, ws, need_dx=False)
        grads.update(enc1_grads)
        return grads

    # ------------------------------------------------------------------ the model's parts
    def encode(self, x):
        """Parameters of q(z1 | x): mu1 (B, Z1) and logvar1 (B, Z1)."""
        (mu1, lv1), _ = self.enc1.forward(self.params, self._data(x))
        return mu1, lv1

    def embed(self, x):
        """E_q[z1 | x] = mu1, shape (B, Z1)."""
        return self.encode(x)[0]

    def posterior_means(self, x, rng=None, n_samples=100):
        """[E_q[z1 | x] (B, Z1), E_q[z2 | x] (B, Z2)]; the second is the average of mu2(z1) over
        ``n_samples`` draws of z1 ~ q(z1 | x) (Burda et al.'s active-unit statistic per layer)."""
        x = self._data(x)
        n_samples = check_positive_int("n_samples", n_samples)
        Z1, Z2 = self.latent_dims
        (mu1, lv1), _ = self.enc1.forward(self.params, x)
        eps1 = self.backend.standard_normal(self._generator(rng), (n_samples, x.shape[0], Z1), self.dtype)
        z1, _ = reparameterize_forward(mu1, lv1, eps1)                  # (S, B, Z1)
        (mu2, _), _ = self.enc2.forward(self.params, z1.reshape(-1, Z1))
        return [mu1, mu2.reshape(n_samples, x.shape[0], Z2).mean(axis=0)]

    def decode(self, z1):
        """Parameters of p(x | z1) as a dict, for z1 (B, Z1) or (L, B, Z1)."""
        out, _ = self.dec1.forward(self.params, self._latents(z1, self.latent_dims[0], "z1"))
        return out

    def sample(self, n, rng=None, mean=True):
        """Ancestral sampling: z2 ~ N(0, I), z1 ~ p(z1 | z2), then the mean of p(x | z1) (``mean=True``)
        or a draw from it."""
        n = check_positive_int("n", n)
        rng = self._generator(rng)
        Z1, Z2 = self.latent_dims
        z2 = self.backend.standard_normal(rng, (n, Z2), self.dtype)
        (pm1, plv1), _ = self.dec2.forward(self.params, z2)
        z1 = pm1 + self.backend.xp.exp(0.5 * plv1) * self.backend.standard_normal(rng, (n, Z1), self.dtype)
        out, _ = self.dec1.forward(self.params, z1)
        return self.dec1.mean(out) if mean else self.dec1.sample(out, rng)

    def reconstruct(self, x):
        """Mean of p(x | z1) at z1 = E_q[z1 | x], shape (B, input_dim)."""
        out, _ = self.dec1.forward(self.params, self.embed(x))
        return self.dec1.mean(out)
