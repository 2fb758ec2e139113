"""Gradient-checking a whole VAE with ``numpyvae.gradcheck``, and what a wrong gradient looks like.

What it teaches
---------------
``numpyvae.gradcheck.check_model`` holds the noise eps fixed, so the loss is a deterministic function
of the parameters, and compares every parameter's hand-written gradient with central differences
in float64 (per entry, and along one random direction for the whole tensor;
docs/derivations.md#gradcheck). The script

1. checks a small VAE for every likelihood and both estimators (all pass, errors ~1e-9 or below);
2. plants two bugs, each in a patched copy of one backward function, and shows the report catching
   them, and *where*: the failing rows are exactly the parameters downstream of the bug in the
   backward pass (upstream in the forward):
     - the KL backward forgets the 1/2 in dKL/dlogvar = (exp(logvar) - 1) / 2
       -> enc.logvar.* and the encoder trunk enc.0.* fail; the decoder and enc.mu.* pass;
     - the linear backward averages the bias gradient over the batch instead of summing
       -> every *.b row fails, no W row does;
3. plants a bug that a gradient check cannot see: a sampler that uses the variance where the
   standard deviation belongs, z = mu + exp(logvar) * eps, with a backward that matches it. The
   gradient is right for the wrong objective, so the check passes; a semantic test, the closed-form
   KL against a Monte-Carlo KL drawn with the model's own sampler, catches it.

Every patch is undone when its ``with`` block ends; numpyvae itself is never modified.

Run
---
    python examples/04_gradcheck_a_vae.py
    python examples/04_gradcheck_a_vae.py --quick     # fewer configurations in step 1
"""
import _common

from unittest import mock

import numpy as np

import numpyvae as nv
import numpyvae.nn.layers
import numpyvae.models.vae
from numpyvae.gradcheck import check_model
from numpyvae.ops.gaussian import kl_standard_normal_forward, log_normal_forward, log_standard_normal_forward
from numpyvae.ops.linear import linear_backward, linear_skip_zero_columns_backward

TOL = 1e-6


def small_vae(likelihood="bernoulli", estimator="analytic", seed=0):
    """A float64 VAE 12-8-3 with weights of order one (glorot), so every term is active."""
    return nv.VAE(input_dim=12, hidden_sizes=(8,), latent_dim=3, likelihood=likelihood, activation="tanh",
                  estimator=estimator, dtype=np.float64, rng=np.random.default_rng(seed), init="glorot")


# ---------------------------------------------------------------- the planted bugs
def kl_backward_missing_half(dkl, cache):
    """BUG: dKL/dlogvar written as exp(logvar) - 1, without the 1/2."""
    mu, var = cache
    return dkl[..., None] * mu, dkl[..., None] * (var - 1.0)


def linear_backward_mean_bias(dy, cache, **kwargs):
    """BUG: db = mean over the batch instead of the sum. (``kwargs``: the layer's ``out`` arrays and
    ``need_dx``, passed on.)"""
    dx, dW, db = linear_backward(dy, cache, **kwargs)
    return dx, dW, dy.mean(axis=0)


def skip_zero_columns_backward_mean_bias(dy, cache, **kwargs):
    """The same BUG in the data layer's kernel (it skips the all-zero input columns)."""
    dx, dW, db = linear_skip_zero_columns_backward(dy, cache, **kwargs)
    return dx, dW, dy.mean(axis=0)


def reparameterize_forward_variance(mu, logvar, eps):
    """BUG (invisible to a gradient check): scales the noise by the variance exp(logvar), not by
    the standard deviation exp(logvar / 2)."""
    var = np.exp(logvar)                                              # (B, Z)
    return mu + var * eps, (var, eps)


def reparameterize_backward_variance(dz, cache):
    """The exact gradient of the buggy sampler above: dz/dlogvar = eps * exp(logvar)."""
    var, eps = cache
    return dz.sum(axis=0), (dz * eps).sum(axis=0) * var


def kl_closed_vs_monte_carlo(model, x, rng, n):
    """Closed-form KL(q || N(0, I)) against (1/n) sum_l [log q(z_l) - log p(z_l)], z_l drawn with the
    sampler the model uses (``numpyvae.models.vae.reparameterize_forward``, patched or not).

    Returns (closed (B,), monte carlo (B,), standard error (B,)).
    """
    mu, logvar = model.encode(x)                                      # (B, Z)
    eps = rng.standard_normal((n, *mu.shape))                         # (n, B, Z)
    z, _ = numpyvae.models.vae.reparameterize_forward(mu, logvar, eps)       # the model's own sampler
    logq, _ = log_normal_forward(z, mu, logvar)                       # (n, B)
    logp, _ = log_standard_normal_forward(z)                          # (n, B)
    d = logq - logp
    closed, _ = kl_standard_normal_forward(mu, logvar)
    return closed, d.mean(axis=0), d.std(axis=0) / np.sqrt(n)


