"""The k-sample importance-weighted bound L_k as k grows, for a VAE and for an IWAE.

What it teaches
---------------
With k samples z_i ~ q(z | x) and weights w_i = p(x, z_i) / q(z_i | x), Burda et al. (2015) define

    L_k = E[ log (1/k) sum_i w_i ]        L_1 = ELBO  <=  L_k  <=  L_{k+1}  <=  log p(x),

the expected log of the importance-sampled estimate of p(x) (docs/derivations.md#log-px). Any
trained model can be *scored* with L_k; the IWAE is *trained* on it. Training on L_5 instead of
the ELBO lets q(z | x) be wider than the posterior wherever that pays under importance weighting,
so the IWAE reaches a higher L_k for large k (a better log p(x)) and usually keeps more latent units
active, while its ELBO (k = 1) can end lower than the VAE's.

The script trains one VAE on MNIST, then continues from it twice for the same number of steps and
decoder evaluations: as a VAE with L = 5 samples per datapoint (``numpyvae.VAE``) and as an IWAE
with k = 5 (``numpyvae.models.IWAE``, same parameter names), then estimates L_k of both on test
images for k = 1 ... K from one set of K log-weights per image (L_k averaged over K / k disjoint
groups). Writes ``iwae_bounds.png`` into ``--out``. Needs MNIST (NUMPYVAE_DATA or --data-dir).

Run
---
    NUMPYVAE_DATA=../shared/data python examples/07_iwae_bounds.py
    NUMPYVAE_DATA=../shared/data python examples/07_iwae_bounds.py --quick
"""
import _common

import sys

import numpy as np

import numpyvae as nv
from numpyvae.datasets import DatasetNotFoundError, bernoulli_binarize, load_dataset
from numpyvae.evaluation import active_units
from numpyvae.models import IWAE
from numpyvae.ops.stable import logmeanexp


def train(model, x, steps, lr, rng, n_samples=1, batch_size=100):
    """Minibatch SGVB with Adam on a fresh binarization of each batch (K&W Algorithm 1)."""
    opt = nv.Adam(lr=lr)
    for _ in range(steps):
        batch = bernoulli_binarize(x[rng.integers(0, x.shape[0], size=batch_size)], rng)
        _, grads = model.loss_and_grads(batch, rng=rng, n_samples=n_samples)
        opt.step(model.params, grads)
    return model


def bounds_against_k(model, x, ks, K, rng):
    """L_k (mean over the rows of x) for every k in ks, from K log-weights per row.

    For each k the K log-weights are split into K // k disjoint groups of k; L_k is estimated by the
    mean over groups (and rows) of log (1/k) sum_{i in group} w_i.
    """
    eps = rng.standard_normal((K, x.shape[0], model.latent_dim))     # (K, B, Z)
    logw = np.concatenate([model.log_weights(x, eps[s:s + 100]) for s in range(0, K, 100)])   # (K, B)
    return np.array([logmeanexp(logw[: (K // k) * k].reshape(K // k, k, -1), axis=1).mean() for k in ks])


def main(argv=None):
    p = _common.parser(__doc__)
    p.add_argument("--data-dir", default=None, help="folder with the data files (default: NUMPYVAE_DATA)")
    args = p.parse_args(argv)
    out = _common.out_dir(args)
    rng = np.random.default_rng(args.seed)
    try:
        x = load_dataset("mnist", "train", data_dir=args.data_dir).x[:20000]
        x_test = load_dataset("mnist", "test", data_dir=args.data_dir).x
    except DatasetNotFoundError as exc:
        print(f"this example needs the MNIST files: {exc}", file=sys.stderr)
        return 2
    x_test = bernoulli_binarize(x_test[:50 if args.quick else 100], np.random.default_rng(args.seed))
    base_steps, steps, K = (50, 20, 100) if args.quick else (400, 150, 500)
    ks = [k for k in (1, 2, 5, 10, 20, 50, 100, 200, 500) if k <= K]
    arch = dict(hidden_sizes=(200,), latent_dim=20, likelihood="bernoulli", rng=args.seed)

    base = train(nv.VAE(784, **arch), x, base_steps, 3e-3, rng)
    vae = nv.VAE(784, **arch)
    iwae = IWAE(784, k=5, **arch)
    for model in (vae, iwae):
        model.params = {name: p.copy() for name, p in base.params.items()}   # the same start
    train(vae, x, steps, 1e-3, rng, n_samples=5)                      # the ELBO averaged over 5 samples
    train(iwae, x, steps, 1e-3, rng)                                  # L_5: one group of k = 5 samples
    print(f"MNIST: a VAE 784-200-20 trained {base_steps} steps, then {steps} more steps as a VAE with L = 5 "
          f"and as an IWAE with k = 5\n")

    res = {}
    for name, model in (("VAE (L = 5)", vae), ("IWAE (k = 5)", iwae)):
        res[name] = bounds_against_k(model, x_test, ks, K, np.random.default_rng(args.seed + 1))
        au = active_units(model, x_test)["total"]
        print(f"{name:<13} active units {au:>2d}/20   " +
              "  ".join(f"L_{k} {v:.2f}" for k, v in zip(ks, res[name])))
    gain = res["IWAE (k = 5)"] - res["VAE (L = 5)"]
    print(f"\nIWAE - VAE:   " + "  ".join(f"k={k}: {g:+.2f}" for k, g in zip(ks, gain)))
    for name, v in res.items():
        print(f"{name}: L_k rises by {v[-1] - v[0]:.2f} nats from k = 1 to k = {ks[-1]} "
              f"({'monotone' if np.all(np.diff(v) > -0.05) else 'not monotone: too few samples'})")

    plt = _common.pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    for (name, v), color in zip(res.items(), ("C0", "C3")):
        ax[0].semilogx(ks, v, "o-", color=color, label=name)
    ax[0].set_xlabel("k (importance samples)")
    ax[0].set_ylabel(r"$\mathcal{L}_k$ on test images (nats)")
    ax[0].set_title(r"$\mathcal{L}_1$ = ELBO $\leq \mathcal{L}_k \leq \log p(x)$")
    ax[0].legend()
    ax[1].semilogx(ks, gain, "o-", color="k")
    ax[1].axhline(0, color="grey", lw=0.8)
    ax[1].set_xlabel("k (importance samples)")
    ax[1].set_ylabel(r"$\mathcal{L}_k$(IWAE) $-$ $\mathcal{L}_k$(VAE) (nats)")
    ax[1].set_title("same start, same number of decoder evaluations")
    fig.tight_layout()
    path = out / "iwae_bounds.png"
    fig.savefig(path, dpi=110)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
