"""Whole-model gradients against finite differences, over architectures drawn by hypothesis."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numpyvae as nv
from numpyvae import ops
from numpyvae.gradcheck import check_model

ACTIVATIONS = sorted(nv.ops.ACTIVATIONS)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    hidden=st.lists(st.integers(1, 6), min_size=0, max_size=3),
    activation=st.sampled_from(ACTIVATIONS),
    likelihood=st.sampled_from(nv.LIKELIHOODS),
    estimator=st.sampled_from(["analytic", "mc"]),
    input_dim=st.integers(1, 7),
    latent_dim=st.integers(1, 4),
    batch=st.integers(1, 4),
    n_samples=st.integers(1, 3),
    beta=st.floats(0.0, 2.0),
    seed=st.integers(0, 2**16),
)
def test_full_model_gradient_matches_finite_differences(hidden, activation, likelihood, estimator, input_dim,
                                                        latent_dim, batch, n_samples, beta, seed):
    rng = np.random.default_rng(seed)
    model = nv.VAE(input_dim, tuple(hidden), latent_dim, likelihood=likelihood, activation=activation,
                   estimator=estimator, beta=beta, dtype=np.float64, rng=rng, init="glorot", sigma=0.7)
    for p in model.params.values():        # no exact zeros: with zero biases a dead relu unit feeds the
        p += 0.1 * rng.standard_normal(p.shape)   # next relu exactly 0, its kink, where no derivative exists
    x = rng.uniform(0, 1, size=(batch, input_dim))
    eps = rng.standard_normal((n_samples, batch, latent_dim))
    report = check_model(model, x, eps, rng=seed)
    assert {r.name for r in report.rows} == set(model.params)
    assert report.passed(1e-6), report.table()


def test_paper_sized_model_gradient(rng):
    # 40 random entries per tensor plus a direction. Glorot init: with the paper's N(0, 0.01^2) the
    # first layer's gradient is ~1e-3 while a central difference of a ~500-nat loss carries ~5e-9 of
    # round-off, which alone would be a relative error of ~1e-5.
    model = nv.VAE(784, (50,), 20, rng=rng, init="glorot")
    x = (rng.uniform(size=(10, 784)) > 0.5).astype(float)
    report = check_model(model, x, rng.standard_normal((1, 10, 20)), rng=rng)
    assert report.passed(1e-6), report.table()


def test_model_check_catches_a_wrong_kl_gradient(monkeypatch, rng):
    import numpyvae.models.vae as vae_module

    def wrong(dkl, cache):
        dmu, dlogvar = ops.kl_standard_normal_backward(dkl, cache)
        return dmu, 1.01 * dlogvar

    monkeypatch.setattr(vae_module, "kl_standard_normal_backward", wrong)
    model = nv.VAE(5, (4,), 2, rng=rng, init="glorot")
    report = check_model(model, rng.uniform(size=(3, 5)), rng.standard_normal((1, 3, 2)), rng=0)
    assert not report.passed(1e-6)
    assert [r.name for r in report.failures(1e-6)] != []


def test_grads_have_exactly_the_keys_and_shapes_of_params(rng):
    model = nv.VAE(784, (500,), 20, likelihood="bernoulli", rng=rng)
    x = rng.uniform(size=(100, 784))
    eps = np.random.default_rng(1).standard_normal((1, 100, 20))
    loss, grads = model.loss_and_grads(x, eps)
    assert isinstance(loss, float) and np.isfinite(loss)
    assert list(grads) == list(model.params)
    for name, g in grads.items():
        assert g.shape == model.params[name].shape and g.dtype == model.params[name].dtype


@pytest.mark.parametrize("likelihood,keys", [("bernoulli", {"enc.0.W", "enc.mu.W", "enc.logvar.b", "dec.0.W", "dec.logits.W"}),
                                             ("gaussian", {"dec.mean.W", "dec.logvar.W"}),
                                             ("gaussian_sigmoid", {"dec.mean.b", "dec.logvar.b"}),
                                             ("gaussian_fixed", {"dec.mean.W"})])
def test_parameter_names_follow_the_documented_scheme(likelihood, keys):
    model = nv.VAE(6, (5,), 2, likelihood=likelihood, rng=0)
    assert keys <= set(model.params)
    if likelihood == "gaussian_fixed":
        assert "dec.logvar.W" not in model.params
    assert model.params["enc.0.W"].shape == (6, 5) and model.params["dec.0.W"].shape == (2, 5)


def test_zero_hidden_layers_are_linear_maps(rng):
    model = nv.VAE(4, (), 2, likelihood="gaussian", rng=rng)
    assert set(model.params) == {"enc.mu.W", "enc.mu.b", "enc.logvar.W", "enc.logvar.b",
                                 "dec.mean.W", "dec.mean.b", "dec.logvar.W", "dec.logvar.b"}
    x = rng.uniform(size=(3, 4))
    mu, _ = model.encode(x)
    np.testing.assert_allclose(mu, x @ model.params["enc.mu.W"] + model.params["enc.mu.b"], rtol=1e-12)
