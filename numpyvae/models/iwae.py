r"""The importance-weighted autoencoder (Burda, Grosse & Salakhutdinov 2015).

The same networks as :class:`numpyvae.VAE` (same parameter names, so weights move between the two),
trained on the k-sample bound instead of the ELBO. For a datapoint x and noise eps_i ~ N(0, I):

    mu, logvar = encoder(x);   z_i = mu + exp(logvar / 2) * eps_i                (K&W eq. 4)
    log w_i    = log p(x | z_i) + log N(z_i; 0, I) - log N(z_i; mu, diag(exp(logvar)))
    L_k        = log (1/k) sum_i w_i                                           (Burda et al. eq. 8)

The backward (docs/variants.md, section IWAE) sends d L_k / d log w_i = w~_i (the normalised
weights) through the three terms of log w_i, then the sample, then the encoder.
"""
import numpy as np

from ..nn.decoders import LIKELIHOODS, make_decoder
from ..nn.encoders import GaussianEncoder
from ..ops.gaussian import (log_normal_backward, log_normal_forward, log_standard_normal_backward,
                            log_standard_normal_forward, reparameterize_backward, reparameterize_forward)
from ..arrays.validation import check_choice, check_positive_int
from .base import StandardNormalPriorMixin, check_hidden_sizes, check_positive
from .importance import ImportanceWeightedModel
from .registry import register_model


@register_model("iwae", example={"input_dim": 6, "hidden_sizes": (5,), "latent_dim": 2, "k": 3},
                aliases=())
class IWAE(StandardNormalPriorMixin, ImportanceWeightedModel):
    """Importance-weighted autoencoder with a diagonal-Gaussian encoder and an MLP decoder.

    Parameters
    ----------
    input_dim : int
    hidden_sizes : sequence of int
        Encoder hidden widths; the decoder uses them reversed (Burda et al.: (200, 200)).
    latent_dim : int
        Z (Burda et al.: 50).
    k : int
        Importance samples per bound; k = 1 is the VAE trained with the Monte-Carlo ELBO.
    likelihood : {"bernoulli", "gaussian", "gaussian_sigmoid", "gaussian_fixed"}
    activation : str
    beta : float
        Weight of log p(z) - log q(z | x) inside each log-weight; 1 (the default) is the bound
        itself, smaller values implement a KL warm-up (:class:`numpyvae.models.LinearWarmup`).
    dtype, rng, init, init_scale, sigma, backend
        As for :class:`numpyvae.VAE`.

    Attributes
    ----------
    params : dict of str -> array
        ``enc.*`` and ``dec.*``, named exactly as in :class:`numpyvae.VAE`.
    """

    _data_likelihood = None
    supports_workspace = True

    def __init__(self, input_dim, hidden_sizes=(500,), latent_dim=20, k=5, likelihood="bernoulli",
                 activation="tanh", beta=1.0, dtype=np.float64, rng=None, init="normal", init_scale=0.01,
                 sigma=1.0, backend=None):
        self._setup_common(input_dim, activation, dtype, rng, init, init_scale, backend)
        self.hidden_sizes = check_hidden_sizes(hidden_sizes)
        self.latent_dim = check_positive_int("latent_dim", latent_dim)
        self.likelihood = check_choice("likelihood", likelihood, LIKELIHOODS)
        self._data_likelihood = self.likelihood
        self.sigma = check_positive("sigma", sigma)
        self._setup_bound(k, beta)
        self.encoder = GaussianEncoder(self.input_dim, self.hidden_sizes, self.latent_dim, self.activation)
        self.decoder = make_decoder(self.likelihood, self.latent_dim, self.hidden_sizes[::-1], self.input_dim,
                                    self.activation, sigma=self.sigma)
        self._init_params(self.encoder, self.decoder)

    def get_config(self):
        """The constructor arguments as JSON-friendly values."""
        return {"input_dim": self.input_dim, "hidden_sizes": list(self.hidden_sizes), "latent_dim": self.latent_dim,
                "k": self.k, "likelihood": self.likelihood, "activation": self.activation, "beta": self.beta,
                "dtype": self.dtype.name, "init": self.init, "init_scale": self.init_scale, "sigma": self.sigma}

    def __repr__(self):
        arch = "-".join(str(d) for d in (self.input_dim, *self.hidden_sizes, self.latent_dim))
        return f"IWAE({arch}, k={self.k}, likelihood={self.likelihood!r}, beta={self.beta:g}, dtype={self.dtype.name})"

    # ------------------------------------------------------------------ log-weights
    def _log_weights_forward(self, x, eps, beta, workspace=None):
        """log w = log p(x|z) + beta (log p(z) - log q(z|x)).  x (B, D), eps (L, B, Z) -> logw (L, B)."""
        ws = workspace
        (mu, logvar), enc_cache = self.encoder.forward(self.params, x, workspace=ws)   # (B, Z), (B, Z)
        z, rep_cache = reparameterize_forward(mu, logvar, eps)          # (L, B, Z)
        out, dec_cache = self.decoder.forward(self.params, z, workspace=ws)        # each (L, B, D)
        loglik, ll_cache = self.decoder.log_prob_forward(x, out, workspace=ws)     # (L, B)  log p(x | z_l)
        logp, logp_cache = log_standard_normal_forward(z)               # (L, B)  log p(z_l)
        logq, logq_cache = log_normal_forward(z, mu, logvar)            # (L, B)  log q(z_l | x)
        logw = loglik + beta * (logp - logq)                            # (L, B)
        return logw, (enc_cache, rep_cache, dec_cache, ll_cache, logp_cache, logq_cache, beta)

    def _log_weights_backward(self, dlogw, cache, workspace=None):
        """Shapes: dlogw (L, B) -> dict name -> array."""
        enc_cache, rep_cache, dec_cache, ll_cache, logp_cache, logq_cache, beta = cache
        ws = workspace
        dout = self.decoder.log_prob_backward(dlogw, ll_cache, workspace=ws)   # each (L, B, D)
        dz_x, grads = self.decoder.backward(dout, dec_cache, workspace=ws)     # (L, B, Z)
        dz_p = log_standard_normal_backward(beta * dlogw, logp_cache)   # (L, B, Z)
        dz_q, dmu_q, dlogvar_q = log_normal_backward(-beta * dlogw, logq_cache)  # (L,B,Z), (B,Z), (B,Z)
        dz = dz_x + dz_p + dz_q                                         # z feeds p(x|z), p(z) and q(z|x)
        dmu_z, dlogvar_z = reparameterize_backward(dz, rep_cache)       # (B, Z)
        dmu = dmu_z + dmu_q                                             # mu feeds the sample and q(z|x)
        dlogvar = dlogvar_z + dlogvar_q                                 # logvar likewise
        # the data needs no gradient: need_dx=False skips the encoder's first-layer product dh W^T
        _, enc_grads = self.encoder.backward(dmu, dlogvar, enc_cache, workspace=ws, need_dx=False)
        grads.update(enc_grads)
        return grads

    # ------------------------------------------------------------------ the model's parts
    def encode(self, x):
        """Parameters of q(z | x): mu (B, Z) and logvar (B, Z)."""
        (mu, logvar), _ = self.encoder.forward(self.params, self._data(x))
        return mu, logvar
