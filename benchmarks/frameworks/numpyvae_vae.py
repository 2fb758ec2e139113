"""numpyvae behind the same interface as the framework implementations (nv.VAE + nv.Adam)."""

import numpy as np

import numpyvae as nv

from .common import AdagradConfig, AdamConfig, Trainer

NAME = "numpyvae"

if not (hasattr(nv, "VAE") and hasattr(nv, "Adam")):
    raise ImportError(f"numpyvae {getattr(nv, '__version__', '?')} provides no VAE and Adam")


def build(spec, params=None, dtype=None):
    """An nv.VAE for ``spec``; with ``params`` its parameters are overwritten by a copy of them."""
    if dtype is None:
        dtype = next(iter(params.values())).dtype
    model = nv.VAE(input_dim=spec.input_dim, hidden_sizes=tuple(spec.hidden_sizes),
                   latent_dim=spec.latent_dim, likelihood=spec.likelihood, activation="tanh",
                   estimator="analytic", beta=spec.beta, dtype=dtype,
                   rng=np.random.default_rng(0))
    if params is not None:
        if set(params) != set(model.params):
            raise ValueError(f"parameter names differ: {sorted(set(params) ^ set(model.params))}")
        for name, value in params.items():
            if model.params[name].shape != value.shape:
                raise ValueError(f"{name}: numpyvae has shape {model.params[name].shape}, "
                                 f"got {value.shape}")
            model.params[name][...] = value
    return model


def initial_params(spec, dtype, seed=0):
    """numpyvae's own initial parameters for ``spec`` (a copy), seeded."""
    model = nv.VAE(input_dim=spec.input_dim, hidden_sizes=tuple(spec.hidden_sizes),
                   latent_dim=spec.latent_dim, likelihood=spec.likelihood, activation="tanh",
                   estimator="analytic", beta=spec.beta, dtype=dtype,
                   rng=np.random.default_rng(seed))
    return {k: np.array(v) for k, v in model.params.items()}


def loss_and_grads(spec, params, x, eps):
    """Loss (float) and gradients (numpy arrays) at ``params``."""
    loss, grads = build(spec, params).loss_and_grads(x, eps)
    return float(loss), {k: np.array(g) for k, g in grads.items()}


def make_trainer(spec, params, x, eps, adam=AdamConfig(), optimizer="adam", adagrad=AdagradConfig()):
    """Training step as numpyvae's documented loop runs it: ``model.loss_and_grads`` with a
    ``nv.Workspace`` (arrays reused across steps; without one where this numpyvae has none),
    then ``nv.Adam.step`` (in place), or with ``optimizer="adagrad"`` ``nv.Adagrad.step`` with the
    settings of ``adagrad`` (the reproduction's optimizer, weight decay included)."""
    model = build(spec, params)
    x, eps = x.copy(), eps.copy()
    if optimizer == "adagrad":
        opt = nv.Adagrad(lr=adagrad.lr, eps=adagrad.eps, weight_decay=adagrad.weight_decay)
    else:
        opt = nv.Adam(lr=adam.lr, beta1=adam.beta1, beta2=adam.beta2, eps=adam.eps)
    kwargs = {"workspace": nv.Workspace()} if hasattr(nv, "Workspace") else {}

    def step():
        _, grads = model.loss_and_grads(x, eps, **kwargs)
        opt.step(model.params, grads)

    def grad():
        return model.loss_and_grads(x, eps, **kwargs)

    return Trainer(step=step, grad=grad, sync=lambda: None,
                   params=lambda: {k: np.array(v) for k, v in model.params.items()},
                   compile_s={})
