"""The reparameterization gradient against the score-function (REINFORCE) gradient.

What it teaches
---------------
Kingma & Welling 2013 (section 2.3) need the gradient of an expectation E_{q(z)}[f(z)] with respect
to the parameters of q = N(mu, diag(exp(logvar))). Two unbiased estimators exist:

- score function (sec. 2.2):  grad = E_q[ f(z) grad log q(z) ]
      d/dmu_j     = f(z) (z_j - mu_j) / sigma_j^2  = f(z) eps_j / sigma_j
      d/dlogvar_j = f(z) (eps_j^2 - 1) / 2
- reparameterization (eq. 4-5):  z = mu + sigma * eps,  grad = E_eps[ f'(z) dz/dphi ]
      d/dmu_j     = df/dz_j
      d/dlogvar_j = df/dz_j * eps_j * sigma_j / 2

Both have the right mean; their variances differ by orders of magnitude. The script measures that
on (1) a toy expectation with a known answer, E[(z - c)^2] = (mu - c)^2 + sigma^2, and (2) the
reconstruction term E_q[log p(x | z)] of a small trained VAE, where df/dz comes from the decoder's
hand-written backward pass. A score-function estimator with a baseline (f - b, b from independent
draws) is shown too: it helps, but does not close the gap. Derivation:
docs/derivations.md#reparameterization.

Writes ``reparam_vs_score.png`` into ``--out`` and prints the numbers.

Run
---
    python examples/02_reparam_vs_score_function.py --out examples/output
    python examples/02_reparam_vs_score_function.py --quick
"""
import _common

import numpy as np

import numpyvae as nv


# ---------------------------------------------------------------- part 1: a toy expectation
def toy_per_sample(mu, logvar, c, eps, baseline=None):
    """Per-sample gradient estimates of E[(z - c)^2] wrt (mu, logvar), scalar mu and logvar.

    Returns a dict estimator name -> (dmu (S,), dlogvar (S,)).
    """
    sigma = np.exp(0.5 * logvar)
    z = mu + sigma * eps                                              # (S,)
    f = (z - c) ** 2                                                  # (S,)
    df_dz = 2.0 * (z - c)                                             # (S,)
    out = {"reparameterization": (df_dz, df_dz * eps * sigma / 2),
           "score function": (f * eps / sigma, f * (eps ** 2 - 1) / 2)}
    if baseline is not None:
        out["score function - baseline"] = ((f - baseline) * eps / sigma, (f - baseline) * (eps ** 2 - 1) / 2)
    return out


# ---------------------------------------------------------------- part 2: a small VAE
def make_data(rng, n=1000, d=30, k=4, flip=0.05):
    """Binary data: k random binary prototypes of d pixels, each pixel flipped with prob. ``flip``."""
    protos = (rng.uniform(size=(k, d)) > 0.5).astype(float)
    x = protos[rng.integers(0, k, size=n)]
    return np.abs(x - (rng.uniform(size=x.shape) < flip))


def train(model, x, rng, steps):
    opt = nv.Adam(lr=3e-3)
    for _ in range(steps):
        batch = x[rng.integers(0, len(x), size=50)]
        _, grads = model.loss_and_grads(batch, rng=rng)
        opt.step(model.params, grads)


def vae_per_sample(model, x1, eps, baseline=None):
    """Per-sample estimates of the gradient of E_q[log p(x1 | z)] wrt the encoder outputs mu, logvar.

    x1 (1, D), eps (S, 1, Z). Returns a dict estimator -> (dmu (S, Z), dlogvar (S, Z)) and f (S,).
    """
    mu, logvar = model.encode(x1)                                     # (1, Z), (1, Z)
    sigma = np.exp(0.5 * logvar)                                      # (1, Z)
    z = mu + sigma * eps                                              # (S, 1, Z)
    dec = model.decoder
    out, dec_cache = dec.forward(model.params, z)                     # {"logits": (S, 1, D)}
    loglik, ll_cache = dec.log_prob_forward(x1, out)                  # (S, 1)  f(z_s) = log p(x1 | z_s)
    dout = dec.log_prob_backward(np.ones_like(loglik), ll_cache)      # d f / d logits
    dz, _ = dec.backward(dout, dec_cache)                             # (S, 1, Z)  d f / d z_s
    f = loglik[:, 0, None]                                            # (S, 1)
    e = eps[:, 0]                                                     # (S, Z)
    est = {"reparameterization": (dz[:, 0], dz[:, 0] * e * sigma / 2),
           "score function": (f * e / sigma, f * (e ** 2 - 1) / 2)}
    if baseline is not None:
        est["score function - baseline"] = ((f - baseline) * e / sigma, (f - baseline) * (e ** 2 - 1) / 2)
    return est, loglik[:, 0]