def main(argv=None):
    p = _common.parser(__doc__)
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    x = rng.uniform(0, 1, size=(5, 12))                               # (B, D) grey values in [0, 1]
    eps = rng.standard_normal((2, 5, 3))                              # (L, B, Z) fixed noise

    # ---- 1. the real gradients
    model = small_vae()
    print(f"1. {model}, batch 5, L = 2, fixed noise\n")
    report = check_model(model, x, eps, rng=0)
    print(report.table(TOL))
    configs = [(lik, est) for lik in nv.LIKELIHOODS for est in ("analytic", "mc")]
    if args.quick:
        configs = configs[::3]
    print("\n   every likelihood and estimator:")
    all_ok = report.passed(TOL)
    for lik, est in configs:
        r = check_model(small_vae(lik, est), x, eps, rng=0)
        all_ok &= r.passed(TOL)
        print(f"   {lik:<17} {est:<9} max relative error {r.max_rel_err:.1e}  {'ok' if r.passed(TOL) else 'FAILED'}")

    # ---- 2. planted bugs that the check catches
    print("\n2a. BUG: kl_standard_normal_backward without the 1/2 in dKL/dlogvar")
    with mock.patch.object(numpyvae.models.vae, "kl_standard_normal_backward", kl_backward_missing_half):
        bug_kl = check_model(small_vae(), x, eps, rng=0)
    print(bug_kl.table(TOL))
    print("   failing:", ", ".join(r.name for r in bug_kl.failures(TOL)))

    print("\n2b. BUG: linear_backward returns the mean of dy over the batch as db, not the sum")
    with mock.patch.object(numpyvae.nn.layers, "linear_backward", linear_backward_mean_bias), \
            mock.patch.object(numpyvae.nn.layers, "linear_skip_zero_columns_backward",
                              skip_zero_columns_backward_mean_bias):
        bug_b = check_model(small_vae(), x, eps, rng=0)
    print(bug_b.table(TOL))
    print("   failing:", ", ".join(r.name for r in bug_b.failures(TOL)))
    print("   the relative error is 1 - 1/N: the mean divides the true sum by the number of rows N the layer saw,")
    print(f"   N = B = {x.shape[0]} for the encoder, N = L * B = {eps.shape[0] * x.shape[0]} for the decoder "
          "(it sees every sample)")

    # ---- 3. a bug that no gradient check can see
    print("\n3. BUG: the sampler uses the variance, z = mu + exp(logvar) * eps, with a matching backward")
    patches = (mock.patch.object(numpyvae.models.vae, "reparameterize_forward", reparameterize_forward_variance),
               mock.patch.object(numpyvae.models.vae, "reparameterize_backward", reparameterize_backward_variance))
    n = 20000 if args.quick else 200000
    bug_model = small_vae()
    with patches[0], patches[1]:
        bug_var = check_model(bug_model, x, eps, rng=0)
        closed_bug, mc_bug, se_bug = kl_closed_vs_monte_carlo(bug_model, x, np.random.default_rng(1), n)
    closed, mc, se = kl_closed_vs_monte_carlo(small_vae(), x, np.random.default_rng(1), n)
    print(f"   gradient check: max relative error {bug_var.max_rel_err:.1e} -> "
          f"{'passes: the gradient is right, for the wrong objective' if bug_var.passed(TOL) else 'fails'}")
    print(f"   semantic check, closed-form KL vs Monte-Carlo KL from the model's sampler ({n} draws):")
    print(f"   {'':>9} {'closed form':>12} {'Monte Carlo':>12} {'+- s.e.':>8} {'z-score':>8}")
    zmax_ok = zmax_bug = 0.0
    for b in range(x.shape[0]):
        z_ok = (mc[b] - closed[b]) / se[b]
        z_bug = (mc_bug[b] - closed_bug[b]) / se_bug[b]
        zmax_ok, zmax_bug = max(zmax_ok, abs(z_ok)), max(zmax_bug, abs(z_bug))
        print(f"   x_{b} ok  {closed[b]:>12.4f} {mc[b]:>12.4f} {se[b]:>8.4f} {z_ok:>8.1f}")
        print(f"   x_{b} bug {closed_bug[b]:>12.4f} {mc_bug[b]:>12.4f} {se_bug[b]:>8.4f} {z_bug:>8.1f}")
    print(f"   largest |z-score|: {zmax_ok:.1f} with the right sampler, {zmax_bug:.1f} with the buggy one")

    caught = (not bug_kl.passed(TOL)) and (not bug_b.passed(TOL)) and bug_var.passed(TOL)
    expected_rows = {r.name for r in bug_b.failures(TOL)} == {k for k in model.params if k.endswith(".b")}
    ok = all_ok and caught and expected_rows and zmax_ok < 5 and zmax_bug > 5
    print("\nas expected: real gradients pass, planted gradient bugs fail, the sampler bug needs a semantic test"
          if ok else "\nUNEXPECTED RESULT (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
