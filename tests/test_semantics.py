"""What the numbers mean: densities against scipy.stats, the KL against Monte Carlo, estimators
against each other, and the ELBO against an exact log p(x)."""
import numpy as np
import pytest
from scipy import stats
from scipy.special import expit

import numpyvae as nv
from numpyvae import ops


def test_bernoulli_loglik_matches_scipy(rng):
    logits = 4 * rng.standard_normal((7, 9))
    x = (rng.uniform(size=(7, 9)) > 0.5).astype(float)
    ours, _ = ops.bernoulli_loglik_forward(x, logits)
    ref = stats.bernoulli.logpmf(x, expit(logits)).sum(axis=1)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_bernoulli_loglik_grey_values_are_negative_cross_entropy(rng):
    logits = rng.standard_normal((3, 5))
    x = rng.uniform(size=(3, 5))
    p = expit(logits)
    ours, _ = ops.bernoulli_loglik_forward(x, logits)
    np.testing.assert_allclose(ours, (x * np.log(p) + (1 - x) * np.log1p(-p)).sum(1), rtol=1e-12)


def test_gaussian_loglik_matches_scipy(rng):
    mean, logvar = rng.standard_normal((2, 6, 4))
    x = rng.standard_normal((6, 4))
    ours, _ = ops.gaussian_loglik_forward(x, mean, logvar)
    ref = stats.norm.logpdf(x, loc=mean, scale=np.exp(0.5 * logvar)).sum(axis=1)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_log_normal_matches_scipy_multivariate(rng):
    mu = rng.standard_normal(3)
    logvar = rng.standard_normal(3)
    z = rng.standard_normal((5, 3))
    ours, _ = ops.log_normal_forward(z, mu, logvar)
    ref = stats.multivariate_normal(mu, np.diag(np.exp(logvar))).logpdf(z)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    std, _ = ops.log_standard_normal_forward(z)
    np.testing.assert_allclose(std, stats.multivariate_normal(np.zeros(3), np.eye(3)).logpdf(z), rtol=1e-12)


def test_reparameterized_samples_have_the_right_moments(rng):
    mu = np.array([[0.5, -2.0]])
    logvar = np.array([[np.log(0.25), np.log(4.0)]])
    z, _ = ops.reparameterize_forward(mu, logvar, rng.standard_normal((200_000, 1, 2)))
    np.testing.assert_allclose(z.mean(axis=0), mu, atol=0.02)
    np.testing.assert_allclose(z.var(axis=0), np.exp(logvar), rtol=0.02)


def test_closed_form_kl_matches_monte_carlo_with_our_sampler(rng):
    mu = rng.standard_normal((4, 3))
    logvar = 0.5 * rng.standard_normal((4, 3))
    kl, _ = ops.kl_standard_normal_forward(mu, logvar)
    eps = rng.standard_normal((100_000, 4, 3))
    z, _ = ops.reparameterize_forward(mu, logvar, eps)
    logq, _ = ops.log_normal_forward(z, mu, logvar)
    logp, _ = ops.log_standard_normal_forward(z)
    mc = logq - logp                                                  # (S, B)
    se = mc.std(axis=0) / np.sqrt(mc.shape[0])
    assert np.all(np.abs(mc.mean(axis=0) - kl) < 4 * se + 1e-12), (mc.mean(0), kl, se)


def test_estimators_a_and_b_agree_in_expectation(rng):
    kwargs = dict(input_dim=6, hidden_sizes=(5,), latent_dim=3, likelihood="gaussian", rng=3, init="glorot")
    model_a, model_b = nv.VAE(estimator="mc", **kwargs), nv.VAE(estimator="analytic", **kwargs)
    x = rng.uniform(size=(5, 6))
    eps = rng.standard_normal((50_000, 5, 3))
    a = model_a.log_weights(x, eps)                                   # per-sample estimator A terms
    elbo_a, elbo_b = a.mean(axis=0), model_b.elbo(x, eps)
    se = a.std(axis=0) / np.sqrt(a.shape[0])
    assert np.all(np.abs(elbo_a - elbo_b) < 4 * se), (elbo_a, elbo_b, se)
    np.testing.assert_allclose(model_a.elbo(x, eps), elbo_a, rtol=1e-10)


