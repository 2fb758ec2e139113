"""Marginal-likelihood estimators against the exact log p(x) of a linear Gaussian model (PPCA)."""
import numpy as np
import pytest
from scipy.stats import multivariate_normal

import numpyvae as nv
from numpyvae.evaluation.linear_gaussian import PPCA, linear_gaussian_logpdf
from numpyvae.evaluation.marginal_likelihood import fit_gaussian, gaussian_logpdf, hmc_marginal_likelihood
from _linear_vae import make_data, ppca_vae


@pytest.fixture(scope="module")
def ppca_setup():
    rng = np.random.default_rng(0)
    x = make_data(rng)
    model, (W, mean, sigma2) = ppca_vae(x, 2)
    exact = linear_gaussian_logpdf(x, mean, W, sigma2)
    return x, model, exact, (W, mean, sigma2)


def test_the_vae_is_the_ppca_model(ppca_setup):
    x, model, exact, (W, mean, sigma2) = ppca_setup
    out = model.decode(np.zeros((1, 2)))
    np.testing.assert_allclose(out["mean"][0], mean)
    np.testing.assert_allclose(out["logvar"][0], np.log(sigma2))
    # with the exact posterior as q every importance weight equals p(x): log w = log p(x) for any z
    logw = model.log_weights(x[:20], rng=1, n_samples=3)                      # (3, 20)
    np.testing.assert_allclose(logw, np.broadcast_to(exact[:20], logw.shape), rtol=0, atol=1e-9)
    # and the bound (estimator B) is tight in expectation
    np.testing.assert_allclose(model.elbo(x[:20], rng=1, n_samples=4000), exact[:20], atol=0.05)


def test_importance_sampling_with_the_exact_posterior_is_exact(ppca_setup):
    x, model, exact, _ = ppca_setup
    est, stderr = nv.importance_sampled_log_px(model, x[:50], n_samples=10, rng=0)
    np.testing.assert_allclose(est, exact[:50], atol=1e-9)
    assert stderr.max() < 1e-6


def test_importance_sampling_converges_to_the_exact_value_with_a_poor_proposal(ppca_setup):
    x, model, exact, _ = ppca_setup
    model = _perturbed_copy(model)
    elbo = model.elbo(x[:30], rng=0, n_samples=200)
    assert np.all(elbo < exact[:30] - 0.05)                                   # a visibly loose proposal
    est, stderr = nv.importance_sampled_log_px(model, x[:30], n_samples=20000, rng=1)
    assert np.all(np.abs(est - exact[:30]) < 5 * stderr + 2e-3), np.abs(est - exact[:30]).max()
    assert np.mean(est) > np.mean(elbo)


