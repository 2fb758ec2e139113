"""The ops' optional ``out`` arrays, scalar upstream weights and the ones-vector sums give the same
numbers as the plain calls (the plain calls are what the finite-difference checks cover)."""
import numpy as np
import pytest

import numpyvae as nv
from numpyvae import ops
from numpyvae.ops.activations import ACTIVATIONS
from numpyvae.ops.reductions import sum_first_axis, sum_last_axis
from numpyvae.arrays.workspace import Workspace


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_out_arrays_give_the_plain_results(name, dtype):
    rng = np.random.default_rng(0)
    fwd, bwd = ACTIVATIONS[name]
    x = (2 * rng.standard_normal((5, 7))).astype(dtype)
    dy = rng.standard_normal((5, 7)).astype(dtype)
    y, cache = fwd(x)
    dx = bwd(dy, cache)
    out = np.full_like(x, np.nan)
    y_out, cache_out = fwd(x, out=out)
    np.testing.assert_array_equal(y_out, y)
    dout = np.full_like(x, np.nan)
    dx_out = bwd(dy, cache_out, out=dout)
    np.testing.assert_array_equal(dx_out, dx)
    assert y.dtype == dtype and dx.dtype == dtype
    if name != "identity":                                            # identity returns its input as is
        assert y_out is out and dx_out is dout


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_out_arrays_and_the_skipped_input_gradient(dtype):
    rng = np.random.default_rng(1)
    x, W, b, dy = (rng.standard_normal(s).astype(dtype) for s in [(6, 4), (4, 3), (3,), (6, 3)])
    y, cache = ops.linear_forward(x, W, b)
    dx, dW, db = ops.linear_backward(dy, cache)
    np.testing.assert_allclose(y, x @ W + b, rtol=1e-6)
    np.testing.assert_allclose(db, dy.sum(axis=0), rtol=1e-6)
    out = np.empty((6, 3), dtype)
    y2, cache2 = ops.linear_forward(x, W, b, out=out)
    assert y2 is out
    np.testing.assert_array_equal(y2, y)
    bufs = (np.empty_like(x), np.empty_like(W), np.empty_like(b))
    got = ops.linear_backward(dy, cache2, out=bufs)
    for g, ref, buf in zip(got, (dx, dW, db), bufs):
        assert g is buf
        np.testing.assert_array_equal(g, ref)
    none, dW3, db3 = ops.linear_backward(dy, cache2, need_dx=False)
    assert none is None
    np.testing.assert_array_equal(dW3, dW)
    np.testing.assert_array_equal(db3, db)
    dx4, no_W, no_b = ops.linear_backward(dy, cache2, need_params=False)
    assert no_W is None and no_b is None
    np.testing.assert_array_equal(dx4, dx)


@pytest.mark.parametrize("logits_shape", [(2, 3, 5), (3, 5), (4, 1, 5)])
def test_bernoulli_loglik_out_and_workspace_give_the_plain_results(logits_shape):
    rng = np.random.default_rng(2)
    x = rng.uniform(size=(3, 5))
    logits = 4 * rng.standard_normal(logits_shape)
    ll, cache = ops.bernoulli_loglik_forward(x, logits)
    # independent reference, term by term: x log sigmoid(eta) + (1 - x) log(1 - sigmoid(eta))
    p = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(ll, (x * np.log(p) + (1 - x) * np.log1p(-p)).sum(-1), rtol=1e-12)
    shape = np.broadcast_shapes(x.shape, logits_shape)
    out = np.empty(shape[:-1])
    ws = Workspace()
    for _ in range(2):
        ll2, cache2 = ops.bernoulli_loglik_forward(x, logits, out=out, workspace=ws)
        assert ll2 is out
        np.testing.assert_array_equal(ll2, ll)
    dll = rng.standard_normal(shape[:-1])
    d = ops.bernoulli_loglik_backward(dll, cache)
    np.testing.assert_allclose(d, dll[..., None] * (x - p), rtol=1e-12, atol=1e-15)
    dout = np.empty(shape)
    assert ops.bernoulli_loglik_backward(dll, cache2, out=dout) is dout
    np.testing.assert_array_equal(dout, d)


