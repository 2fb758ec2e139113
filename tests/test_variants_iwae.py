"""What the IWAE and hierarchical bounds mean: k = 1 is the ELBO, the bound rises with k towards an
exact log p(x), its gradient is the importance-weighted sum of log-weight gradients, the op is
stable."""
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import numpyvae as nv
from numpyvae.ops.importance import iwae_bound_backward, iwae_bound_forward
from numpyvae.models import IWAE, HierarchicalVAE


def test_iwae_bound_op_is_a_log_mean_exp_per_group(rng):
    logw = 5 * rng.standard_normal((12, 3))
    bound, _ = iwae_bound_forward(logw, 4)
    groups = logw.reshape(3, 4, 3)
    ref = (logsumexp(groups, axis=1) - np.log(4)).mean(axis=0)
    np.testing.assert_allclose(bound, ref, rtol=1e-13)


def test_iwae_bound_op_backward_gives_the_normalised_weights(rng):
    logw = rng.standard_normal((4, 2))
    _, cache = iwae_bound_forward(logw, 4)
    dlogw = iwae_bound_backward(np.array([1.0, 2.0]), cache)
    w = np.exp(logw) / np.exp(logw).sum(axis=0)
    np.testing.assert_allclose(dlogw, w * np.array([1.0, 2.0]), rtol=1e-13)
    np.testing.assert_allclose(dlogw.sum(axis=0), [1.0, 2.0], rtol=1e-13)


def test_iwae_bound_op_is_stable_for_huge_log_weights():
    logw = np.array([[-1e4, 1e4], [-1e4 - 1.0, 1e4 + 1.0]])
    bound, cache = iwae_bound_forward(logw, 2)
    np.testing.assert_allclose(bound, [-1e4 + np.log((1 + np.exp(-1)) / 2), 1e4 + 1 + np.log((1 + np.exp(-1)) / 2)],
                               rtol=1e-14)
    assert np.isfinite(iwae_bound_backward(np.ones(2), cache)).all()


def test_iwae_bound_op_rejects_a_sample_count_that_is_not_a_multiple_of_k():
    with pytest.raises(ValueError, match="multiple of k"):
        iwae_bound_forward(np.zeros((5, 2)), 2)


@pytest.mark.parametrize("n_samples", [1, 3])
def test_with_k_1_the_bound_equals_the_vae_monte_carlo_elbo(n_samples, rng):
    kw = dict(input_dim=8, hidden_sizes=(6,), latent_dim=3, likelihood="gaussian", rng=4, init="glorot")
    iwae, vae = IWAE(k=1, **kw), nv.VAE(estimator="mc", **kw)
    x = rng.uniform(size=(5, 8))
    eps = rng.standard_normal((n_samples, 5, 3))
    np.testing.assert_allclose(iwae.bound(x, eps), vae.elbo(x, eps), rtol=1e-12)
    np.testing.assert_allclose(iwae.elbo(x, eps), vae.elbo(x, eps), rtol=1e-12)
    loss_i, grads_i = iwae.loss_and_grads(x, eps)
    loss_v, grads_v = vae.loss_and_grads(x, eps)
    assert loss_i == pytest.approx(loss_v, rel=1e-12)
    for name in grads_v:
        np.testing.assert_allclose(grads_i[name], grads_v[name], rtol=1e-10, atol=1e-14)


def test_iwae_shares_the_vae_parameter_names_and_log_weights(rng):
    kw = dict(input_dim=6, hidden_sizes=(5,), latent_dim=2, rng=1)
    iwae, vae = IWAE(k=3, **kw), nv.VAE(**kw)
    assert list(iwae.params) == list(vae.params)
    x, eps = rng.uniform(size=(4, 6)), rng.standard_normal((7, 4, 2))
    np.testing.assert_allclose(iwae.log_weights(x, eps), vae.log_weights(x, eps), rtol=1e-12)


def test_iwae_gradient_is_the_importance_weighted_sum_of_log_weight_gradients(rng):
    model = IWAE(5, (4,), 2, k=3, rng=rng, init="glorot")
    x, eps = model._data(rng.uniform(size=(2, 5))), rng.standard_normal((3, 2, 2))
    _, grads = model.loss_and_grads(x, eps)
    logw, cache = model._log_weights_forward(x, eps, 1.0)                 # (3, 2)
    w_norm = np.exp(logw - logsumexp(logw, axis=0))                      # (3, 2)
    expected = {name: np.zeros_like(p) for name, p in model.params.items()}
    for i in range(3):
        for b in range(2):
            onehot = np.zeros_like(logw)
            onehot[i, b] = 1.0
            g = model._log_weights_backward(onehot, cache)                # grad log w_ib
            for name in expected:
                expected[name] -= w_norm[i, b] / 2 * g[name]              # loss = -(1/B) sum_b L_k
    for name in grads:
        np.testing.assert_allclose(grads[name], expected[name], rtol=1e-10, atol=1e-14)


