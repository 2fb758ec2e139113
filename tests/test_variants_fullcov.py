"""The full-covariance posterior: densities against scipy.stats.multivariate_normal, the closed-form
KL against its definition and Monte Carlo, and the diagonal special case against the core VAE."""
import numpy as np
import pytest
from scipy import stats

import numpyvae as nv
from numpyvae.ops.fullcov import (kl_tril_standard_normal_forward, log_normal_tril_forward, scale_tril_forward,
                                  tril_reparameterize_forward)
from numpyvae.models import FullCovVAE


def _scale(rng, B=3, Z=4):
    log_std = 0.3 * rng.standard_normal((B, Z))
    offdiag = 0.7 * rng.standard_normal((B, Z * (Z - 1) // 2))
    return log_std, offdiag


def test_scale_tril_places_the_entries_where_the_docs_say(rng):
    log_std, offdiag = _scale(rng, B=1, Z=3)
    L, _ = scale_tril_forward(log_std, offdiag)
    s, o = np.exp(log_std[0]), offdiag[0]
    expected = np.array([[s[0], 0, 0], [o[0], s[1], 0], [o[1], o[2], s[2]]])  # row-major tril_indices(3, -1)
    np.testing.assert_array_equal(L[0], expected)


def test_scale_tril_rejects_a_wrongly_sized_offdiagonal(rng):
    with pytest.raises(ValueError, match="offdiag must have shape"):
        scale_tril_forward(np.zeros((2, 3)), np.zeros((2, 4)))


def test_log_density_matches_scipy_multivariate_normal(rng):
    log_std, offdiag = _scale(rng)
    L, _ = scale_tril_forward(log_std, offdiag)
    mu = rng.standard_normal((3, 4))
    z = rng.standard_normal((5, 3, 4)) * 2
    ours, _ = log_normal_tril_forward(z, mu, L)
    for b in range(3):
        ref = stats.multivariate_normal(mu[b], L[b] @ L[b].T).logpdf(z[:, b])
        np.testing.assert_allclose(ours[:, b], ref, rtol=1e-11)


def test_log_det_of_the_sample_map_gives_the_same_density(rng):
    # log q(z) = log N(eps; 0, I) - sum_i log L_ii for z = mu + L eps (the form the model uses)
    log_std, offdiag = _scale(rng)
    L, _ = scale_tril_forward(log_std, offdiag)
    mu = rng.standard_normal((3, 4))
    eps = rng.standard_normal((6, 3, 4))
    z, _ = tril_reparameterize_forward(mu, L, eps)
    via_eps = stats.norm.logpdf(eps).sum(-1) - log_std.sum(-1)
    via_z, _ = log_normal_tril_forward(z, mu, L)
    np.testing.assert_allclose(via_eps, via_z, rtol=1e-11)


def test_samples_have_mean_mu_and_covariance_l_l_transpose(rng):
    log_std, offdiag = _scale(rng, B=1, Z=3)
    L, _ = scale_tril_forward(log_std, offdiag)
    mu = np.array([[1.0, -2.0, 0.5]])
    z, _ = tril_reparameterize_forward(mu, L, rng.standard_normal((200_000, 1, 3)))
    np.testing.assert_allclose(z[:, 0].mean(axis=0), mu[0], atol=0.02)
    np.testing.assert_allclose(np.cov(z[:, 0], rowvar=False), L[0] @ L[0].T, atol=0.03)


def test_closed_form_kl_matches_the_definition_and_monte_carlo(rng):
    log_std, offdiag = _scale(rng)
    L, _ = scale_tril_forward(log_std, offdiag)
    mu = rng.standard_normal((3, 4))
    kl, _ = kl_tril_standard_normal_forward(mu, L)
    for b in range(3):
        S = L[b] @ L[b].T
        ref = 0.5 * (np.trace(S) + mu[b] @ mu[b] - 4 - np.linalg.slogdet(S)[1])
        assert kl[b] == pytest.approx(ref, rel=1e-12)
        q = stats.multivariate_normal(mu[b], S)
        z = q.rvs(size=100_000, random_state=np.random.default_rng(b))
        mc = q.logpdf(z) - stats.multivariate_normal(np.zeros(4), np.eye(4)).logpdf(z)
        assert abs(mc.mean() - kl[b]) < 4 * mc.std() / np.sqrt(mc.size)


@pytest.mark.parametrize("estimator", ["analytic", "mc"])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_with_a_zero_offdiagonal_head_it_is_the_diagonal_vae(estimator, likelihood, rng):
    kw = dict(input_dim=7, hidden_sizes=(5,), latent_dim=3, likelihood=likelihood, estimator=estimator,
              activation="tanh", init="glorot")
    vae = nv.VAE(rng=0, **kw)
    full = FullCovVAE(rng=1, **kw)
    for name, p in vae.params.items():
        if name.startswith("enc.logvar"):
            full.params[name.replace("logvar", "log_std")][...] = 0.5 * p   # log sigma = logvar / 2
        else:
            full.params[name][...] = p
    full.params["enc.offdiag.W"][...] = 0.0
    full.params["enc.offdiag.b"][...] = 0.0
    x = rng.uniform(size=(4, 7))
    eps = rng.standard_normal((2, 4, 3))
    np.testing.assert_allclose(full.elbo(x, eps), vae.elbo(x, eps), rtol=1e-12)
    np.testing.assert_allclose(full.log_weights(x, eps), vae.log_weights(x, eps), rtol=1e-12)
    _, gf = full.loss_and_grads(x, eps)
    _, gv = vae.loss_and_grads(x, eps)
    for name, g in gv.items():
        if name.startswith("enc.logvar"):                                  # d/d log_std = 2 d/d logvar
            np.testing.assert_allclose(gf[name.replace("logvar", "log_std")], 2 * g, rtol=1e-10, atol=1e-14)
        else:
            np.testing.assert_allclose(gf[name], g, rtol=1e-10, atol=1e-14)


def test_model_log_weights_use_the_full_covariance_density(rng):
    model = FullCovVAE(5, (4,), 3, likelihood="gaussian", rng=2, init="glorot")
    model.params["enc.offdiag.b"][:] = [0.8, -0.5, 0.3]
    x = rng.uniform(size=(2, 5))
    eps = rng.standard_normal((3, 2, 3))
    mu, L = model.encode(x)
    z, _ = tril_reparameterize_forward(mu, L, eps)
    loglik, _ = model.decoder.log_prob_forward(model._data(x), model.decode(z))
    for b in range(2):
        logq = stats.multivariate_normal(mu[b], L[b] @ L[b].T).logpdf(z[:, b])
        logp = stats.multivariate_normal(np.zeros(3), np.eye(3)).logpdf(z[:, b])
        np.testing.assert_allclose(model.log_weights(x, eps)[:, b], loglik[:, b] + logp - logq, rtol=1e-10)
    # the analytic and Monte-Carlo KL agree in expectation
    many = rng.standard_normal((20_000, 2, 3))
    mc = FullCovVAE(**{**model.get_config(), "estimator": "mc"})
    mc.params = model.params
    t_a, t_m = model.elbo_terms(x, many[:1]), mc.elbo_terms(x, many)
    z_many, _ = tril_reparameterize_forward(mu, L, many)
    log_ratio = stats.norm.logpdf(many).sum(-1) - np.log(np.diagonal(L, axis1=1, axis2=2)).sum(-1) \
        - stats.norm.logpdf(z_many).sum(-1)                               # log q - log p per sample
    np.testing.assert_allclose(log_ratio.mean(axis=0), t_m["kl"], rtol=1e-10)
    se = log_ratio.std(axis=0) / np.sqrt(many.shape[0])
    assert np.all(np.abs(t_a["kl"] - t_m["kl"]) < 4 * se), (t_a["kl"], t_m["kl"], se)


def test_latent_dim_one_has_no_offdiagonal_head(rng):
    model = FullCovVAE(4, (3,), 1, rng=0)
    assert not any("offdiag" in name for name in model.params)
    loss, grads = model.loss_and_grads(rng.uniform(size=(2, 4)), rng=rng)
    assert np.isfinite(loss) and set(grads) == set(model.params)
