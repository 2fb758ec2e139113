r"""Generative models p(x | z) (K&W appendix C): an MLP on z, then heads that give the parameters
of the likelihood, and that likelihood's log-density.

Every decoder has the same interface:

- ``forward(params, z) -> (out, cache)``: ``out`` is a dict of the likelihood's parameters;
  z may carry a leading sample axis, (L, B, Z) -> each output (L, B, D).
- ``backward(dout, cache) -> (dz, grads)``.
- ``log_prob_forward(x, out) -> (loglik, cache)`` and ``log_prob_backward(dloglik, cache) -> dout``:
  log p(x | z) summed over data dimensions, x (B, D) broadcast over the sample axis;
  ``log_prob_grad(x, out, dloglik) -> dout``: the same ``dout`` without the value (HMC's leapfrog
  steps need the gradient alone; the Bernoulli decoder then skips the softplus pass).
- ``mean(out)`` and ``sample(out, rng)``.

The first four take an optional ``workspace`` (see :mod:`numpyvae.arrays.workspace`) to draw their
arrays from.

Derivation: docs/derivations.md#likelihoods
"""
import math

from ..arrays.backend import array_module
from .layers import MLP, Dense
from ..ops.activations import sigmoid_backward, sigmoid_forward
from ..ops.likelihoods import (bernoulli_loglik_backward, bernoulli_loglik_forward, gaussian_loglik_backward,
                              gaussian_loglik_forward)
from ..ops.stable import sigmoid
from ..arrays.validation import check_positive
from ..arrays.workspace import as_workspace

LIKELIHOODS = ("bernoulli", "gaussian", "gaussian_sigmoid", "gaussian_fixed")


def _flatten_samples(z):
    """(..., Z) -> (N, Z) and the leading shape, so an MLP sees a matrix."""
    return z.reshape(-1, z.shape[-1]), z.shape[:-1]


class BernoulliDecoder:
    r"""p(x | z) = prod_d Bernoulli(x_d; sigmoid(eta_d)), eta = h W + b, h = MLP(z).

    Parameters ``"<name>.<i>.W/b"`` (hidden layers) and ``"<name>.logits.W/b"``. Outputs
    ``{"logits": eta}``.
    """

    likelihood = "bernoulli"

    def __init__(self, latent_dim, hidden_sizes, output_dim, activation, name="dec"):
        self.trunk = MLP((latent_dim, *hidden_sizes), activation, name)
        self.logits_head = Dense(self.trunk.out_dim, output_dim, f"{name}.logits")
        self.output_dim = int(output_dim)
        self.name = name

    def init_params(self, rng, dtype, init="normal", init_scale=0.01):
        params = self.trunk.init_params(rng, dtype, init, init_scale)
        params.update(self.logits_head.init_params(rng, dtype, init, init_scale))
        return params

    def forward(self, params, z, workspace=None):
        """Shapes: z (..., Z) -> {"logits": (..., D)}."""
        z2, lead = _flatten_samples(z)                                # (N, Z)
        h, trunk_cache = self.trunk.forward(params, z2, workspace)    # (N, H)
        logits, head_cache = self.logits_head.forward(params, h, workspace)  # (N, D)
        return {"logits": logits.reshape(*lead, -1)}, (trunk_cache, head_cache, lead)

    def backward(self, dout, cache, workspace=None, need_params=True):
        """Shapes: {"logits": (..., D)} -> dz (..., Z), parameter grads (``need_params=False``: dz alone,
        an empty dict)."""
        trunk_cache, head_cache, lead = cache
        dlogits = dout["logits"].reshape(-1, self.output_dim)         # (N, D)
        dh, grads = self.logits_head.backward(dlogits, head_cache, workspace, need_params=need_params)  # (N, H)
        dz, trunk_grads = self.trunk.backward(dh, trunk_cache, workspace, need_params=need_params)      # (N, Z)
        grads.update(trunk_grads)
        return dz.reshape(*lead, -1), grads

    def log_prob_forward(self, x, out, workspace=None):
        logits = out["logits"]
        shape = array_module(logits).broadcast_shapes(x.shape, logits.shape)    # (..., B, D)
        loglik = as_workspace(workspace).empty(f"{self.name}:loglik", shape[:-1], logits)  # (..., B)
        return bernoulli_loglik_forward(x, logits, out=loglik, workspace=workspace)

    def log_prob_backward(self, dloglik, cache, workspace=None):
        x, logits = cache
        shape = array_module(logits).broadcast_shapes(x.shape, logits.shape)    # (..., B, D)
        dlogits = as_workspace(workspace).empty(f"{self.name}:dlogits", shape, logits)
        return {"logits": bernoulli_loglik_backward(dloglik, cache, out=dlogits)}

    def log_prob_grad(self, x, out, dloglik, workspace=None):
        """d/d logits of sum_b w_b log p(x_b | z_b), w = ``dloglik``: x - sigmoid(logits), weighted, without
        forming the log-likelihood (its backward needs only x and the logits)."""
        return self.log_prob_backward(dloglik, (x, out["logits"]), workspace)

    def mean(self, out):
        """E[x | z] = sigmoid(logits)."""
        return sigmoid(out["logits"])

    def sample(self, out, rng):
        """x ~ Bernoulli(sigmoid(logits)), drawn with the NumPy generator ``rng``."""
        p = self.mean(out)
        xp = array_module(p)
        u = xp.asarray(rng.uniform(size=p.shape)).astype(p.dtype)
        return (u < p).astype(p.dtype)


