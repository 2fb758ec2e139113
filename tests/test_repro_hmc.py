"""Hamiltonian Monte Carlo over z: the gradient of log p(x, z), the leapfrog map, the sampler."""
import numpy as np
import pytest

import numpyvae as nv
from numpyvae.gradcheck import check_gradients
from numpyvae.evaluation.hmc import HMCSampler, adapt_step_size, leapfrog, potential_and_grad
from numpyvae.evaluation.linear_gaussian import linear_gaussian_posterior
from numpyvae.models.log_joint import log_joint
from _linear_vae import make_data, ppca_vae


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian_sigmoid", "gaussian"])
def test_log_joint_gradients_match_finite_differences(likelihood):
    rng = np.random.default_rng(0)
    model = nv.VAE(6, (5,), 3, likelihood=likelihood, dtype=np.float64, rng=1, init="glorot")
    x = rng.uniform(0.05, 0.95, size=(4, 6))
    z = rng.standard_normal((4, 3))
    w = rng.standard_normal(4)                                   # random upstream weights, not ones
    _, grads, dz = log_joint(model, x, z, w)
    params = {"z": z, **{k: model.params[k] for k in grads}}
    report = check_gradients(lambda: float(np.sum(w * log_joint(model, x, z))), params, {"z": dz, **grads}, rng=3)
    assert report.passed(1e-6), report.table()


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian_sigmoid", "gaussian"])
def test_log_joint_without_parameter_gradients_gives_the_same_dz(likelihood):
    # HMC asks for dz alone (need_params=False); it must be the very dz of the full backward pass
    rng = np.random.default_rng(4)
    model = nv.VAE(6, (5, 4), 3, likelihood=likelihood, dtype=np.float64, rng=2, init="glorot")
    x = rng.uniform(0.05, 0.95, size=(7, 6))
    z = rng.standard_normal((7, 3))
    w = rng.standard_normal(7)
    logp, grads, dz = log_joint(model, x, z, w)
    logp2, grads2, dz2 = log_joint(model, x, z, w, need_params=False)
    assert grads and grads2 == {}
    np.testing.assert_array_equal(logp2, logp)
    np.testing.assert_array_equal(dz2, dz)
    _, gu = potential_and_grad(model, x, z)
    np.testing.assert_array_equal(gu, -log_joint(model, x, z, np.ones(7))[2])


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian_sigmoid", "gaussian", "gaussian_fixed"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_gradient_without_the_value_is_the_same_gradient(likelihood, dtype):
    # need_value=False (a leapfrog step inside a trajectory) must change nothing but the skipped value
    rng = np.random.default_rng(5)
    model = nv.VAE(6, (5,), 3, likelihood=likelihood, dtype=dtype, rng=2, init="glorot")
    x = rng.uniform(0.05, 0.95, size=(7, 6)).astype(dtype)
    z = rng.standard_normal((7, 3)).astype(dtype)
    w = rng.standard_normal(7).astype(dtype)
    for need_params in (True, False):
        logp, grads, dz = log_joint(model, x, z, w, need_params=need_params)
        none, grads2, dz2 = log_joint(model, x, z, w, need_params=need_params, need_value=False)
        assert none is None and logp.shape == (7,)
        np.testing.assert_array_equal(dz2, dz)
        assert grads2.keys() == grads.keys()
        for k in grads:
            np.testing.assert_array_equal(grads2[k], grads[k])
    u, gu = potential_and_grad(model, x, z)
    none, gu2 = potential_and_grad(model, x, z, need_value=False)
    assert none is None and u.shape == (7,)
    np.testing.assert_array_equal(gu2, gu)


