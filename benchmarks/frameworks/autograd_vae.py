"""The benchmark VAE in HIPS autograd: autograd.numpy on a params dict, gradients by autograd.grad.

Adam is a plain in-place NumPy update, as an autograd user would write it for a step-wise loop.
"""

import math

import autograd.numpy as anp
import numpy as np
from autograd import value_and_grad

from .common import AdamConfig, Trainer

NAME = "autograd"
LOG_2PI = math.log(2.0 * math.pi)


def softplus(t):
    """log(1 + e^t) without overflow: max(t, 0) + log1p(e^-|t|)."""
    return anp.maximum(t, 0.0) + anp.log1p(anp.exp(-anp.abs(t)))


def neg_elbo(params, x, eps, spec):
    """x (B, D), eps (L, B, Z) -> batch mean of -ELBO (analytic KL)."""
    L, B, Z = eps.shape
    n_hidden = len(spec.hidden_sizes)
    h = x
    for i in range(n_hidden):
        h = anp.tanh(anp.dot(h, params[f"enc.{i}.W"]) + params[f"enc.{i}.b"])       # (B, H_i)
    mu = anp.dot(h, params["enc.mu.W"]) + params["enc.mu.b"]                        # (B, Z)
    logvar = anp.dot(h, params["enc.logvar.W"]) + params["enc.logvar.b"]            # (B, Z)
    z = mu + anp.exp(0.5 * logvar) * eps                                            # (L, B, Z)
    h = anp.reshape(z, (L * B, Z))
    for i in range(n_hidden):
        h = anp.tanh(anp.dot(h, params[f"dec.{i}.W"]) + params[f"dec.{i}.b"])       # (L*B, H)
    xs = np.broadcast_to(x, (L, B, x.shape[1])).reshape(L * B, -1)                 # (L*B, D)
    if spec.likelihood == "bernoulli":
        logits = anp.dot(h, params["dec.logits.W"]) + params["dec.logits.b"]        # (L*B, D)
        loglik = anp.sum(xs * logits - softplus(logits), axis=1)                    # (L*B,)
    else:
        mean = anp.dot(h, params["dec.mean.W"]) + params["dec.mean.b"]              # (L*B, D)
        if spec.likelihood == "gaussian_sigmoid":
            mean = 0.5 * (1.0 + anp.tanh(0.5 * mean))                              # sigmoid
        dec_logvar = anp.dot(h, params["dec.logvar.W"]) + params["dec.logvar.b"]    # (L*B, D)
        sq = (xs - mean) ** 2 * anp.exp(-dec_logvar)
        loglik = -0.5 * anp.sum(LOG_2PI + dec_logvar + sq, axis=1)                 # (L*B,)
    kl = 0.5 * anp.sum(mu ** 2 + anp.exp(logvar) - 1.0 - logvar, axis=1)           # (B,)
    return -anp.sum(loglik) / (L * B) + spec.beta * anp.sum(kl) / B


def loss_and_grads(spec, params, x, eps):
    """Loss (float) and gradients (numpyvae-named numpy arrays) at ``params``."""
    loss, grads = value_and_grad(neg_elbo)(params, x, eps, spec)
    return float(loss), {k: np.asarray(g) for k, g in grads.items()}


class Adam:
    """In-place NumPy Adam (Kingma & Ba, bias-corrected), one scratch buffer per parameter."""

    def __init__(self, params, adam):
        self.adam, self.t = adam, 0
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}
        self.tmp = {k: np.empty_like(p) for k, p in params.items()}

    def step(self, params, grads):
        a = self.adam
        self.t += 1
        step_size = a.lr / (1 - a.beta1 ** self.t)
        inv_sqrt_c2 = 1.0 / math.sqrt(1 - a.beta2 ** self.t)
        for k, p in params.items():
            g, m, v, tmp = grads[k], self.m[k], self.v[k], self.tmp[k]
            m *= a.beta1
            m += (1 - a.beta1) * g                     # m = b1 m + (1 - b1) g
            v *= a.beta2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - a.beta2
            v += tmp                                   # v = b2 v + (1 - b2) g^2
            np.sqrt(v, out=tmp)
            tmp *= inv_sqrt_c2
            tmp += a.eps                               # sqrt(v_hat) + eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp                                   # p -= lr m_hat / (sqrt(v_hat) + eps)


def make_trainer(spec, params, x, eps, adam=AdamConfig()):
    """Training step: ``value_and_grad`` of the loss, then the in-place Adam update."""
    params = {k: p.copy() for k, p in params.items()}
    x, eps = x.copy(), eps.copy()
    grad_fn = value_and_grad(neg_elbo)
    opt = Adam(params, adam)

    def step():
        _, grads = grad_fn(params, x, eps, spec)
        opt.step(params, grads)

    return Trainer(step=step, grad=lambda: grad_fn(params, x, eps, spec), sync=lambda: None,
                   params=lambda: {k: p.copy() for k, p in params.items()}, compile_s={})
