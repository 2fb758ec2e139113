"""The beta-VAE trade-off: reconstruction against KL as the weight beta of the KL term varies.

What it teaches
---------------
The ELBO is a reconstruction term minus a KL term (K&W eq. 3). The beta-VAE (Higgins et al. 2017)
trains on  E_q[log p(x | z)] - beta * KL(q(z | x) || p(z))  instead (``VAE(beta=...)``,
docs/derivations.md#sgvb). Writing the *distortion* D = -E_q[log p(x | z)] and the *rate*
R = KL(q(z | x) || p(z)) (nats the code spends on each datapoint), every beta picks a point on the
curve D against R:

- beta < 1 buys sharper reconstructions with a higher rate (the ELBO -(D + R) still counts both);
- beta > 1 pushes the rate down: fewer latent dimensions stay active (an *active unit* has
  Var_x(E_q[z_j | x]) > 0.01, Burda et al. 2015), reconstructions blur, and at large beta the
  posterior collapses onto the prior.

The script trains one MNIST model with beta = 1, then continues training a copy of it with each
beta for the same number of steps (so every beta gets the same budget from the same start), and
measures D, R and the ELBO (beta = 1) on test images; lines of constant ELBO are the diagonals
D + R = const. Writes
``beta_tradeoff.png`` (the rate-distortion plane and the active units) and
``beta_reconstructions.png`` (test images, then one row of reconstructions per beta) into ``--out``.
Needs MNIST (NUMPYVAE_DATA or --data-dir).

Run
---
    NUMPYVAE_DATA=../shared/data python examples/08_beta_vae_tradeoff.py
    NUMPYVAE_DATA=../shared/data python examples/08_beta_vae_tradeoff.py --quick
"""
import _common

import sys

import numpy as np

import numpyvae as nv
from numpyvae import plotting
from numpyvae.datasets import DatasetNotFoundError, bernoulli_binarize, load_dataset
from numpyvae.training import Trainer


def main(argv=None):
    p = _common.parser(__doc__)
    p.add_argument("--data-dir", default=None, help="folder with the data files (default: NUMPYVAE_DATA)")
    p.add_argument("--betas", type=float, nargs="+", default=None,
                   help="values of beta (default 0.25 0.5 1 2 4 8; --quick: 0.5 1 4)")
    args = p.parse_args(argv)
    out = _common.out_dir(args)
    betas = args.betas or ([0.5, 1.0, 4.0] if args.quick else [0.25, 0.5, 1.0, 2.0, 4.0, 8.0])
    try:
        train_set = load_dataset("mnist", "train", data_dir=args.data_dir)
        test_set = load_dataset("mnist", "test", data_dir=args.data_dir)
    except DatasetNotFoundError as exc:
        print(f"this example needs the MNIST files: {exc}", file=sys.stderr)
        return 2
    x = train_set.x[:5000] if args.quick else train_set.x[:20000]
    n_test = 500 if args.quick else 2000
    x_test = bernoulli_binarize(test_set.x[:n_test], np.random.default_rng(args.seed))   # one fixed draw
    rng = np.random.default_rng(args.seed)
    settings = dict(batch_size=100, optimizer="adam", binarize="dynamic", eval_size=500, seed=args.seed)

    base = nv.VAE(784, hidden_sizes=(200,), latent_dim=10, likelihood="bernoulli", beta=1.0, rng=args.seed)
    history = Trainer(base, epochs=1 if args.quick else 2, lr=3e-3, **settings).fit(x)
    print(f"MNIST: a beta = 1 model trained on {x.shape[0]} images ({history[-1]['samples']:,} samples, "
          f"{history[-1]['wall_time']:.1f} s), then one more epoch per beta from there; {n_test} test images\n")
    print(f"  {'beta':>6} {'distortion D':>13} {'rate R':>8} {'ELBO -(D+R)':>12} {'active units':>13} {'time':>7}")
    rows = []
    for beta in betas:
        model = nv.VAE(784, hidden_sizes=(200,), latent_dim=10, likelihood="bernoulli", beta=beta, rng=args.seed)
        for name, p in base.params.items():                          # the common start, written in place
            model.params[name][...] = p
        history = Trainer(model, epochs=1, lr=1e-3, **settings).fit(x)
        terms = model.elbo_terms(x_test, rng=rng, n_samples=5)        # loglik and the closed-form KL, (B,)
        D, R = -float(terms["loglik"].mean()), float(terms["kl"].mean())
        mu, _ = model.encode(x_test)                                  # (B, Z)
        active = int((mu.var(axis=0) > 0.01).sum())
        rows.append({"beta": beta, "D": D, "R": R, "active": active, "recon": model.reconstruct(x_test[:10])})
        print(f"  {beta:>6g} {D:>13.2f} {R:>8.2f} {-(D + R):>12.2f} {active:>10d}/{model.latent_dim} "
              f"{history[-1]['wall_time']:>6.1f}s")

    # ---- figures
    plt = _common.pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.6), gridspec_kw={"width_ratios": [1.6, 1]})
    D = np.array([r["D"] for r in rows])
    R = np.array([r["R"] for r in rows])
    sc = ax[0].scatter(R, D, c=np.log2(betas), cmap="viridis", s=60, zorder=3)
    for r in rows:
        ax[0].annotate(f"  beta = {r['beta']:g}", (r["R"], r["D"]), fontsize=9, va="center")
    r_max = max(R.max() * 1.25, 5.0)
    for total in np.linspace((D + R).min(), (D + R).max() + 20, 4):
        ax[0].plot([0, r_max], [total, total - r_max], color="grey", lw=0.6, ls=":")
    ax[0].plot([], [], color="grey", lw=0.6, ls=":", label="constant ELBO: D + R = const")
    ax[0].set_xlim(0, r_max)
    ax[0].set_ylim(D.min() - 10, D.max() + 10)
    ax[0].set_xlabel("rate R = KL(q(z|x) || p(z))  (nats)")
    ax[0].set_ylabel("distortion D = -E_q[log p(x|z)]  (nats)")
    ax[0].set_title("beta-VAE on MNIST: the rate-distortion trade-off")
    ax[0].legend(loc="upper right", fontsize=8)
    fig.colorbar(sc, ax=ax[0], label="log2 beta")
    ax[1].bar([f"{b:g}" for b in betas], [r["active"] for r in rows], color="C0")
    ax[1].set_xlabel("beta")
    ax[1].set_ylabel("active latent units (of 10)")
    ax[1].set_title(r"active units: Var$_x$(E[z$_j$|x]) > 0.01")
    fig.tight_layout()
    path = out / "beta_tradeoff.png"
    fig.savefig(path, dpi=110)

    images = np.concatenate([x_test[:10]] + [r["recon"] for r in rows])   # (10 * (1 + len(betas)), 784)
    plotting.image_grid(images, test_set.image_shape, out / "beta_reconstructions.png", nrows=1 + len(betas),
                        title="test images, then reconstructions for beta = " + ", ".join(f"{b:g}" for b in betas))
    print(f"\nwrote {path} and {out / 'beta_reconstructions.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
