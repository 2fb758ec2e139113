"""Probabilistic PCA fitted by EM against a linear VAE, scored with the exact log-likelihood.

What it teaches
---------------
A VAE with no hidden layers and a Gaussian decoder of fixed variance is a linear Gaussian model,

    z ~ N(0, I_K),   x | z ~ N(z W + b, sigma^2 I)      =>      x ~ N(b, W^T W + sigma^2 I),

i.e. probabilistic PCA (Tipping & Bishop 1999), whose log p(x) is exact
(``numpyvae.evaluation.linear_gaussian.linear_gaussian_logpdf``). Its posterior p(z | x) is Gaussian with a
covariance that does not depend on x, and at the maximum-likelihood solution that covariance is
diagonal, so the VAE's diagonal-Gaussian encoder can match it exactly: the ELBO becomes tight and
the linear VAE recovers PPCA (Lucas et al. 2019, "Don't Blame the ELBO!"). The script

1. draws data from a PPCA model with a known 3-D subspace,
2. fits ``numpyvae.PPCA`` by EM (and in closed form) and prints the exact mean log-likelihood,
3. trains a linear VAE (``likelihood="gaussian_fixed"``, sigma fixed at PPCA's estimate) with
   Adam, tracking its ELBO and the exact log p(x) of its decoder,
4. compares the two: log-likelihoods, the importance-sampled log p(x) of the VAE against the exact
   one (docs/derivations.md#log-px), and the angles between the two learned subspaces.

Writes ``ppca_vs_linear_vae.png`` into ``--out``.

Run
---
    python examples/09_ppca_vs_linear_vae.py
    python examples/09_ppca_vs_linear_vae.py --quick
"""
import _common

import numpy as np
from scipy.linalg import subspace_angles

import numpyvae as nv
from numpyvae.evaluation.linear_gaussian import linear_gaussian_logpdf


def make_model(rng, d=20, k=3):
    """Loadings A (k, d) of a k-dimensional subspace of R^d with decreasing scales, and a mean (d,)."""
    A = rng.standard_normal((k, d)) * np.linspace(2.0, 1.0, k)[:, None]  # (k, d)
    return A, rng.uniform(-1, 1, size=d)


def draw(rng, A, m, n, noise=0.5):
    """n rows x = z A + m + noise * e, z and e standard normal."""
    z = rng.standard_normal((n, A.shape[0]))                          # (n, k)
    return z @ A + m + noise * rng.standard_normal((n, A.shape[1]))   # (n, d)


def vae_exact_loglik(model, x):
    """Exact log p(x) per row for the linear-Gaussian decoder of a VAE with hidden_sizes=()."""
    W = model.params["dec.mean.W"]                                    # (K, D): mean = z W + b
    b = model.params["dec.mean.b"]                                    # (D,)
    return linear_gaussian_logpdf(x, b, W.T, model.sigma ** 2)        # the module's W is (D, K)


