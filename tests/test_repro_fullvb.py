"""Full variational Bayes over the decoder parameters (K&W appendix F)."""
import numpy as np
import pytest

import numpyvae as nv
from numpyvae.algorithms.fullvb import LOGVAR_PREFIX, FullVB
from numpyvae.gradcheck import check_gradients


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian_sigmoid"])
def test_fullvb_gradients_match_finite_differences(likelihood):
    rng = np.random.default_rng(0)
    model = nv.VAE(6, (4,), 2, likelihood=likelihood, dtype=np.float64, rng=1, init="glorot")
    vb = FullVB(model, n_data=50, init_logvar=-2.0)
    for k in vb.logvars:                                   # unequal log-variances
        vb.logvars[k] += rng.uniform(-1, 1, size=vb.logvars[k].shape)
    x = rng.uniform(0.05, 0.95, size=(3, 6))
    eps = rng.standard_normal((2, 3, 2))
    zeta = vb.draw_zeta(rng)
    _, grads = vb.loss_and_grads(x, eps, zeta)
    assert set(grads) == set(vb.params)
    report = check_gradients(lambda: vb.loss_and_grads(x, eps, zeta)[0], vb.params, grads, rng=1)
    assert report.passed(1e-6), report.table()


def test_fullvb_with_vanishing_variance_is_map_plus_the_prior():
    rng = np.random.default_rng(1)
    model = nv.VAE(6, (4,), 2, dtype=np.float64, rng=1)
    n = 40
    vb = FullVB(model, n_data=n, init_logvar=-80.0)
    x = rng.uniform(size=(5, 6))
    eps = rng.standard_normal((1, 5, 2))
    loss, _ = vb.loss_and_grads(x, eps, vb.draw_zeta(rng))
    map_loss, _ = model.loss_and_grads(x, eps)
    dec = [v for k, v in model.params.items() if k.startswith("dec.")]
    P = sum(v.size for v in dec)
    kl = 0.5 * (sum(float((v ** 2).sum()) for v in dec) + P * (np.exp(-80.0) - 1 + 80.0))
    np.testing.assert_allclose(loss, map_loss + kl / n, rtol=1e-12)
    np.testing.assert_allclose(vb.kl(), kl, rtol=1e-12)


def test_fullvb_training_raises_its_bound():
    data = nv.load_dataset("synthetic", "train").x
    model = nv.VAE(64, (16,), 2, dtype=np.float64, rng=0)
    vb = FullVB(model, n_data=len(data), lr=0.05, rng=0)
    before = vb.bound(data, rng=0, n_theta=2)
    rng = np.random.default_rng(0)
    for _ in range(200):
        vb.step(data[rng.integers(0, len(data), 50)], rng)
    after = vb.bound(data, rng=0, n_theta=2)
    assert after > before + 5, (before, after)
    assert all(LOGVAR_PREFIX + k in vb.params for k in model.params if k.startswith("dec."))


def test_fullvb_rejects_empty_data():
    with pytest.raises(ValueError, match="n_data"):
        FullVB(nv.VAE(4, (), 2, rng=0), n_data=0)