def _linear_gaussian_iwae():
    """A model whose log p(x) is known: linear decoder with a fixed diagonal noise D, so that
    x ~ N(b, W^T W + D). The encoder is the exact posterior mean shifted by 0.5 with a diagonal
    variance twice the posterior's: a proposal broad enough for importance sampling to converge,
    poor enough that the ELBO gap is clear."""
    rng = np.random.default_rng(3)
    model = IWAE(3, (), 2, likelihood="gaussian", rng=rng, init="glorot")
    D = np.array([0.3, 0.5, 0.2])
    model.params["dec.logvar.W"][:] = 0.0
    model.params["dec.logvar.b"][:] = np.log(D)
    W, b = model.params["dec.mean.W"], model.params["dec.mean.b"]      # (2, 3), (3,)
    post_cov = np.linalg.inv(np.eye(2) + W @ np.diag(1 / D) @ W.T)     # (2, 2)
    A = post_cov @ W @ np.diag(1 / D)                                  # E[z | x] = A (x - b)
    model.params["enc.mu.W"][:] = A.T
    model.params["enc.mu.b"][:] = -b @ A.T + 0.5
    model.params["enc.logvar.W"][:] = 0.0
    model.params["enc.logvar.b"][:] = np.log(2 * np.diag(post_cov))
    x = rng.standard_normal((2, 3)) * 1.5
    return model, x, stats.multivariate_normal(b, W.T @ W + np.diag(D)).logpdf(x)


def test_the_average_bound_increases_with_k_and_stays_below_the_exact_log_px():
    model, x, exact = _linear_gaussian_iwae()
    rng = np.random.default_rng(0)
    means, ses = {}, {}
    for k, groups in [(1, 20_000), (5, 8_000), (50, 800)]:
        eps = rng.standard_normal((groups * k, 2, 2))
        logw = model.log_weights(x, eps).reshape(groups, k, 2)
        per_group = logsumexp(logw, axis=1) - np.log(k)                  # (groups, 2): one L_k draw each
        np.testing.assert_allclose(per_group.mean(axis=0), model.bound(x, eps, k=k), rtol=1e-12)
        means[k], ses[k] = per_group.mean(axis=0), per_group.std(axis=0) / np.sqrt(groups)
    for lo, hi in [(1, 5), (5, 50)]:                                       # E[L_k] rises with k ...
        assert np.all(means[hi] - means[lo] > 4 * np.hypot(ses[hi], ses[lo])), (means, ses)
    assert np.all(means[50] < exact + 3 * ses[50]), (means[50], exact)     # ... and stays below log p(x)
    assert np.all(exact - means[1] > 0.05)                                 # the ELBO gap is real here
    est, stderr = nv.importance_sampled_log_px(model, x, n_samples=20_000, rng=1)
    assert np.all(np.abs(est - exact) < 4 * stderr + 1e-3), (est, exact, stderr)


def test_hierarchical_noise_layout_and_importance_sampling(rng):
    model = HierarchicalVAE(6, (5,), (3, 2), (4,), likelihood="bernoulli", rng=2, init="glorot")
    assert model.latent_dim == 5
    x = (rng.uniform(size=(3, 6)) > 0.5).astype(float)
    eps = rng.standard_normal((4, 3, 5))
    # eps1 drives z1 only through the first Z1 columns: changing eps2 leaves log q(z1|x) and
    # log p(x|z1) alone, so the difference of two log-weights is the z2 part only
    eps_b = eps.copy()
    eps_b[..., 3:] = rng.standard_normal((4, 3, 2))
    (mu1, lv1), _ = model.enc1.forward(model.params, model._data(x))
    z1 = mu1 + np.exp(0.5 * lv1) * eps[..., :3]
    out = model.decode(z1)
    loglik, _ = model.dec1.log_prob_forward(model._data(x), out)
    logq1 = stats.norm.logpdf(z1, mu1, np.exp(0.5 * lv1)).sum(-1)

    def top(e):
        (mu2, lv2), _ = model.enc2.forward(model.params, z1.reshape(-1, 3))
        z2 = mu2 + np.exp(0.5 * lv2) * e[..., 3:].reshape(-1, 2)
        (pm, plv), _ = model.dec2.forward(model.params, z2)
        return (stats.norm.logpdf(z1.reshape(-1, 3), pm, np.exp(0.5 * plv)).sum(-1)
                + stats.norm.logpdf(z2).sum(-1) - stats.norm.logpdf(z2, mu2, np.exp(0.5 * lv2)).sum(-1)).reshape(4, 3)

    np.testing.assert_allclose(model.log_weights(x, eps), loglik - logq1 + top(eps), rtol=1e-10)
    np.testing.assert_allclose(model.log_weights(x, eps_b), loglik - logq1 + top(eps_b), rtol=1e-10)
    est, stderr = nv.importance_sampled_log_px(model, x, n_samples=2000, rng=0)
    elbo = model.elbo(x, rng=1, n_samples=2000)
    assert np.all(est > elbo) and np.all(np.isfinite(stderr))


def test_hierarchical_bound_increases_with_k(rng):
    model = HierarchicalVAE(6, (5,), (3, 2), (4,), rng=5, init="glorot")
    x = (rng.uniform(size=(2, 6)) > 0.5).astype(float)
    b1 = model.bound(x, rng=0, n_samples=4000, k=1)
    b10 = model.bound(x, rng=1, n_samples=400, k=10)
    assert np.all(b10 > b1 + 0.05), (b1, b10)