def main(argv=None):
    p = _common.parser(__doc__)
    args = p.parse_args(argv)
    out = _common.out_dir(args)
    rng = np.random.default_rng(args.seed)
    K = 3
    A, m = make_model(rng, k=K)
    x = draw(rng, A, m, 2000)                                         # training set
    x_test = draw(rng, A, m, 2000)                                    # held out, same model
    N, D = x.shape

    # ---- PPCA: EM and closed form
    em = nv.PPCA(K, method="em", rng=args.seed, tol=1e-9, max_iter=5000).fit(x)
    cf = nv.PPCA(K, method="closed_form").fit(x)
    print(f"data: N = {N} (and {len(x_test)} held out), D = {D}, a {K}-D subspace plus noise\n")
    print("probabilistic PCA (maximum likelihood)")
    print(f"  EM:          {em.n_iter_:4d} iterations, mean log p(x) train {em.score(x):.4f}, "
          f"test {em.score(x_test):.4f}, sigma^2 = {em.noise_variance_:.4f}")
    print(f"  closed form:                  mean log p(x) train {cf.score(x):.4f}, "
          f"test {cf.score(x_test):.4f}, sigma^2 = {cf.noise_variance_:.4f}")

    # ---- the linear VAE, with sigma fixed at the PPCA estimate
    sigma = float(np.sqrt(em.noise_variance_))
    model = nv.VAE(D, hidden_sizes=(), latent_dim=K, likelihood="gaussian_fixed", sigma=sigma,
                   estimator="analytic", dtype=np.float64, rng=rng, init="glorot")
    opt = nv.Adam(lr=0.1)
    steps = 2500 if args.quick else 6000
    batch = 500
    record = np.unique(np.geomspace(1, steps, 40).astype(int))
    hist_step, hist_elbo, hist_exact = [], [], []
    eps_eval = rng.standard_normal((1, N, K))                         # fixed noise for the plotted ELBO
    for step in range(1, steps + 1):
        if step in (int(0.7 * steps), int(0.9 * steps)):
            opt.lr /= 10                                              # smaller steps to settle
        idx = rng.integers(0, N, size=batch)
        _, grads = model.loss_and_grads(x[idx], rng=rng)
        opt.step(model.params, grads)
        if step in record:
            hist_step.append(step)
            hist_elbo.append(float(model.elbo(x, eps_eval).mean()))
            hist_exact.append(float(vae_exact_loglik(model, x).mean()))

    elbo = float(model.elbo(x, rng=rng, n_samples=100).mean())
    exact = vae_exact_loglik(model, x)
    n_is = 200 if args.quick else 1000
    is_est, is_se = nv.importance_sampled_log_px(model, x[:200], n_samples=n_is, rng=rng)
    angles = np.degrees(subspace_angles(model.params["dec.mean.W"].T, em.W_))
    true_angles = np.degrees(subspace_angles(A.T, em.W_))
    print(f"\nlinear VAE {D}-{K}, Gaussian decoder with sigma fixed at {sigma:.4f}, {steps} Adam steps")
    print(f"  ELBO (100 samples)              train {elbo:.4f}")
    print(f"  exact log p(x) of its decoder    train {exact.mean():.4f}, "
          f"test {vae_exact_loglik(model, x_test).mean():.4f}")
    print(f"  gap log p(x) - ELBO             {exact.mean() - elbo:.4f} nats (0 when q(z|x) is the exact posterior)")
    print(f"  importance-sampled log p(x), first 200 points, K = {n_is}: "
          f"{is_est.mean():.4f} vs exact {exact[:200].mean():.4f} "
          f"(mean standard error {is_se.mean():.4f})")
    print(f"  PPCA - VAE exact log-likelihood: {em.score(x) - exact.mean():.4f} nats per datapoint")
    print(f"  principal angles between the VAE and PPCA subspaces: {np.round(angles, 2)} degrees")
    print(f"  (PPCA against the true subspace: {np.round(true_angles, 2)} degrees)")

    # ---- figure
    plt = _common.pyplot()
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    ax[0].loglog(np.arange(1, em.n_iter_ + 1), np.maximum(cf.score(x) - em.loglik_curve_, 1e-12), "C0-")
    ax[0].set_xlabel("EM iteration")
    ax[0].set_ylabel("nats per datapoint below the closed-form maximum")
    ax[0].set_title("PPCA by EM (monotone, linear convergence)")
    ml = em.score(x)
    ax[1].loglog(hist_step, ml - np.array(hist_exact), "C2-", label="exact log p(x) of the VAE's decoder")
    ax[1].loglog(hist_step, ml - np.array(hist_elbo), "C1-", label="ELBO (fixed noise)")
    ax[1].set_xlabel("Adam step")
    ax[1].set_ylabel("nats per datapoint below the PPCA maximum")
    ax[1].set_title("linear VAE converging to PPCA")
    ax[1].legend(fontsize=8)
    ppca_ll = em.score_samples(x)
    ax[2].plot(ppca_ll, exact, ".", ms=2, alpha=0.5)
    lims = [min(ppca_ll.min(), exact.min()), max(ppca_ll.max(), exact.max())]
    ax[2].plot(lims, lims, "k-", lw=0.8)
    ax[2].set_xlabel("log p(x) under PPCA")
    ax[2].set_ylabel("log p(x) under the linear VAE (exact)")
    ax[2].set_title("per datapoint")
    fig.tight_layout()
    path = out / "ppca_vs_linear_vae.png"
    fig.savefig(path, dpi=110)
    print(f"\nwrote {path}")
    converged = abs(em.score(x) - exact.mean()) < 0.1 and abs(exact.mean() - elbo) < 0.1
    print("the linear VAE matches PPCA to within 0.1 nats" if converged else
          "the linear VAE is still short of the PPCA solution" + (" (quick mode: few steps)" if args.quick else ""))
    return 0 if converged or args.quick else 1

if __name__ == "__main__":
    raise SystemExit(main())
