"""The ELBO of one datapoint, computed by hand term by term, beside ``model.elbo``.

What it teaches
---------------
Kingma & Welling 2013 define the evidence lower bound (eq. 2-3) and estimate it with fixed noise
(estimators A and B, eq. 6-7). This script takes a small VAE with a Bernoulli decoder, one binary
datapoint x and L noise draws eps_l, and recomputes with plain NumPy (no numpyvae ops):

    encoder      h = tanh(x W0 + b0),  mu = h W_mu + b_mu,  logvar = h W_lv + b_lv
    sample       z_l = mu + exp(logvar / 2) * eps_l                              (eq. 4)
    decoder      eta_l = tanh(z_l V0 + c0) V_eta + c_eta,  p_l = sigmoid(eta_l)
    likelihood   log p(x | z_l) = sum_d x_d log p_ld + (1 - x_d) log(1 - p_ld)  (appendix C.1)
    KL           1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)             (appendix B)
    estimator B  (1/L) sum_l log p(x | z_l) - KL                                 (eq. 7)
    estimator A  (1/L) sum_l [log p(x | z_l) + log p(z_l) - log q(z_l | x)]       (eq. 6)

and prints each against ``model.elbo(x, eps)``. With a 2-D latent space the integrals themselves can
be done on a grid, so it also checks eq. 1: log p(x) = KL(q(z|x) || p(z|x)) + ELBO, and shows that
log p(x) is above the ELBO. Derivations: docs/derivations.md#elbo and #sgvb.

Run
---
    python examples/01_elbo_by_hand.py            # prints everything, a few seconds
    python examples/01_elbo_by_hand.py --quick    # coarser grid for the integrals
"""
import _common  # noqa: F401  (puts the checkout on sys.path)

import numpy as np

import numpyvae as nv


def fmt(a, digits=4):
    return np.array2string(np.asarray(a), precision=digits, suppress_small=False, floatmode="fixed",
                           max_line_width=110)


def logsumexp(a):
    m = a.max()
    return m + np.log(np.exp(a - m).sum())