def test_importance_sampling_does_not_depend_on_the_chunk_size(ppca_setup):
    # the noise is drawn sample-major, so any chunking draws the same numbers: the same estimate
    x, model, _, _ = ppca_setup
    model = _perturbed_copy(model)
    ref, ref_se = nv.importance_sampled_log_px(model, x[:30], n_samples=60, rng=4, chunk_size=60, batch_size=7)
    for chunk in (1, 7, None):
        est, se = nv.importance_sampled_log_px(model, x[:30], n_samples=60, rng=4, chunk_size=chunk, batch_size=7)
        np.testing.assert_allclose(est, ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(se, ref_se, rtol=1e-9, atol=1e-15)


def _perturbed_copy(model):
    m = nv.VAE(model.input_dim, (), model.latent_dim, likelihood=model.likelihood, dtype=np.float64, rng=0)
    for k, v in model.params.items():
        m.params[k][...] = v
    m.params["enc.logvar.b"] += 0.8                                            # too wide
    m.params["enc.mu.b"] += 0.3                                                # and shifted
    return m


def test_appendix_d_estimator_recovers_the_exact_log_likelihood(ppca_setup):
    x, model, exact, _ = ppca_setup
    start = _perturbed_copy(model)          # chains start off the posterior mean; the estimator ignores q
    est, details = hmc_marginal_likelihood(start, x[:40], rng=2, n_samples=200, n_burnin=60,
                                           n_leapfrog=10, return_details=True)
    assert 0.8 < details["accept_rate"] < 0.99
    np.testing.assert_allclose(est, exact[:40], atol=0.25)                   # per point: 200 correlated samples
    assert abs(np.mean(est - exact[:40])) < 0.03                              # no bias on average


def test_appendix_d_estimator_on_a_trained_ppca_model_matches_score_samples():
    rng = np.random.default_rng(5)
    x = make_data(rng, n=300, d=5, k=1)
    ppca = PPCA(1, method="closed_form").fit(x)
    model, _ = ppca_vae(x, 1, likelihood="gaussian_fixed", exact_encoder=False)
    est = hmc_marginal_likelihood(model, x[:30], rng=0, n_samples=150, n_burnin=60)
    np.testing.assert_allclose(est, ppca.score_samples(x[:30]), atol=0.2)
    assert abs(np.mean(est - ppca.score_samples(x[:30]))) < 0.03


def test_gaussian_fit_and_density_against_scipy():
    rng = np.random.default_rng(3)
    cov = np.array([[1.0, 0.6], [0.6, 2.0]])
    s = rng.multivariate_normal([1.0, -1.0], cov, size=(4000, 3))             # (L, B, Z)
    mean, chol = fit_gaussian(s)
    np.testing.assert_allclose(chol[1] @ chol[1].T, cov, atol=0.15)
    z = rng.standard_normal((5, 3, 2))
    ours = gaussian_logpdf(z, mean, chol)
    for b in range(3):
        ref = multivariate_normal(mean[b], chol[b] @ chol[b].T).logpdf(z[:, b])
        np.testing.assert_allclose(ours[:, b], ref, rtol=1e-10)


def test_estimator_rejects_bad_settings(ppca_setup):
    x, model, _, _ = ppca_setup
    with pytest.raises(ValueError, match="n_samples"):
        hmc_marginal_likelihood(model, x[:2], n_samples=1)
    with pytest.raises(ValueError, match="shrink"):
        hmc_marginal_likelihood(model, x[:2], shrink=0)
    with pytest.raises(ValueError, match="at least 2 samples"):
        fit_gaussian(np.zeros((1, 2, 2)))


def test_linear_vae_training_approaches_the_ppca_optimum():
    """A VAE with a linear Gaussian decoder (fixed sigma = PPCA's ML sigma) trained by SGVB reaches the
    PPCA maximum likelihood: its exact log-likelihood and its ELBO both come within a few hundredths
    of a nat of the optimum (the optimal diagonal q is the exact posterior here)."""
    rng = np.random.default_rng(1)
    x = make_data(rng, n=300, d=5, k=2)
    ppca = PPCA(2, method="closed_form").fit(x)
    optimum = ppca.score(x)
    model = nv.VAE(5, (), 2, likelihood="gaussian_fixed", sigma=float(np.sqrt(ppca.noise_variance_)),
                   dtype=np.float64, rng=0, init="glorot")
    opt = nv.Adam(lr=0.02)
    train_rng = np.random.default_rng(2)
    for t in range(2500):
        if t == 2000:
            opt.lr = 0.002
        _, grads = model.loss_and_grads(x, rng=train_rng, n_samples=4)
        opt.step(model.params, grads)
    W = model.params["dec.mean.W"].T
    loglik = linear_gaussian_logpdf(x, model.params["dec.mean.b"], W, ppca.noise_variance_).mean()
    elbo = model.elbo(x, rng=3, n_samples=200).mean()
    assert loglik <= optimum + 1e-9
    assert optimum - loglik < 0.02, (optimum, loglik)
    assert elbo <= loglik + 0.01
    assert loglik - elbo < 0.05, (loglik, elbo)