def _exact_log_px_1d(model, x):
    """log p(x) = log int N(z; 0, 1) p(x|z) dz for a 1-D latent, by a fine trapezoid rule."""
    grid = np.linspace(-12, 12, 24_001)
    out = model.decode(grid[:, None, None])                           # each (G, 1, D)
    loglik, _ = model.decoder.log_prob_forward(x, out)                # (G, B)
    log_integrand = loglik + stats.norm.logpdf(grid)[:, None]
    dz = grid[1] - grid[0]
    return ops.logsumexp(log_integrand, axis=0) + np.log(dz)


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_elbo_is_below_an_exact_log_px_and_importance_sampling_converges_to_it(likelihood, rng):
    model = nv.VAE(4, (6,), 1, likelihood=likelihood, rng=7, init="glorot")
    x = (rng.uniform(size=(3, 4)) > 0.5).astype(float)
    exact = _exact_log_px_1d(model, x)
    elbo = model.elbo(x, rng=rng, n_samples=20_000)
    assert np.all(elbo < exact)
    is_est, stderr = nv.importance_sampled_log_px(model, x, n_samples=20_000, rng=rng)
    assert np.all(np.abs(is_est - exact) < 4 * stderr + 1e-3), (is_est, exact, stderr)
    k1, _ = nv.importance_sampled_log_px(model, x, n_samples=1, rng=rng)
    assert np.all(is_est > elbo - 1e-9)
    assert np.isfinite(k1).all()


def test_identical_seeds_give_identical_results():
    def run(seed):
        model = nv.VAE(10, (8,), 3, rng=seed)
        x = np.random.default_rng(0).uniform(size=(6, 10))
        opt = nv.Adam(lr=1e-2)
        losses = []
        rng = np.random.default_rng(seed)
        for _ in range(5):
            loss, grads = model.loss_and_grads(x, rng=rng, n_samples=2)
            opt.step(model.params, grads)
            losses.append(loss)
        return losses, model.params

    la, pa = run(4)
    lb, pb = run(4)
    lc, _ = run(5)
    assert la == lb
    assert all(np.array_equal(pa[k], pb[k]) for k in pa)
    assert la != lc


def test_float32_model_stays_float32(rng):
    model = nv.VAE(8, (6,), 2, dtype=np.float32, rng=rng)
    loss, grads = model.loss_and_grads(rng.uniform(size=(4, 8)), rng=rng)
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert all(g.dtype == np.float32 for g in grads.values())
    assert model.elbo(rng.uniform(size=(4, 8)), rng=rng).dtype == np.float32


def test_float32_and_float64_agree(rng):
    m64 = nv.VAE(20, (16,), 4, rng=1, init="glorot")
    m32 = nv.VAE(20, (16,), 4, rng=1, init="glorot", dtype=np.float32)
    x = rng.uniform(size=(8, 20))
    eps = rng.standard_normal((2, 8, 4))
    l64, g64 = m64.loss_and_grads(x, eps)
    l32, g32 = m32.loss_and_grads(x, eps)
    assert abs(l64 - l32) < 1e-4 * abs(l64)
    for k in g64:
        np.testing.assert_allclose(g32[k], g64[k], rtol=1e-3, atol=1e-4 * np.abs(g64[k]).max())


def test_decode_returns_the_documented_dicts(rng):
    z = rng.standard_normal((5, 2))
    assert set(nv.VAE(6, (4,), 2, likelihood="bernoulli", rng=0).decode(z)) == {"logits"}
    out = nv.VAE(6, (4,), 2, likelihood="gaussian_fixed", sigma=0.5, rng=0).decode(z)
    assert out["mean"].shape == out["logvar"].shape == (5, 6)
    np.testing.assert_allclose(out["logvar"], 2 * np.log(0.5))
    out = nv.VAE(6, (4,), 2, likelihood="gaussian_sigmoid", rng=0).decode(z)
    assert np.all((out["mean"] > 0) & (out["mean"] < 1))


def test_beta_scales_only_the_kl(rng):
    kw = dict(input_dim=6, hidden_sizes=(5,), latent_dim=2, rng=2, init="glorot")
    x = rng.uniform(size=(4, 6))
    eps = rng.standard_normal((1, 4, 2))
    t1 = nv.VAE(beta=1.0, **kw).elbo_terms(x, eps)
    t3 = nv.VAE(beta=3.0, **kw).elbo_terms(x, eps)
    np.testing.assert_allclose(t1["loglik"], t3["loglik"])
    np.testing.assert_allclose(t3["elbo"], t3["loglik"] - 3 * t3["kl"])
    assert np.all(t1["kl"] >= 0)


def test_training_raises_the_elbo_on_synthetic_data():
    rng = np.random.default_rng(0)
    protos = (rng.uniform(size=(4, 30)) > 0.5).astype(float)
    x = protos[rng.integers(0, 4, 400)]
    model = nv.VAE(30, (20,), 2, rng=0, init="glorot")
    opt = nv.Adam(lr=3e-3)
    start = model.elbo(x, rng=1).mean()
    for step in range(300):
        batch = x[rng.integers(0, 400, 50)]
        _, grads = model.loss_and_grads(batch, rng=rng)
        opt.step(model.params, grads)
    end = model.elbo(x, rng=1).mean()
    assert end > start + 5, (start, end)