def main(argv=None):
    p = _common.parser(__doc__)
    p.add_argument("--samples", type=int, default=3, help="L, noise draws for the estimators")
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    D, H, Z, L = 8, 5, 2, args.samples
    # glorot initialisation gives weights of order one, so every term below is visibly non-zero
    model = nv.VAE(input_dim=D, hidden_sizes=(H,), latent_dim=Z, likelihood="bernoulli",
                   activation="tanh", estimator="analytic", dtype=np.float64, rng=rng, init="glorot")
    P = model.params
    x = np.array([[1, 0, 1, 1, 0, 0, 1, 0]], dtype=np.float64)        # (1, D): one datapoint
    eps = rng.standard_normal((L, 1, Z))                              # (L, 1, Z): fixed noise

    print(f"{model}\none datapoint x = {x[0].astype(int)}, L = {L} noise draws\n")

    # ---- encoder: q(z | x) = N(mu, diag(exp(logvar)))
    h = np.tanh(x @ P["enc.0.W"] + P["enc.0.b"])                      # (1, H)
    mu = h @ P["enc.mu.W"] + P["enc.mu.b"]                            # (1, Z)
    logvar = h @ P["enc.logvar.W"] + P["enc.logvar.b"]                # (1, Z)
    sigma = np.exp(0.5 * logvar)                                      # (1, Z)
    print("encoder q(z|x) = N(mu, diag(sigma^2))")
    print(f"  h      = tanh(x W0 + b0)       = {fmt(h[0])}")
    print(f"  mu     = h W_mu + b_mu         = {fmt(mu[0])}")
    print(f"  logvar = h W_lv + b_lv         = {fmt(logvar[0])}")
    print(f"  sigma  = exp(logvar / 2)       = {fmt(sigma[0])}\n")

    # ---- reparameterization (eq. 4) and decoder
    z = mu + sigma * eps                                              # (L, 1, Z)
    print("reparameterization z_l = mu + sigma * eps_l, then the decoder")
    loglik = np.empty(L)
    for l in range(L):
        hd = np.tanh(z[l] @ P["dec.0.W"] + P["dec.0.b"])              # (1, H)
        eta = hd @ P["dec.logits.W"] + P["dec.logits.b"]              # (1, D) logits
        prob = 1.0 / (1.0 + np.exp(-eta))                             # (1, D) Bernoulli means
        per_pixel = x * np.log(prob) + (1 - x) * np.log(1 - prob)     # (1, D)
        loglik[l] = per_pixel.sum()
        print(f"  l={l + 1}: eps = {fmt(eps[l, 0])}  z = {fmt(z[l, 0])}")
        print(f"       p = sigmoid(eta) = {fmt(prob[0], 3)}")
        print(f"       x_d log p_d + (1 - x_d) log(1 - p_d) = {fmt(per_pixel[0], 3)}")
        print(f"       log p(x | z_l) = sum over pixels = {loglik[l]:.6f}")
    recon = loglik.mean()
    print(f"  (1/L) sum_l log p(x | z_l) = {recon:.6f}\n")

    # ---- closed-form KL (appendix B)
    kl_terms = 0.5 * (mu ** 2 + sigma ** 2 - 1.0 - logvar)            # (1, Z)
    kl = kl_terms.sum()
    print("KL(q(z|x) || N(0, I)) = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - logvar_j)")
    print(f"  per latent dimension = {fmt(kl_terms[0])},  KL = {kl:.6f}\n")

    # ---- estimator B (eq. 7) against the library
    elbo_b = recon - kl
    lib_b = float(model.elbo(x, eps)[0])
    print("estimator B (eq. 7): (1/L) sum_l log p(x|z_l) - KL")
    print(f"  by hand     {elbo_b:.12f}")
    print(f"  model.elbo  {lib_b:.12f}      |difference| = {abs(elbo_b - lib_b):.1e}\n")

    # ---- estimator A (eq. 6): log p(z) - log q(z|x) per sample instead of the closed-form KL
    log_pz = -0.5 * (Z * np.log(2 * np.pi) + (z ** 2).sum(axis=-1))[:, 0]                     # (L,)
    log_qz = -0.5 * (Z * np.log(2 * np.pi) + logvar.sum() + (((z - mu) / sigma) ** 2).sum(axis=-1))[:, 0]
    elbo_a = (loglik + log_pz - log_qz).mean()
    model_a = nv.VAE(input_dim=D, hidden_sizes=(H,), latent_dim=Z, estimator="mc", init="glorot",
                     dtype=np.float64, rng=0)
    model_a.params = P                                                # the same weights
    lib_a = float(model_a.elbo(x, eps)[0])
    print("estimator A (eq. 6): (1/L) sum_l [log p(x|z_l) + log p(z_l) - log q(z_l|x)]")
    for l in range(L):
        print(f"  l={l + 1}: log p(z_l) = {log_pz[l]:9.5f}   log q(z_l|x) = {log_qz[l]:9.5f}   "
              f"log q - log p = {log_qz[l] - log_pz[l]:8.5f}")
    print(f"  Monte-Carlo KL = (1/L) sum_l (log q - log p) = {(log_qz - log_pz).mean():.6f}"
          f"   (closed form {kl:.6f})")
    print(f"  by hand     {elbo_a:.12f}")
    print(f"  model.elbo  {lib_a:.12f}      |difference| = {abs(elbo_a - lib_a):.1e}\n")

    # ---- eq. 1 on a grid: log p(x) = KL(q || p(z|x)) + ELBO, all three integrals done numerically
    n = 301 if args.quick else 801
    t = np.linspace(-7.0, 7.0, n)
    dz = (t[1] - t[0]) ** 2
    grid = np.stack(np.meshgrid(t, t, indexing="ij"), axis=-1).reshape(-1, Z)   # (n*n, Z)
    out = model.decode(grid)
    eta = out["logits"]                                                          # (n*n, D)
    log_px_z = (x * eta - np.logaddexp(0.0, eta)).sum(axis=1)                    # log p(x|z), stable form
    log_p_z = -0.5 * (Z * np.log(2 * np.pi) + (grid ** 2).sum(axis=1))           # log p(z)
    log_q_z = -0.5 * (Z * np.log(2 * np.pi) + logvar.sum() + (((grid - mu) / sigma) ** 2).sum(axis=1))
    log_joint = log_px_z + log_p_z                                               # log p(x, z)
    log_px = logsumexp(log_joint) + np.log(dz)                                   # log int p(x, z) dz
    q = np.exp(log_q_z) * dz                                                     # q(z|x) dz on the grid
    elbo_exact = np.sum(q * (log_joint - log_q_z))                               # eq. 2
    log_post = log_joint - log_px                                                # log p(z|x)
    kl_post = np.sum(q * (log_q_z - log_post))                                   # KL(q || p(z|x))
    recon_exact = np.sum(q * log_px_z)
    print(f"exact integrals on a {n} x {n} grid over [-7, 7]^2 (mass of q on the grid: {q.sum():.6f})")
    print(f"  log p(x)            = log int p(x|z) p(z) dz           = {log_px:.6f}")
    print(f"  ELBO (eq. 2)        = E_q[log p(x, z) - log q(z|x)]    = {elbo_exact:.6f}")
    print(f"  ELBO (eq. 3)        = E_q[log p(x|z)] - KL(q || p(z))  = {recon_exact - kl:.6f}")
    print(f"  KL(q || p(z|x))     = E_q[log q(z|x) - log p(z|x)]     = {kl_post:.6f}")
    print(f"  eq. 1: KL + ELBO    = {kl_post + elbo_exact:.6f}  (= log p(x); the gap log p(x) - ELBO is the KL)")
    print(f"  the estimates above, B = {elbo_b:.4f} and A = {elbo_a:.4f}, are {L}-sample estimates of "
          f"ELBO = {elbo_exact:.4f}")
    n_mc = 2000 if args.quick else 20000
    big = rng.standard_normal((n_mc, 1, Z))
    for name, m in (("B", model), ("A", model_a)):
        estimate = float(m.elbo(x, big)[0])                              # L = n_mc draws for one x
        # the estimator with L = n_mc is the mean of n_mc one-sample estimates: report its standard error
        per_sample = m.elbo(np.repeat(x, n_mc, axis=0), big.reshape(1, n_mc, Z))
        print(f"  estimator {name} with L = {n_mc}: {estimate:.4f} "
              f"+- {per_sample.std() / np.sqrt(n_mc):.4f} (standard error)")

    ok = abs(elbo_b - lib_b) < 1e-10 and abs(elbo_a - lib_a) < 1e-10 and elbo_exact <= log_px
    print("\nby-hand values match the library" if ok else "\nMISMATCH between by-hand values and the library")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