class GaussianDecoder:
    r"""p(x | z) = N(x; mean, diag(exp(logvar))), h = MLP(z).

    - ``mean_activation="identity"``: mean = h W_mean + b_mean.
    - ``mean_activation="sigmoid"``: mean = sigmoid(h W_mean + b_mean), in (0, 1) like the pixels of
      Frey Faces (K&W's Frey decoder).
    - ``sigma=None``: a learned per-dimension log-variance head, logvar = h W_logvar + b_logvar.
    - ``sigma=s``: a fixed standard deviation; logvar = 2 log s is broadcast to every output.

    Outputs ``{"mean": (..., D), "logvar": (..., D)}``.
    """

    def __init__(self, latent_dim, hidden_sizes, output_dim, activation, mean_activation="identity",
                 sigma=None, name="dec"):
        if mean_activation not in ("identity", "sigmoid"):
            raise ValueError(f"unknown mean_activation {mean_activation!r}; choose 'identity' or 'sigmoid'")
        if sigma is not None:
            sigma = check_positive("sigma", sigma)
        self.trunk = MLP((latent_dim, *hidden_sizes), activation, name)
        self.mean_head = Dense(self.trunk.out_dim, output_dim, f"{name}.mean")
        self.logvar_head = None if sigma is not None else Dense(self.trunk.out_dim, output_dim, f"{name}.logvar")
        self.mean_activation = mean_activation
        self.sigma = sigma
        self.output_dim = int(output_dim)
        self.name = name

    @property
    def likelihood(self):
        if self.sigma is not None:
            return "gaussian_fixed"
        return "gaussian_sigmoid" if self.mean_activation == "sigmoid" else "gaussian"

    def init_params(self, rng, dtype, init="normal", init_scale=0.01):
        params = self.trunk.init_params(rng, dtype, init, init_scale)
        params.update(self.mean_head.init_params(rng, dtype, init, init_scale))
        if self.logvar_head is not None:
            params.update(self.logvar_head.init_params(rng, dtype, init, init_scale))
        return params

    def forward(self, params, z, workspace=None):
        """Shapes: z (..., Z) -> {"mean": (..., D), "logvar": (..., D)}."""
        xp = array_module(z)
        ws = as_workspace(workspace)
        z2, lead = _flatten_samples(z)                                # (N, Z)
        h, trunk_cache = self.trunk.forward(params, z2, ws)           # (N, H)
        a, mean_cache = self.mean_head.forward(params, h, ws)         # (N, D)
        if self.mean_activation == "sigmoid":
            mean, sig_cache = sigmoid_forward(a, out=ws.empty(f"{self.name}:mean", a.shape, a))  # (N, D)
        else:
            mean, sig_cache = a, None
        if self.logvar_head is not None:
            logvar, logvar_cache = self.logvar_head.forward(params, h, ws)  # (N, D)
            logvar = logvar.reshape(*lead, -1)
        else:
            logvar_cache = None
            logvar = xp.broadcast_to(xp.asarray(2.0 * math.log(self.sigma), dtype=a.dtype), (*lead, self.output_dim))
        out = {"mean": mean.reshape(*lead, -1), "logvar": logvar}
        return out, (trunk_cache, mean_cache, sig_cache, logvar_cache, lead)

    def backward(self, dout, cache, workspace=None, need_params=True):
        """Shapes: {"mean": (..., D), "logvar": (..., D)} -> dz (..., Z), parameter grads.

        With a fixed sigma, ``dout["logvar"]`` is ignored (logvar is no function of z).
        ``need_params=False``: dz alone, an empty dict.
        """
        trunk_cache, mean_cache, sig_cache, logvar_cache, lead = cache
        ws = as_workspace(workspace)
        dmean = dout["mean"].reshape(-1, self.output_dim)             # (N, D)
        if self.mean_activation == "sigmoid":
            da = sigmoid_backward(dmean, sig_cache, out=ws.empty(f"{self.name}:dmean_pre", dmean.shape, dmean))
        else:
            da = dmean
        dh, grads = self.mean_head.backward(da, mean_cache, ws, need_params=need_params)   # (N, H)
        if self.logvar_head is not None:
            dlogvar = dout["logvar"].reshape(-1, self.output_dim)     # (N, D)
            dh_logvar, logvar_grads = self.logvar_head.backward(dlogvar, logvar_cache, ws, need_params=need_params)
            grads.update(logvar_grads)
            dh += dh_logvar                                           # (N, H)  h feeds both heads
        dz, trunk_grads = self.trunk.backward(dh, trunk_cache, ws, need_params=need_params)   # (N, Z)
        grads.update(trunk_grads)
        return dz.reshape(*lead, -1), grads

    def log_prob_forward(self, x, out, workspace=None):
        mean = out["mean"]
        xp = array_module(mean)
        ws = as_workspace(workspace)
        shape = xp.broadcast_shapes(x.shape, mean.shape)                    # (..., B, D)
        loglik = ws.empty(f"{self.name}:loglik", shape[:-1], mean)          # (..., B)
        return gaussian_loglik_forward(x, mean, out["logvar"], out=loglik, workspace=ws.scope(f"{self.name}:"))

    def log_prob_backward(self, dloglik, cache, workspace=None):
        ws = as_workspace(workspace)
        diff = cache[0]                                                     # (..., B, D)
        dmean_out = ws.empty(f"{self.name}:dmean", diff.shape, diff)
        dlogvar_out = ws.empty(f"{self.name}:dlogvar", diff.shape, diff)   # (fixed sigma: unused by backward)
        dmean, dlogvar = gaussian_loglik_backward(dloglik, cache, out=(dmean_out, dlogvar_out))
        return {"mean": dmean, "logvar": dlogvar}

    def log_prob_grad(self, x, out, dloglik, workspace=None):
        """d/d(mean, logvar) of sum_b w_b log p(x_b | z_b), w = ``dloglik`` (its backward needs the
        forward's quantities, so this is the forward and the backward)."""
        _, cache = self.log_prob_forward(x, out, workspace)
        return self.log_prob_backward(dloglik, cache, workspace)

    def mean(self, out):
        return out["mean"]

    def sample(self, out, rng):
        """x = mean + exp(logvar / 2) * noise, noise from the NumPy generator ``rng``."""
        xp = array_module(out["mean"])
        noise = xp.asarray(rng.standard_normal(out["mean"].shape)).astype(out["mean"].dtype)
        return out["mean"] + xp.exp(0.5 * out["logvar"]) * noise


def make_decoder(likelihood, latent_dim, hidden_sizes, output_dim, activation, sigma=1.0, name="dec"):
    """Build the decoder for a likelihood name (one of :data:`LIKELIHOODS`)."""
    if likelihood == "bernoulli":
        return BernoulliDecoder(latent_dim, hidden_sizes, output_dim, activation, name=name)
    if likelihood == "gaussian":
        return GaussianDecoder(latent_dim, hidden_sizes, output_dim, activation, name=name)
    if likelihood == "gaussian_sigmoid":
        return GaussianDecoder(latent_dim, hidden_sizes, output_dim, activation, mean_activation="sigmoid",
                               name=name)
    if likelihood == "gaussian_fixed":
        return GaussianDecoder(latent_dim, hidden_sizes, output_dim, activation, sigma=sigma, name=name)
    raise ValueError(f"unknown likelihood {likelihood!r}; choose one of {', '.join(LIKELIHOODS)}")