def test_scalar_upstream_weights_equal_the_broadcast_array():
    rng = np.random.default_rng(3)
    w = -0.37
    x = rng.uniform(size=(3, 5))
    _, c = ops.bernoulli_loglik_forward(x, rng.standard_normal((2, 3, 5)))
    np.testing.assert_allclose(ops.bernoulli_loglik_backward(np.asarray(w), c),
                               ops.bernoulli_loglik_backward(np.full((2, 3), w), c), rtol=1e-15)
    _, c = ops.gaussian_loglik_forward(x, rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 3, 5)))
    for a, b in zip(ops.gaussian_loglik_backward(np.asarray(w), c), ops.gaussian_loglik_backward(np.full((2, 3), w), c)):
        np.testing.assert_allclose(a, b, rtol=1e-15)
    mu, logvar = rng.standard_normal((2, 3, 4))
    _, c = ops.kl_standard_normal_forward(mu, logvar)
    for a, b in zip(ops.kl_standard_normal_backward(np.asarray(w), c), ops.kl_standard_normal_backward(np.full(3, w), c)):
        np.testing.assert_allclose(a, b, rtol=1e-15)
    z = rng.standard_normal((2, 3, 4))
    _, c = ops.log_normal_forward(z, mu, logvar)
    for a, b in zip(ops.log_normal_backward(np.asarray(w), c), ops.log_normal_backward(np.full((2, 3), w), c)):
        np.testing.assert_allclose(a, b, rtol=1e-15)
    _, c = ops.log_standard_normal_forward(z)
    np.testing.assert_allclose(ops.log_standard_normal_backward(np.asarray(w), c),
                               ops.log_standard_normal_backward(np.full((2, 3), w), c), rtol=1e-15)


@pytest.mark.parametrize("estimator", ["analytic", "mc"])
@pytest.mark.parametrize("likelihood", nv.LIKELIHOODS)
def test_model_backward_with_a_scalar_weight_equals_the_per_datapoint_weights(likelihood, estimator):
    rng = np.random.default_rng(4)
    model = nv.VAE(6, (5,), 2, likelihood=likelihood, estimator=estimator, rng=0, init="glorot")
    x = rng.uniform(size=(4, 6))
    eps = rng.standard_normal((3, 4, 2))
    _, cache = model.forward(x, eps)
    scalar = model.backward(np.asarray(-0.25), cache)
    _, cache = model.forward(x, eps)
    array = model.backward(np.full(4, -0.25), cache)
    for name in model.params:
        np.testing.assert_allclose(scalar[name], array[name], rtol=1e-13, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7,), (3, 7), (2, 3, 7), (1, 1), (0, 4)])
def test_ones_vector_sums_equal_numpy_sums(shape, dtype):
    rng = np.random.default_rng(5)
    a = rng.standard_normal(shape).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(sum_last_axis(a), a.sum(axis=-1), rtol=rtol, atol=rtol)
    out = np.empty(shape[:-1], dtype)
    assert sum_last_axis(a, out=out) is out
    if a.ndim == 2:
        np.testing.assert_allclose(sum_first_axis(a), a.sum(axis=0), rtol=rtol, atol=rtol)
        np.testing.assert_allclose(sum_first_axis(np.asfortranarray(a)), a.sum(axis=0), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softplus_and_sigmoid_out_arrays(dtype):
    t = np.array([-1e4, -30.0, -1.5, 0.0, 0.7, 30.0, 1e4], dtype=dtype)
    for f in (ops.softplus, ops.sigmoid):
        out = np.empty_like(t)
        assert f(t, out=out) is out
        np.testing.assert_array_equal(out, f(t))
    s = t.copy()
    ops.sigmoid(s, out=s)                                             # documented: out may be t itself
    np.testing.assert_array_equal(s, ops.sigmoid(t))


@pytest.mark.parametrize("logvar_shape", [(2, 3, 5), (5,), ()], ids=["learned", "per dimension", "fixed"])
def test_gaussian_loglik_out_and_workspace_give_the_plain_results(logvar_shape):
    rng = np.random.default_rng(6)
    x = rng.uniform(size=(3, 5))
    mean = rng.uniform(size=(2, 3, 5))
    logvar = rng.standard_normal(logvar_shape)
    ll, cache = ops.gaussian_loglik_forward(x, mean, logvar)
    # independent reference: scipy's normal log-density, summed over the data dimensions
    from scipy.stats import norm
    ref = norm.logpdf(x, loc=mean, scale=np.exp(0.5 * np.broadcast_to(logvar, mean.shape))).sum(-1)
    np.testing.assert_allclose(ll, ref, rtol=1e-13)
    dll = rng.standard_normal((2, 3))
    dmean, dlogvar = ops.gaussian_loglik_backward(dll, cache)
    ws = Workspace()
    out = np.empty((2, 3))
    for _ in range(2):                                               # the second call reuses the buffers
        ll2, cache2 = ops.gaussian_loglik_forward(x, mean, logvar, out=out, workspace=ws)
        assert ll2 is out
        np.testing.assert_array_equal(ll2, ll)
        bufs = (np.empty((2, 3, 5)), np.empty((2, 3, 5)) if logvar_shape == (2, 3, 5) else None)
        dmean2, dlogvar2 = ops.gaussian_loglik_backward(dll, cache2, out=bufs)
        assert dmean2 is bufs[0] and (bufs[1] is None or dlogvar2 is bufs[1])
        np.testing.assert_array_equal(dmean2, dmean)
        np.testing.assert_array_equal(dlogvar2, dlogvar)
        assert dlogvar2.shape == logvar_shape
