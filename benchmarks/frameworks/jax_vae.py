"""The benchmark VAE in JAX: pure functions on a params dict, the whole step under one jax.jit."""

import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from .common import AdamConfig, Trainer

jax.config.update("jax_enable_x64", True)   # float64 runs; float32 arrays stay float32

NAME = "jax"
LOG_2PI = math.log(2.0 * math.pi)


def neg_elbo(params, x, eps, spec):
    """x (B, D), eps (L, B, Z) -> batch mean of -ELBO (analytic KL)."""
    L, B, Z = eps.shape
    n_hidden = len(spec.hidden_sizes)
    h = x
    for i in range(n_hidden):
        h = jnp.tanh(h @ params[f"enc.{i}.W"] + params[f"enc.{i}.b"])             # (B, H_i)
    mu = h @ params["enc.mu.W"] + params["enc.mu.b"]                              # (B, Z)
    logvar = h @ params["enc.logvar.W"] + params["enc.logvar.b"]                  # (B, Z)
    z = mu + jnp.exp(0.5 * logvar) * eps                                          # (L, B, Z)
    h = z.reshape(L * B, Z)
    for i in range(n_hidden):
        h = jnp.tanh(h @ params[f"dec.{i}.W"] + params[f"dec.{i}.b"])             # (L*B, H)
    xs = jnp.broadcast_to(x, (L, B, x.shape[1])).reshape(L * B, -1)              # (L*B, D)
    if spec.likelihood == "bernoulli":
        logits = h @ params["dec.logits.W"] + params["dec.logits.b"]              # (L*B, D)
        loglik = jnp.sum(xs * logits - jax.nn.softplus(logits), axis=1)          # (L*B,)
    else:
        mean = h @ params["dec.mean.W"] + params["dec.mean.b"]                    # (L*B, D)
        if spec.likelihood == "gaussian_sigmoid":
            mean = jax.nn.sigmoid(mean)
        dec_logvar = h @ params["dec.logvar.W"] + params["dec.logvar.b"]          # (L*B, D)
        sq = (xs - mean) ** 2 * jnp.exp(-dec_logvar)
        loglik = -0.5 * jnp.sum(LOG_2PI + dec_logvar + sq, axis=1)               # (L*B,)
    kl = 0.5 * jnp.sum(mu ** 2 + jnp.exp(logvar) - 1.0 - logvar, axis=1)         # (B,)
    return -jnp.sum(loglik) / (L * B) + spec.beta * jnp.sum(kl) / B


def adam_update(params, grads, m, v, t, adam):
    """One Adam step (Kingma & Ba, bias-corrected) on pytrees; t is the new step count."""
    m = jax.tree.map(lambda m_, g: adam.beta1 * m_ + (1 - adam.beta1) * g, m, grads)
    v = jax.tree.map(lambda v_, g: adam.beta2 * v_ + (1 - adam.beta2) * g * g, v, grads)
    c1, c2 = 1 - adam.beta1 ** t, 1 - adam.beta2 ** t
    params = jax.tree.map(lambda p, m_, v_: p - adam.lr * (m_ / c1) / (jnp.sqrt(v_ / c2) + adam.eps),
                          params, m, v)
    return params, m, v


def loss_and_grads(spec, params, x, eps):
    """Loss (float) and gradients (numpyvae-named numpy arrays) at ``params``."""
    fn = jax.jit(jax.value_and_grad(neg_elbo), static_argnums=3)
    loss, grads = fn(params, x, eps, spec)
    return float(loss), {k: np.asarray(g) for k, g in grads.items()}


def make_trainer(spec, params, x, eps, adam=AdamConfig()):
    """Training step (value_and_grad + Adam) compiled as one XLA computation; state donated."""
    dtype = next(iter(params.values())).dtype

    def train_step(params, m, v, t, x, eps):
        loss, grads = jax.value_and_grad(neg_elbo)(params, x, eps, spec)
        t = t + 1
        params, m, v = adam_update(params, grads, m, v, t, adam)
        return params, m, v, t, loss

    def grad_fn(params, x, eps):
        return jax.value_and_grad(neg_elbo)(params, x, eps, spec)

    state = [{k: jnp.array(p) for k, p in params.items()},
             {k: jnp.zeros_like(p) for k, p in params.items()},
             {k: jnp.zeros_like(p) for k, p in params.items()},
             jnp.zeros((), dtype=dtype)]
    x_j, eps_j = jnp.array(x), jnp.array(eps)
    compile_s = {}
    start = time.perf_counter()
    step_c = jax.jit(train_step, donate_argnums=(0, 1, 2, 3)).lower(*state, x_j, eps_j).compile()
    compile_s["step"] = time.perf_counter() - start
    grad_c = []                      # compiled on first use: the correctness check needs only step
    last = []

    def step():
        out = step_c(*state, x_j, eps_j)
        state[:], last[:] = out[:4], out[4:]

    def grad():
        if not grad_c:
            start = time.perf_counter()
            grad_c.append(jax.jit(grad_fn).lower(state[0], x_j, eps_j).compile())
            compile_s["grad"] = time.perf_counter() - start
        last[:] = [grad_c[0](state[0], x_j, eps_j)]

    def sync():
        jax.block_until_ready((state, last))

    return Trainer(step=step, grad=grad, sync=sync,
                   params=lambda: {k: np.asarray(p) for k, p in state[0].items()},
                   compile_s=compile_s)