def main(argv=None):
    p = _common.parser(__doc__)
    args = p.parse_args(argv)
    out = _common.out_dir(args)
    plt = _common.pyplot()
    rng = np.random.default_rng(args.seed)
    S = 20000 if args.quick else 200000                               # draws used to measure variances

    # ---- part 1
    mu, logvar, c = 0.5, np.log(0.8 ** 2), 2.0
    sigma = np.exp(0.5 * logvar)
    exact = (2 * (mu - c), sigma ** 2)                                # d/dmu, d/dlogvar of (mu-c)^2 + sigma^2
    eps = rng.standard_normal(S)
    baseline = np.mean((mu + sigma * rng.standard_normal(1000) - c) ** 2)   # independent draws
    est = toy_per_sample(mu, logvar, c, eps, baseline)
    print(f"part 1: E_z~N(mu, sigma^2) [(z - c)^2] with mu = {mu}, sigma = {sigma:.2f}, c = {c}; "
          f"{S} draws of one-sample estimators")
    print(f"  {'estimator':<27} {'d/dmu mean':>11} {'variance':>10}   {'d/dlogvar mean':>14} {'variance':>10}")
    print(f"  {'exact':<27} {exact[0]:>11.4f} {'':>10}   {exact[1]:>14.4f}")
    for name, (gm, gl) in est.items():
        print(f"  {name:<27} {gm.mean():>11.4f} {gm.var():>10.3f}   {gl.mean():>14.4f} {gl.var():>10.3f}")

    offsets = np.linspace(-4, 4, 33)                                  # mu - c
    toy_var = {name: [] for name in est}
    for off in offsets:
        b = np.mean((off + sigma * rng.standard_normal(1000)) ** 2)
        e = toy_per_sample(c + off, logvar, c, eps[:S // 4], b)
        for name, (gm, _) in e.items():
            toy_var[name].append(gm.var())

    # ---- part 2
    D, Z = 30, 2
    x = make_data(rng, d=D)
    model = nv.VAE(D, hidden_sizes=(20,), latent_dim=Z, likelihood="bernoulli", activation="tanh",
                   dtype=np.float64, rng=rng)
    train(model, x, rng, steps=1500)
    x1 = x[:1]
    mu1, logvar1 = model.encode(x1)
    f_base = vae_per_sample(model, x1, rng.standard_normal((1000, 1, Z)))[1].mean()
    est_vae, f = vae_per_sample(model, x1, rng.standard_normal((S, 1, Z)), baseline=f_base)
    print(f"\npart 2: a VAE {D}-20-{Z} trained briefly; one datapoint with mu = {np.round(mu1[0], 3)}, "
          f"sigma = {np.round(np.exp(0.5 * logvar1[0]), 3)}")
    print(f"  f(z) = log p(x | z): mean {f.mean():.3f}, std {f.std():.3f}; baseline b = {f_base:.3f}")
    print(f"  gradient of E_q[f(z)] wrt mu_1 and logvar_1, {S} one-sample estimates each")
    print(f"  {'estimator':<27} {'d/dmu_1':>18} {'variance':>10}   {'d/dlogvar_1':>18} {'variance':>10}")
    for name, (gm, gl) in est_vae.items():
        sm, sl = gm[:, 0].std() / np.sqrt(S), gl[:, 0].std() / np.sqrt(S)
        print(f"  {name:<27} {gm[:, 0].mean():>9.4f} +- {sm:<6.4f} {gm[:, 0].var():>10.3f}   "
              f"{gl[:, 0].mean():>9.4f} +- {sl:<6.4f} {gl[:, 0].var():>10.3f}")
    r = est_vae["score function"][0][:, 0].var() / est_vae["reparameterization"][0][:, 0].var()
    print(f"  variance ratio score / reparameterization for d/dmu_1: {r:.0f}x "
          f"(so about {r:.0f}x more samples for the same accuracy)")

    # standard deviation of an L-sample average, from disjoint blocks of the one-sample estimates
    Ls = np.array([1, 2, 4, 8, 16, 32, 64, 128])
    std_L = {name: [gm[: (S // Lk) * Lk, 0].reshape(-1, Lk).mean(axis=1).std() for Lk in Ls]
             for name, (gm, _) in est_vae.items()}

    # ---- figure
    colors = {"reparameterization": "C0", "score function": "C3", "score function - baseline": "C1"}
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.3))
    for name, v in toy_var.items():
        ax[0].semilogy(offsets, v, label=name, color=colors[name])
    ax[0].set_xlabel(r"$\mu - c$")
    ax[0].set_ylabel(r"variance of a one-sample estimate of $\partial/\partial\mu$")
    ax[0].set_title(r"toy: $E_{z\sim N(\mu,\sigma^2)}[(z-c)^2]$, $\sigma=0.8$")
    ax[0].legend()
    g_rep = est_vae["reparameterization"][0][:, 0]
    g_sf = est_vae["score function"][0][:, 0]
    lo, hi = np.percentile(g_sf, [1, 99])
    bins = np.linspace(lo, hi, 120)
    ax[1].hist(g_sf, bins=bins, density=True, alpha=0.6, color=colors["score function"], label="score function")
    ax[1].hist(g_rep, bins=bins, density=True, alpha=0.8, color=colors["reparameterization"],
               label="reparameterization")
    ax[1].axvline(g_rep.mean(), color="k", lw=1, ls="--", label="mean (both)")
    ax[1].set_yscale("log")
    ax[1].set_xlabel(r"one-sample estimate of $\partial E_q[\log p(x|z)] / \partial \mu_1$")
    ax[1].set_title("VAE: distribution of the estimates")
    ax[1].legend(fontsize=8)
    for name, s in std_L.items():
        ax[2].loglog(Ls, s, "o-", label=name, color=colors[name])
    ax[2].loglog(Ls, std_L["reparameterization"][0] / np.sqrt(Ls), "k:", lw=1, label=r"$\propto 1/\sqrt{L}$")
    ax[2].set_xlabel("L (samples averaged)")
    ax[2].set_ylabel(r"std of the $L$-sample estimate of $\partial/\partial\mu_1$")
    ax[2].set_title("VAE: error against the number of samples")
    ax[2].legend(fontsize=8)
    fig.tight_layout()
    path = out / "reparam_vs_score.png"
    fig.savefig(path, dpi=110)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
