"""Whole-model gradients of every variant against float64 central differences, noise held fixed,
over architectures drawn by hypothesis, and checks that a deliberately wrong gradient is caught.

The loss differentiated is each model's own ``check_loss`` (through
:func:`numpyvae.gradcheck.models.variant_loss`); tests/test_registry.py runs the same check once over
every registered model in its example configuration."""
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from numpyvae import ops
from numpyvae.gradcheck import check_gradients
from numpyvae.gradcheck.models import variant_loss
from numpyvae.models import CVAE, IWAE, Autoencoder, FullCovVAE, HierarchicalVAE

SMOOTH = ["tanh", "softplus", "sigmoid", "elu"]      # no kinks a finite difference could straddle
LIKELIHOODS = ["bernoulli", "gaussian", "gaussian_sigmoid", "gaussian_fixed"]
HYP = settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
hidden_st = st.lists(st.integers(2, 5), min_size=0, max_size=2)
# A central difference of a loss f carries a round-off error of about 1e-16 |f| / h = 1e-11 |f|, so a
# relative error of 1e-6 can only be resolved while |f| is moderate. Draws whose initial loss is
# astronomically large (unbounded activations can drive a log-variance head to -25, a loss of 1e10)
# are skipped rather than checked with a looser tolerance.
MAX_LOSS = 1e4


def _check(model, x, eps=None, drawn=False, c=None):
    """Check model.loss_and_grads against differences of its training loss (-mean bound or ELBO) with
    ``eps`` fixed. ``drawn``: the model comes from hypothesis, skip it if its loss is beyond MAX_LOSS."""
    loss_fn, grads = variant_loss(model, x, eps, c)
    if drawn:
        assume(abs(loss_fn()) < MAX_LOSS)
    return check_gradients(loss_fn, model.params, grads, rng=0)


@HYP
@given(hidden=hidden_st, activation=st.sampled_from(SMOOTH), likelihood=st.sampled_from(LIKELIHOODS),
       input_dim=st.integers(2, 6), latent_dim=st.integers(1, 3), batch=st.integers(1, 3), k=st.integers(1, 4),
       groups=st.integers(1, 2), beta=st.floats(0.5, 1.5), seed=st.integers(0, 2**16))
def test_iwae_gradient_is_the_exact_gradient_of_the_k_sample_bound(hidden, activation, likelihood, input_dim,
                                                                   latent_dim, batch, k, groups, beta, seed):
    rng = np.random.default_rng(seed)
    model = IWAE(input_dim, hidden, latent_dim, k=k, likelihood=likelihood, activation=activation, beta=beta,
                 rng=rng, init="glorot", sigma=0.7)
    x = rng.uniform(size=(batch, input_dim))
    report = _check(model, x, rng.standard_normal((groups * k, batch, latent_dim)), drawn=True)
    assert {r.name for r in report.rows} == set(model.params)
    assert report.passed(1e-6), report.table()


