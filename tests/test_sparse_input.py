"""The data layer that skips the all-zero columns of the minibatch (MNIST's dark pixels) against the
plain product: the same numbers to rounding, gradient rows of the skipped pixels exactly zero, no
stale buffer when the set of used columns changes, and the model's paths still equal bit for bit."""
import tracemalloc

import numpy as np
import pytest

import numpyvae as nv
from numpyvae.arrays.workspace import Workspace
from numpyvae.ops.linear import (SPARSE_FRACTION, linear_backward, linear_forward, linear_skip_zero_columns_backward,
                                 linear_skip_zero_columns_forward)

RTOL = {np.float32: 2e-6, np.float64: 1e-13}


def _sparse_x(rng, shape, zero_columns, dtype):
    """Binary-and-grey data like MNIST: about 40 % of the entries nonzero, some columns zero in every row."""
    x = rng.uniform(size=shape) * (rng.uniform(size=shape) < 0.4)
    x[0] += 0.5                                                       # every other column is used
    x[:, zero_columns] = 0.0
    return x.astype(dtype)


def _close(a, b, dtype, what):
    scale = max(float(np.abs(b).max()), 1e-30)
    np.testing.assert_allclose(a, b, rtol=0, atol=RTOL[dtype] * scale, err_msg=what)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("zero_columns", [[0, 3, 4, 5, 9, 10, 11], list(range(12)), []],
                         ids=["some zero columns", "all zero", "none zero"])
def test_skipping_zero_columns_agrees_with_the_plain_product(zero_columns, dtype):
    rng = np.random.default_rng(0)
    x = _sparse_x(rng, (6, 12), zero_columns, dtype)
    W, b, dy = (rng.standard_normal(s).astype(dtype) for s in [(12, 5), (5,), (6, 5)])
    y_ref, cache_ref = linear_forward(x, W, b)
    dx_ref, dW_ref, db_ref = linear_backward(dy, cache_ref)
    y, cache = linear_skip_zero_columns_forward(x, W, b)
    dx, dW, db = linear_skip_zero_columns_backward(dy, cache)
    assert (cache[2] is None) == (len(zero_columns) == 0)           # no zero column: the plain product
    for got, ref, what in [(y, y_ref, "y"), (dx, dx_ref, "dx"), (dW, dW_ref, "dW"), (db, db_ref, "db")]:
        assert got.shape == ref.shape and got.dtype == dtype, what
        _close(got, ref, dtype, what)
    assert np.all(dW[zero_columns] == 0.0)                           # exactly: no term reaches them
    none, dW2, db2 = linear_skip_zero_columns_backward(dy, cache, need_dx=False)
    assert none is None
    np.testing.assert_array_equal(dW2, dW)
    np.testing.assert_array_equal(db2, db)
    dx3, no_W, no_b = linear_skip_zero_columns_backward(dy, cache, need_params=False)
    assert no_W is None and no_b is None
    np.testing.assert_array_equal(dx3, dx)


def test_mostly_used_columns_take_the_plain_product():
    rng = np.random.default_rng(1)
    assert 18 > SPARSE_FRACTION * 20                                 # 2 zero columns of 20: too few to pay
    x = _sparse_x(rng, (8, 20), [0, 1], np.float64)
    W, b = rng.standard_normal((20, 3)), rng.standard_normal(3)
    y, cache = linear_skip_zero_columns_forward(x, W, b)
    assert cache[2] is None
    np.testing.assert_array_equal(y, linear_forward(x, W, b)[0])


def test_buffers_reused_across_calls_with_other_zero_columns_give_fresh_results():
    rng = np.random.default_rng(2)
    W, b = rng.standard_normal((30, 4)), rng.standard_normal(4)
    ws = Workspace()
    y_out, dx_out, dW_out, db_out = np.empty((7, 4)), np.empty((7, 30)), np.empty((30, 4)), np.empty(4)
    for zero_columns in ([1, 2, 3, 20, 21], list(range(0, 30, 2)), [5], list(range(10, 30))):
        x = _sparse_x(rng, (7, 30), zero_columns, np.float64)
        dy = rng.standard_normal((7, 4))
        y, cache = linear_skip_zero_columns_forward(x, W, b, out=y_out, workspace=ws)
        dx, dW, db = linear_skip_zero_columns_backward(dy, cache, out=(dx_out, dW_out, db_out), workspace=ws)
        assert y is y_out and dx is dx_out and dW is dW_out and db is db_out
        y_ref, cache_ref = linear_forward(x, W, b)
        for got, ref in zip((y, dx, dW, db), (y_ref, *linear_backward(dy, cache_ref))):
            _close(got, ref, np.float64, str(zero_columns))
        assert np.all(dW[zero_columns] == 0.0)


def _mnist_like(rng, B, dtype):
    """28 x 28 images with a dark border and a lit middle, as MNIST's: a third of the columns unused."""
    img = np.zeros((B, 28, 28))
    img[:, 5:23, 6:22] = rng.uniform(size=(B, 18, 16)) * (rng.uniform(size=(B, 18, 16)) < 0.5)
    return img.reshape(B, 784).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_vae_gradient_with_skipped_columns_equals_the_plain_one_to_rounding(dtype):
    rng = np.random.default_rng(3)
    x = _mnist_like(rng, 20, dtype)
    eps = rng.standard_normal((2, 20, 4)).astype(dtype)
    skipping = nv.VAE(784, (30,), 4, dtype=dtype, rng=0, init="glorot")
    plain = nv.VAE(784, (30,), 4, dtype=dtype, rng=0, init="glorot")
    assert skipping.encoder.trunk.layers[0].skip_zero_columns
    plain.encoder.trunk.layers[0].skip_zero_columns = False
    loss, grads = skipping.loss_and_grads(x, eps)
    loss_ref, grads_ref = plain.loss_and_grads(x, eps)
    assert loss == pytest.approx(loss_ref, rel=RTOL[dtype])
    for name in grads_ref:
        _close(grads[name], grads_ref[name], dtype, name)
    unused = ~x.any(axis=0)
    assert unused.sum() > 784 // 3
    assert np.all(grads["enc.0.W"][unused] == 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_with_sparse_data_the_workspace_path_still_equals_the_allocating_path_exactly(dtype):
    rng = np.random.default_rng(4)
    model = nv.VAE(784, (30,), 4, dtype=dtype, rng=0, init="glorot")
    ws = Workspace()
    for B in (20, 20, 7):                                            # the used columns change every call
        x = _mnist_like(rng, B, dtype)
        eps = rng.standard_normal((1, B, 4)).astype(dtype)
        loss, grads = model.loss_and_grads(x, eps)
        loss_ws, grads_ws = model.loss_and_grads(x, eps, workspace=ws)
        assert loss_ws == loss
        for name in grads:
            np.testing.assert_array_equal(grads_ws[name], grads[name], err_msg=name)


def test_a_workspace_step_on_sparse_data_allocates_no_large_array():
    rng = np.random.default_rng(5)
    model = nv.VAE(784, (500,), 20, dtype=np.float32, rng=0)
    batches = [_mnist_like(rng, 100, np.float32) for _ in range(3)]
    eps = rng.standard_normal((1, 100, 20)).astype(np.float32)
    opt = nv.Adam(lr=1e-3)
    ws = Workspace()
    for x in batches[:2]:
        opt.step(model.params, model.loss_and_grads(x, eps, workspace=ws)[1])
    tracemalloc.start()
    try:
        opt.step(model.params, model.loss_and_grads(batches[2], eps, workspace=ws)[1])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 128 * 1024, f"a workspace step allocated up to {peak} bytes"