def _leapfrog_reference(model, x, z, r, step_size, n_steps):
    """The leapfrog map as written in the module docstring, U formed at every step."""
    eps = step_size[:, None]
    r = r - 0.5 * eps * potential_and_grad(model, x, z)[1]
    for i in range(n_steps):
        z = z + eps * r
        u, grad_u = potential_and_grad(model, x, z)
        r = r - (eps if i < n_steps - 1 else 0.5 * eps) * grad_u
    return z, r, u, grad_u


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_leapfrog_agrees_with_the_reference_that_forms_u_at_every_step(likelihood):
    rng = np.random.default_rng(6)
    model = nv.VAE(6, (5,), 2, likelihood=likelihood, dtype=np.float32, rng=3, init="glorot")
    x = rng.uniform(0.05, 0.95, size=(4, 6)).astype(np.float32)
    z0, r0 = rng.standard_normal((4, 2)).astype(np.float32), rng.standard_normal((4, 2)).astype(np.float32)
    step = np.full(4, 0.05, dtype=np.float32)
    fast, ref = leapfrog(model, x, z0, r0, step, 10), _leapfrog_reference(model, x, z0, r0, step, 10)
    for a, b in zip(fast, ref):
        np.testing.assert_array_equal(a, b)
    assert np.abs(fast[0] - z0).max() > 0.05


def test_potential_is_minus_log_joint_per_datapoint():
    rng = np.random.default_rng(1)
    model = nv.VAE(6, (5,), 2, dtype=np.float64, rng=1)
    x = rng.uniform(size=(3, 6))
    z = rng.standard_normal((3, 2))
    u, gu = potential_and_grad(model, x, z)
    np.testing.assert_allclose(u, -log_joint(model, x, z))
    # the gradient of chain b depends on z_b only
    z2 = z.copy()
    z2[0] += 1.0
    np.testing.assert_allclose(potential_and_grad(model, x, z2)[1][1:], gu[1:])


def test_leapfrog_is_reversible():
    rng = np.random.default_rng(2)
    model = nv.VAE(6, (5,), 2, dtype=np.float64, rng=3, init="glorot")
    x = rng.uniform(size=(3, 6))
    z0, r0 = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    step = np.full(3, 0.05)
    z1, r1, _, _ = leapfrog(model, x, z0, r0, step, 10)
    z2, r2, _, _ = leapfrog(model, x, z1, -r1, step, 10)
    np.testing.assert_allclose(z2, z0, atol=1e-12)
    np.testing.assert_allclose(-r2, r0, atol=1e-12)
    assert np.abs(z1 - z0).max() > 0.05


def test_adaptation_moves_the_step_size_towards_the_target():
    step = np.array([0.1, 0.1])
    new = adapt_step_size(step, np.array([1.0, 0.2]), target=0.9)
    assert new[0] > 0.1 and new[1] < 0.1


def test_hmc_samples_the_exact_posterior_of_a_linear_gaussian_model():
    rng = np.random.default_rng(3)
    x = make_data(rng, n=50)[:4]
    model, (W, mean, sigma2) = ppca_vae(make_data(np.random.default_rng(3), n=50), 2)
    m, C = linear_gaussian_posterior(x, mean, W, sigma2)
    sampler = HMCSampler(model, n_leapfrog=10)
    z, step = sampler.init(x)
    z = z + 1.0                                                 # start away from the mode
    z, step = sampler.run(x, z, step, 100, rng)
    assert 0.8 < np.mean(sampler.accept_rates_[-20:]) < 0.97   # tuned to about 90 %
    samples, _, _ = sampler.sample(x, z, step, 1500, rng)       # (1500, 4, 2)
    sd = np.sqrt(np.diag(C))
    np.testing.assert_allclose(samples.mean(axis=0), m, atol=0.15 * sd.max())
    np.testing.assert_allclose(samples.std(axis=0), np.broadcast_to(sd, (4, 2)), rtol=0.1)


def test_sampler_rejects_bad_settings():
    model = nv.VAE(4, (), 2, dtype=np.float64, rng=0)
    with pytest.raises(ValueError, match="n_leapfrog"):
        HMCSampler(model, n_leapfrog=0)
    with pytest.raises(ValueError, match="target_accept"):
        HMCSampler(model, target_accept=1.5)
