"""Extreme values stay finite; bad input gives one clear ValueError naming the problem."""
import numpy as np
import pytest

import numpyvae as nv
from numpyvae import ops


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bernoulli_loglik_is_finite_for_huge_logits(dtype):
    logits = np.array([[1e4, -1e4, 0.0, 50.0, -50.0]], dtype=dtype)
    for x in (np.zeros_like(logits), np.ones_like(logits), np.full_like(logits, 0.3)):
        ll, cache = ops.bernoulli_loglik_forward(x, logits)
        d = ops.bernoulli_loglik_backward(np.ones(1, dtype), cache)
        assert np.isfinite(ll).all() and np.isfinite(d).all()
    ll, _ = ops.bernoulli_loglik_forward(np.array([[1.0, 0.0]], dtype), np.array([[1e4, -1e4]], dtype))
    assert abs(ll[0]) < 1e-6                                          # certain and correct: log 1 = 0
    ll, _ = ops.bernoulli_loglik_forward(np.array([[0.0]], dtype), np.array([[1e4]], dtype))
    np.testing.assert_allclose(ll, [-1e4], rtol=1e-6)                 # log(1 - sigmoid(1e4)) = -1e4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_terms_are_finite_for_extreme_logvar(dtype):
    logvar = np.array([[50.0, -50.0, 0.0]], dtype=dtype)
    mu = np.array([[1.0, -1.0, 30.0]], dtype=dtype)
    kl, c = ops.kl_standard_normal_forward(mu, logvar)
    grads = ops.kl_standard_normal_backward(np.ones(1, dtype), c)
    assert np.isfinite(kl).all() and all(np.isfinite(g).all() for g in grads)
    x = np.array([[0.5, 0.5, 0.5]], dtype=dtype)
    ll, c = ops.gaussian_loglik_forward(x, mu, logvar)
    grads = ops.gaussian_loglik_backward(np.ones(1, dtype), c)
    assert np.isfinite(ll).all() and all(np.isfinite(g).all() for g in grads)
    z, c = ops.reparameterize_forward(mu, np.array([[20.0, -50.0, 0.0]], dtype), np.ones((1, 1, 3), dtype))
    assert np.isfinite(z).all()


@pytest.mark.parametrize("x_fill", [0.0, 1.0])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian_sigmoid"])
def test_model_is_finite_on_all_zero_and_all_one_images(x_fill, likelihood, rng):
    model = nv.VAE(16, (8,), 2, likelihood=likelihood, rng=rng)
    name = "dec.logits.b" if likelihood == "bernoulli" else "dec.mean.b"
    model.params[name][:] = 1e4 * np.sign(rng.standard_normal(16))  # saturated decoder
    loss, grads = model.loss_and_grads(np.full((4, 16), x_fill), rng=rng)
    assert np.isfinite(loss)
    assert all(np.isfinite(g).all() for g in grads.values())


def test_softplus_and_sigmoid_do_not_overflow():
    t = np.array([-1e4, -800.0, -30.0, 0.0, 30.0, 800.0, 1e4])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is exact enough
        sp = ops.softplus(t)
        s = ops.sigmoid(t)
    np.testing.assert_allclose(sp[[0, 1, 5, 6]], [0, 0, 800, 1e4], atol=1e-12)
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(ops.logsumexp(np.array([[1000.0, 1000.0]]), axis=1), [1000 + np.log(2)])


def _model(**kw):
    return nv.VAE(6, (4,), 2, **{"rng": 0, **kw})


@pytest.mark.parametrize("x,match", [
    (np.zeros((3, 5)), "5 columns.*input_dim=6"),
    (np.zeros(6), "2-D.*single datapoint"),
    (np.array([[0.1, np.nan, 0, 0, 0, 0]]), "NaN"),
    (np.array([[0.1, np.inf, 0, 0, 0, 0]]), "NaN or infinite"),
    (np.full((2, 6), 255.0), r"\[0, 1\].*Bernoulli"),
    (np.full((2, 6), -0.5), r"\[0, 1\]"),
    (np.zeros((0, 6)), "empty"),
    (np.array([["a"] * 6]), "numeric"),
])
def test_bad_data_is_named(x, match):
    with pytest.raises(ValueError, match=match):
        _model().loss_and_grads(x, rng=0)


def test_gaussian_models_accept_values_outside_unit_interval():
    model = nv.VAE(6, (4,), 2, likelihood="gaussian", rng=0)
    loss, _ = model.loss_and_grads(np.full((2, 6), 3.5), rng=0)
    assert np.isfinite(loss)


@pytest.mark.parametrize("eps_shape", [(1, 3, 3), (1, 4, 2), (2, 2, 3, 2), (0, 3, 2)])
def test_wrong_noise_shape_is_named(eps_shape):
    with pytest.raises(ValueError, match="eps must have shape"):
        _model().loss_and_grads(np.zeros((3, 6)), np.zeros(eps_shape))


def test_noise_with_nan_is_rejected():
    eps = np.zeros((1, 3, 2))
    eps[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="eps contains NaN"):
        _model().loss_and_grads(np.zeros((3, 6)), eps)


@pytest.mark.parametrize("kwargs,match", [
    ({"likelihood": "poisson"}, "unknown likelihood 'poisson'.*bernoulli"),
    ({"activation": "swish"}, "unknown activation 'swish'"),
    ({"estimator": "exact"}, "unknown estimator 'exact'.*analytic"),
    ({"init": "zeros"}, "unknown init 'zeros'"),
    ({"dtype": np.float16}, "float32 or float64"),
    ({"beta": -1.0}, "beta"),
    ({"backend": "tpu"}, "unknown backend 'tpu'"),
    ({"rng": "seed"}, "rng must be"),
])
def test_unknown_options_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _model(**kwargs)


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match="latent_dim"):
        nv.VAE(6, (4,), 0)
    with pytest.raises(ValueError, match="hidden size"):
        nv.VAE(6, (4, -1), 2)
    with pytest.raises(ValueError, match="sigma"):
        nv.VAE(6, (4,), 2, likelihood="gaussian_fixed", sigma=0.0)
    with pytest.raises(ValueError, match="n_samples"):
        _model().loss_and_grads(np.zeros((3, 6)), n_samples=0)


def test_decode_checks_latent_shape():
    with pytest.raises(ValueError, match=r"z must have shape \(B, 2\)"):
        _model().decode(np.zeros((3, 5)))