@HYP
@given(hidden=hidden_st, hidden2=hidden_st, activation=st.sampled_from(SMOOTH),
       likelihood=st.sampled_from(LIKELIHOODS), z1=st.integers(1, 3), z2=st.integers(1, 2), batch=st.integers(1, 3),
       k=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_hierarchical_gradient_matches_finite_differences(hidden, hidden2, activation, likelihood, z1, z2, batch, k,
                                                          seed):
    rng = np.random.default_rng(seed)
    model = HierarchicalVAE(5, hidden, (z1, z2), hidden2, k=k, likelihood=likelihood, activation=activation,
                            rng=rng, init="glorot", sigma=0.7)
    x = rng.uniform(size=(batch, 5))
    report = _check(model, x, rng.standard_normal((2 * k, batch, z1 + z2)), drawn=True)
    assert {r.name for r in report.rows} == set(model.params)
    assert report.passed(1e-6), report.table()


@HYP
@given(hidden=hidden_st, activation=st.sampled_from(SMOOTH), likelihood=st.sampled_from(LIKELIHOODS),
       estimator=st.sampled_from(["analytic", "mc"]), latent_dim=st.integers(1, 4), batch=st.integers(1, 3),
       n_samples=st.integers(1, 3), beta=st.floats(0.5, 1.5), seed=st.integers(0, 2**16))
def test_fullcov_gradient_matches_finite_differences(hidden, activation, likelihood, estimator, latent_dim, batch,
                                                     n_samples, beta, seed):
    rng = np.random.default_rng(seed)
    model = FullCovVAE(5, hidden, latent_dim, likelihood=likelihood, activation=activation, estimator=estimator,
                       beta=beta, rng=rng, init="glorot", sigma=0.7)
    x = rng.uniform(size=(batch, 5))
    report = _check(model, x, rng.standard_normal((n_samples, batch, latent_dim)), drawn=True)
    assert {r.name for r in report.rows} == set(model.params)
    assert report.passed(1e-6), report.table()


@HYP
@given(hidden=hidden_st, activation=st.sampled_from(SMOOTH), likelihood=st.sampled_from(LIKELIHOODS),
       estimator=st.sampled_from(["analytic", "mc"]), condition_dim=st.integers(1, 4), latent_dim=st.integers(1, 3),
       batch=st.integers(1, 4), n_samples=st.integers(1, 2), seed=st.integers(0, 2**16))
def test_cvae_gradient_matches_finite_differences(hidden, activation, likelihood, estimator, condition_dim, latent_dim,
                                                  batch, n_samples, seed):
    rng = np.random.default_rng(seed)
    model = CVAE(5, condition_dim, hidden, latent_dim, likelihood=likelihood, activation=activation,
                 estimator=estimator, rng=rng, init="glorot", sigma=0.7)
    x = rng.uniform(size=(batch, 5))
    labels = rng.integers(0, condition_dim, batch)
    report = _check(model, x, rng.standard_normal((n_samples, batch, latent_dim)), drawn=True, c=labels)
    assert {r.name for r in report.rows} == set(model.params)
    assert report.passed(1e-6), report.table()


@pytest.mark.parametrize("loss", ["bernoulli", "squared_error"])
@pytest.mark.parametrize("hidden", [(), (4,), (5, 3)])
def test_autoencoder_gradient_matches_finite_differences(loss, hidden, rng):
    model = Autoencoder(6, hidden, 3, loss=loss, activation="tanh", rng=rng, init="glorot")
    x = rng.uniform(size=(4, 6))
    report = _check(model, x)
    assert {r.name for r in report.rows} == set(model.params)
    assert report.passed(1e-6), report.table()


def test_paper_sized_iwae_gradient(rng):
    # MNIST-shaped input, binary data, k = 5; 40 random entries per tensor plus a direction
    model = IWAE(784, (20, 10), 5, k=5, rng=rng, init="glorot")
    x = (rng.uniform(size=(4, 784)) > 0.5).astype(float)
    report = _check(model, x, rng.standard_normal((5, 4, 5)))
    assert report.passed(1e-6), report.table()


# ---------------------------------------------------------------- the checks can fail
def test_iwae_check_catches_elbo_weights_in_place_of_importance_weights(monkeypatch, rng):
    import numpyvae.models.importance as importance

    def uniform_weights(dbound, cache):                             # the VAE gradient: w~_i = 1/k
        w_norm, S = cache
        return ops.importance.iwae_bound_backward(dbound, (np.full_like(w_norm, 1 / w_norm.shape[1]), S))

    model = IWAE(5, (4,), 2, k=3, rng=rng, init="glorot")
    x, eps = rng.uniform(size=(3, 5)), rng.standard_normal((3, 3, 2))
    assert _check(model, x, eps).passed(1e-6)
    monkeypatch.setattr(importance, "iwae_bound_backward", uniform_weights)
    report = _check(model, x, eps)
    assert not report.passed(1e-6)
    assert report.max_rel_err > 1e-3


def test_fullcov_check_catches_a_wrong_scale_gradient(monkeypatch, rng):
    import numpyvae.models.fullcov as fullcov

    def wrong(dL, cache):
        dlog_std, doffdiag = ops.fullcov.scale_tril_backward(dL, cache)
        return dlog_std, 0.99 * doffdiag

    model = FullCovVAE(5, (4,), 3, rng=rng, init="glorot")
    x, eps = rng.uniform(size=(3, 5)), rng.standard_normal((1, 3, 3))
    monkeypatch.setattr(fullcov, "scale_tril_backward", wrong)
    report = _check(model, x, eps)
    failed = {r.name for r in report.failures(1e-6)}
    assert {"enc.offdiag.W", "enc.offdiag.b"} <= failed                 # the head itself and the trunk below it
    assert not failed & {"enc.mu.W", "enc.log_std.b", "dec.logits.W"}  # untouched paths still pass


def test_hierarchical_check_catches_a_dropped_fan_out_term(monkeypatch, rng):
    import numpyvae.models.hierarchical as hierarchical

    calls = []

    def drop_first_prior_gradient(dlogp, cache):                    # forget d log N(z2; 0, I) / d z2
        calls.append(1)
        return 0 * ops.log_standard_normal_backward(dlogp, cache)

    model = HierarchicalVAE(5, (4,), (2, 2), (3,), k=2, rng=rng, init="glorot")
    x, eps = rng.uniform(size=(3, 5)), rng.standard_normal((2, 3, 4))
    monkeypatch.setattr(hierarchical, "log_standard_normal_backward", drop_first_prior_gradient)
    report = _check(model, x, eps)
    assert calls and not report.passed(1e-6)
