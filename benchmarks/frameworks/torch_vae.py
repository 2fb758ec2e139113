"""The benchmark VAE in PyTorch (eager mode, nn.Module, torch.optim.Adam).

Parameter names map onto numpyvae's: ``enc.0.W`` is ``enc.0.weight`` transposed (nn.Linear
stores weights as (out, in)), ``enc.0.b`` is ``enc.0.bias``.
"""

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .common import AdamConfig, Trainer

NAME = "torch"
LOG_2PI = math.log(2.0 * math.pi)


class VAE(nn.Module):
    """MLP VAE with tanh hidden layers; ``forward(x, eps)`` returns the mean negative ELBO."""

    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        enc, width = {}, spec.input_dim
        for i, h in enumerate(spec.hidden_sizes):
            enc[str(i)], width = nn.Linear(width, h), h
        enc["mu"] = nn.Linear(width, spec.latent_dim)
        enc["logvar"] = nn.Linear(width, spec.latent_dim)
        dec, width = {}, spec.latent_dim
        for i, h in enumerate(reversed(spec.hidden_sizes)):
            dec[str(i)], width = nn.Linear(width, h), h
        for head in spec.decoder_heads():
            dec[head] = nn.Linear(width, spec.input_dim)
        self.enc, self.dec = nn.ModuleDict(enc), nn.ModuleDict(dec)
        self.n_hidden = len(spec.hidden_sizes)

    def forward(self, x, eps):
        """x (B, D), eps (L, B, Z) -> loss, the batch mean of -ELBO (analytic KL)."""
        L, B, Z = eps.shape
        h = x
        for i in range(self.n_hidden):
            h = torch.tanh(self.enc[str(i)](h))                                  # (B, H_i)
        mu, logvar = self.enc["mu"](h), self.enc["logvar"](h)                    # (B, Z)
        z = mu + torch.exp(0.5 * logvar) * eps                                   # (L, B, Z)
        h = z.reshape(L * B, Z)
        for i in range(self.n_hidden):
            h = torch.tanh(self.dec[str(i)](h))                                  # (L*B, H)
        xs = x.expand(L, B, x.shape[1]).reshape(L * B, -1)                       # (L*B, D)
        if self.spec.likelihood == "bernoulli":
            logits = self.dec["logits"](h)                                       # (L*B, D)
            loglik = -F.binary_cross_entropy_with_logits(logits, xs, reduction="none").sum(1)
        else:
            mean, dec_logvar = self.dec["mean"](h), self.dec["logvar"](h)         # (L*B, D)
            if self.spec.likelihood == "gaussian_sigmoid":
                mean = torch.sigmoid(mean)
            sq = (xs - mean) ** 2 * torch.exp(-dec_logvar)
            loglik = -0.5 * (LOG_2PI + dec_logvar + sq).sum(1)                   # (L*B,)
        kl = 0.5 * (mu ** 2 + torch.exp(logvar) - 1.0 - logvar).sum(1)          # (B,)
        return -loglik.sum() / (L * B) + self.spec.beta * kl.sum() / B


def _torch_name(name):
    prefix, kind = name.rsplit(".", 1)
    return prefix + (".weight" if kind == "W" else ".bias")


def build(spec, params):
    """An nn.Module holding a copy of ``params`` (numpyvae names, numpy arrays), in their dtype."""
    dtype = next(iter(params.values())).dtype
    model = VAE(spec).to(getattr(torch, np.dtype(dtype).name))
    state = model.state_dict()
    with torch.no_grad():
        for name, value in params.items():
            value = value.T if name.endswith(".W") else value
            state[_torch_name(name)].copy_(torch.from_numpy(np.ascontiguousarray(value)))
    return model


def to_numpy(model, spec, use_grad=False):
    """The model's parameters (or their .grad) as a numpyvae-named dict of numpy arrays."""
    tensors = dict(model.named_parameters())
    out = {}
    for name in spec.param_shapes():
        t = tensors[_torch_name(name)]
        t = (t.grad if use_grad else t).detach().numpy()
        out[name] = np.array(t.T if name.endswith(".W") else t)
    return out


def loss_and_grads(spec, params, x, eps):
    """Loss (float) and gradients (numpyvae-named numpy arrays) at ``params``."""
    model = build(spec, params)
    loss = model(torch.from_numpy(x), torch.from_numpy(eps))
    loss.backward()
    return loss.item(), to_numpy(model, spec, use_grad=True)


def make_trainer(spec, params, x, eps, adam=AdamConfig(), fused=False):
    """Eager training step: zero_grad, forward, backward, ``torch.optim.Adam.step``."""
    model = build(spec, params)
    x_t, eps_t = torch.from_numpy(x.copy()), torch.from_numpy(eps.copy())
    opt = torch.optim.Adam(model.parameters(), lr=adam.lr, betas=(adam.beta1, adam.beta2),
                           eps=adam.eps, fused=fused or None)

    def step():
        opt.zero_grad(set_to_none=True)
        model(x_t, eps_t).backward()
        opt.step()

    def grad():
        model.zero_grad(set_to_none=True)
        model(x_t, eps_t).backward()

    return Trainer(step=step, grad=grad, sync=lambda: None,
                   params=lambda: to_numpy(model, spec), compile_s={})
