"""Tests for numpyvae.evaluation.linear_gaussian: exact densities, posteriors and EM for PPCA / factor analysis.

References are computed independently of the code under test: scipy.stats for densities, dense
D x D Gaussian conditioning for posteriors, and the Tipping & Bishop eigenvalue formula for the
optimal PPCA log-likelihood.
"""
import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from numpyvae.evaluation.linear_gaussian import (
    PPCA,
    FactorAnalysis,
    linear_gaussian_logpdf,
    linear_gaussian_posterior,
    ppca_closed_form,
)


def make_data(n, D, K, noise, seed, scale=0.8):
    """Rows drawn from a known linear Gaussian model; noise is a scalar or a (D,) vector."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((D, K)) * scale
    mean = rng.standard_normal(D)
    X = rng.standard_normal((n, K)) @ W.T + mean + np.sqrt(noise) * rng.standard_normal((n, D))
    return X, W, mean


def ppca_optimal_loglik(X, K):
    """Tipping & Bishop (1999) eq. 4 at the ML solution, from the eigenvalues of the sample covariance."""
    N, D = X.shape
    lam = np.sort(np.linalg.eigvalsh(np.cov(X.T, bias=True)))[::-1]
    sigma2 = lam[K:].mean()
    return -0.5 * (D * np.log(2 * np.pi) + np.sum(np.log(lam[:K])) + (D - K) * np.log(sigma2) + D)


def dense_posterior(X, mean, W, psi):
    """p(z | x) by conditioning the joint Gaussian of (z, x) with dense D x D solves."""
    C = W @ W.T + np.diag(psi)
    gain = np.linalg.solve(C, W).T                        # (K, D)  W^T C^{-1}
    return (X - mean) @ gain.T, np.eye(W.shape[1]) - gain @ W


# ----------------------------------------------------------------------------------------------
# exact density and posterior
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("D,K", [(2, 1), (7, 3), (30, 5), (12, 11)])
@pytest.mark.parametrize("isotropic", [True, False])
def test_logpdf_matches_scipy(D, K, isotropic):
    rng = np.random.default_rng(D * 100 + K)
    W = rng.standard_normal((D, K))
    mean = rng.standard_normal(D)
    noise = 0.3 if isotropic else rng.uniform(0.05, 2.0, size=D)
    X = rng.standard_normal((50, D)) * 2 + mean
    C = W @ W.T + np.diag(np.broadcast_to(noise, (D,)))
    expected = multivariate_normal(mean, C).logpdf(X)
    np.testing.assert_allclose(linear_gaussian_logpdf(X, mean, W, noise), expected, rtol=1e-11, atol=1e-11)


def test_logpdf_stable_when_noise_is_tiny():
    # C = U diag(s^2 + sigma^2) U^T + sigma^2 (I - U U^T) has condition number 1e12, and the
    # textbook Woodbury form ||y||^2 - y^T A M^{-1} A^T y would cancel terms of size 1e12.
    rng = np.random.default_rng(0)
    D, K, s, sigma2 = 20, 3, 1e3, 1e-6
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    U, U_perp = Q[:, :K], Q[:, K:]
    a = rng.standard_normal((5, K)) * s                  # coordinates in the signal subspace
    b = rng.standard_normal((5, D - K)) * np.sqrt(sigma2)  # coordinates in the noise subspace
    X = a @ U.T + b @ U_perp.T
    quad = np.sum(a**2, axis=1) / (s**2 + sigma2) + np.sum(b**2, axis=1) / sigma2
    logdet = K * np.log(s**2 + sigma2) + (D - K) * np.log(sigma2)
    expected = -0.5 * (D * np.log(2 * np.pi) + logdet + quad)
    got = linear_gaussian_logpdf(X, np.zeros(D), U * s, sigma2)
    np.testing.assert_allclose(got, expected, rtol=1e-9)


@pytest.mark.parametrize("isotropic", [True, False])
def test_posterior_matches_dense_conditioning(isotropic):
    rng = np.random.default_rng(3)
    D, K = 9, 4
    W = rng.standard_normal((D, K))
    mean = rng.standard_normal(D)
    noise = 0.7 if isotropic else rng.uniform(0.1, 1.5, size=D)
    X = rng.standard_normal((25, D))
    m, cov = linear_gaussian_posterior(X, mean, W, noise)
    m_ref, cov_ref = dense_posterior(X, mean, W, np.broadcast_to(noise, (D,)))
    assert m.shape == (25, K) and cov.shape == (K, K)
    np.testing.assert_allclose(m, m_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cov, cov_ref, rtol=1e-10, atol=1e-12)


def test_logpdf_handles_more_rows_than_one_block():
    X, W, mean = make_data(9000, 4, 2, 0.5, seed=5)
    expected = multivariate_normal(mean, W @ W.T + 0.5 * np.eye(4)).logpdf(X)
    np.testing.assert_allclose(linear_gaussian_logpdf(X, mean, W, 0.5), expected, rtol=1e-11)


# ----------------------------------------------------------------------------------------------
# PPCA
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [4000, 8])  # N > D uses a square root of S, N < D the centred data
def test_closed_form_reaches_tipping_bishop_optimum(n):
    X, _, _ = make_data(n, 10, 3, 0.5, seed=1)
    model = PPCA(3, method="closed_form").fit(X)
    optimum = ppca_optimal_loglik(X, 3)
    assert model.score(X) == pytest.approx(optimum, rel=1e-10)
    assert model.loglik_curve_[-1] == pytest.approx(optimum, rel=1e-10)
    assert model.n_iter_ == 0


def test_closed_form_is_a_local_maximum():
    X, _, _ = make_data(3000, 8, 2, 0.4, seed=2)
    model = PPCA(2, method="closed_form").fit(X)
    best = model.score(X)
    rng = np.random.default_rng(0)
    for _ in range(20):
        W = model.W_ + 1e-3 * rng.standard_normal(model.W_.shape)
        sigma2 = model.noise_variance_ * np.exp(1e-3 * rng.standard_normal())
        assert np.mean(linear_gaussian_logpdf(X, model.mean_, W, sigma2)) < best


def test_ppca_closed_form_function_matches_estimator():
    X, _, _ = make_data(500, 6, 2, 0.5, seed=4)
    W, mean, sigma2 = ppca_closed_form(X, 2)
    model = PPCA(2, method="closed_form").fit(X)
    np.testing.assert_allclose(W @ W.T, model.W_ @ model.W_.T, rtol=1e-12)
    np.testing.assert_allclose(mean, X.mean(axis=0))
    assert sigma2 == model.noise_variance_


def test_em_ppca_converges_to_closed_form_optimum():
    X, _, _ = make_data(4000, 10, 3, 0.5, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                   # must converge within max_iter
        em = PPCA(3, rng=np.random.default_rng(7)).fit(X)
    optimum = ppca_optimal_loglik(X, 3)
    assert em.converged_
    assert abs(em.score(X) - optimum) <= 1e-6 * abs(optimum)
    closed = PPCA(3, method="closed_form").fit(X)
    np.testing.assert_allclose(em.get_covariance(), closed.get_covariance(), atol=1e-3)
    assert em.noise_variance_ == pytest.approx(closed.noise_variance_, rel=1e-4)


@pytest.mark.parametrize("model", [PPCA(3, rng=0), FactorAnalysis(3, rng=0)], ids=["ppca", "fa"])
def test_em_loglik_curve_is_monotone(model):
    X, _, _ = make_data(2000, 10, 3, np.linspace(0.2, 1.0, 10), seed=6)
    model.max_iter = 200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(X)
    curve = model.loglik_curve_
    assert curve.shape == (model.n_iter_,) and model.n_iter_ > 5
    assert curve[-1] - curve[0] > 1e-3                  # it did climb
    assert np.all(np.diff(curve) >= -1e-12 * np.abs(curve[1:]))


@pytest.mark.parametrize("model", [PPCA(2, max_iter=30, rng=1), FactorAnalysis(2, max_iter=30, rng=1)],
                         ids=["ppca", "fa"])
def test_loglik_curve_equals_score_on_training_data(model):
    # the curve comes from the covariance square root, score() from the rows themselves
    X, _, _ = make_data(700, 7, 2, 0.3, seed=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(X)
    assert model.loglik_curve_[-1] == pytest.approx(model.score(X), rel=1e-12)


def test_em_warns_when_not_converged():
    X, _, _ = make_data(500, 6, 2, 0.5, seed=3)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        model = PPCA(2, max_iter=2).fit(X)
    assert not model.converged_ and model.n_iter_ == 2


def test_em_is_reproducible_given_seed():
    X, _, _ = make_data(300, 6, 2, 0.5, seed=3)
    a = FactorAnalysis(2, max_iter=20, rng=5)
    b = FactorAnalysis(2, max_iter=20, rng=np.random.default_rng(5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(a.fit(X).W_, b.fit(X).W_)


# ----------------------------------------------------------------------------------------------
# factor analysis
# ----------------------------------------------------------------------------------------------
def test_fa_recovers_diagonal_noise_and_covariance():
    D, K = 10, 3
    psi = np.linspace(0.1, 1.0, D)
    X, W, _ = make_data(20000, D, K, psi, seed=1)
    fa = FactorAnalysis(K, rng=0).fit(X)
    assert fa.noise_variance_.shape == (D,)
    np.testing.assert_allclose(fa.noise_variance_, psi, rtol=0.1)
    np.testing.assert_allclose(fa.get_covariance(), W @ W.T + np.diag(psi), atol=0.15)
    # FA fits heteroscedastic noise better than PPCA with the same K
    assert fa.score(X) > PPCA(K, method="closed_form").fit(X).score(X) + 0.01


@pytest.mark.parametrize("cls", [PPCA, FactorAnalysis])
def test_fitted_model_density_and_posterior(cls):
    X, _, _ = make_data(1500, 6, 2, np.linspace(0.3, 0.9, 6), seed=9)
    model = cls(2, rng=0, max_iter=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(X)
    psi = np.broadcast_to(model.noise_variance_, (6,))
    Xt = X[:40] + 0.5
    expected = multivariate_normal(model.mean_, model.W_ @ model.W_.T + np.diag(psi)).logpdf(Xt)
    np.testing.assert_allclose(model.score_samples(Xt), expected, rtol=1e-11)
    assert model.score(Xt) == pytest.approx(expected.mean(), rel=1e-11)
    m, cov = model.posterior(Xt)
    m_ref, cov_ref = dense_posterior(Xt, model.mean_, model.W_, psi)
    np.testing.assert_allclose(m, m_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(cov, cov_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(model.transform(Xt), m)


def test_sample_follows_the_model():
    X, _, _ = make_data(2000, 5, 2, np.linspace(0.2, 0.6, 5), seed=10)
    fa = FactorAnalysis(2, rng=0, max_iter=3000).fit(X)
    draws = fa.sample(200000, np.random.default_rng(1))
    assert draws.shape == (200000, 5)
    np.testing.assert_allclose(draws.mean(axis=0), fa.mean_, atol=0.02)
    np.testing.assert_allclose(np.cov(draws.T), fa.get_covariance(), atol=0.03)
    np.testing.assert_array_equal(fa.sample(3, 4), fa.sample(3, np.random.default_rng(4)))


# ----------------------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted():
    X, _, _ = make_data(300, 5, 2, 0.5, seed=0)
    return PPCA(2, method="closed_form").fit(X)


@pytest.mark.parametrize("make", [lambda: PPCA(2), lambda: FactorAnalysis(2)])
def test_fit_rejects_nan(make):
    X, _, _ = make_data(50, 5, 2, 0.5, seed=0)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        make().fit(X)


@pytest.mark.parametrize("n_components", [5, 6, 0, 2.5, True])
def test_bad_n_components(n_components):
    X, _, _ = make_data(50, 5, 2, 0.5, seed=0)
    for model in (PPCA(n_components), PPCA(n_components, method="closed_form"), FactorAnalysis(n_components)):
        with pytest.raises(ValueError, match="n_components"):
            model.fit(X)


def test_unknown_method():
    X, _, _ = make_data(50, 5, 2, 0.5, seed=0)
    with pytest.raises(ValueError, match="Unknown method 'svd'"):
        PPCA(2, method="svd").fit(X)


@pytest.mark.parametrize("kwargs,match", [({"max_iter": 0}, "max_iter"), ({"tol": -1.0}, "tol"),
                                          ({"rng": "seed"}, "rng")])
def test_bad_hyperparameters(kwargs, match):
    X, _, _ = make_data(50, 5, 2, 0.5, seed=0)
    with pytest.raises(ValueError, match=match):
        FactorAnalysis(2, **kwargs).fit(X)


def test_score_rejects_wrong_width_and_nan(fitted):
    with pytest.raises(ValueError, match="4 features per row but the model has 5"):
        fitted.score_samples(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="2-D"):
        fitted.score(np.zeros(5))
    bad = np.zeros((3, 5))
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        fitted.transform(bad)


def test_not_fitted():
    with pytest.raises(ValueError, match="not fitted"):
        PPCA(2).score(np.zeros((3, 5)))


def test_rank_deficient_data_for_closed_form():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 2)) @ rng.standard_normal((2, 6))    # exactly rank 2
    with pytest.raises(ValueError, match="noise variance is zero"):
        PPCA(2, method="closed_form").fit(X)


def test_constant_data():
    with pytest.raises(ValueError, match="zero variance"):
        FactorAnalysis(1).fit(np.ones((20, 3)))


@pytest.mark.parametrize("kwargs,match", [
    ({"mean": np.zeros(4)}, "mean must have shape"),
    ({"W": np.zeros(5)}, "W must be a 2-D"),
    ({"noise_var": np.ones(3)}, "noise_var must be a scalar"),
    ({"noise_var": 0.0}, "strictly positive"),
    ({"noise_var": np.nan}, "noise_var contains NaN"),
])
def test_logpdf_rejects_bad_parameters(kwargs, match):
    args = {"X": np.zeros((2, 5)), "mean": np.zeros(5), "W": np.ones((5, 2)), "noise_var": 1.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        linear_gaussian_logpdf(**args)
