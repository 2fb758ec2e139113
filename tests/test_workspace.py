"""The workspace path: same numbers as the allocating path, gradients that pass finite differences,
arrays that really are reused, and no large allocation in a steady-state training step."""
import tracemalloc

import numpy as np
import pytest

import numpyvae as nv
from numpyvae.gradcheck import check_gradients
from numpyvae.arrays.workspace import FRESH, Workspace, as_workspace


# ------------------------------------------------------------------------------- the object itself
def test_empty_reuses_the_array_for_an_equal_request():
    ws = Workspace()
    like = np.zeros(1, np.float32)
    a = ws.empty("h", (3, 4), like)
    assert a.shape == (3, 4) and a.dtype == np.float32
    assert ws.empty("h", (3, 4), like) is a
    assert ws.empty("other", (3, 4), like) is not a
    assert len(ws) == 2 and "h" in ws and ws.nbytes == 2 * 3 * 4 * 4


@pytest.mark.parametrize("shape,dtype", [((4, 3), np.float32), ((3, 4), np.float64), ((12,), np.float32)])
def test_empty_reallocates_when_shape_or_dtype_change(shape, dtype):
    ws = Workspace()
    a = ws.empty("h", (3, 4), np.zeros(1, np.float32))
    b = ws.empty("h", shape, np.zeros(1, dtype))
    assert b is not a and b.shape == shape and b.dtype == dtype
    assert ws.empty("h", shape, np.zeros(1, dtype)) is b


def test_scopes_keep_separate_arrays():
    ws = Workspace()
    like = np.zeros(1)
    a = ws.scope("first/").empty("h", (2,), like)
    b = ws.scope("second/").empty("h", (2,), like)
    assert a is not b
    assert ws.scope("first/").empty("h", (2,), like) is a
    assert ws.scope("first/").scope("x/").empty("h", (2,), like) is ws.empty("first/x/h", (2,), like)


def test_fresh_always_allocates_and_none_means_fresh():
    like = np.zeros(1)
    assert FRESH.empty("h", (2,), like) is not FRESH.empty("h", (2,), like)
    assert as_workspace(None) is FRESH
    ws = Workspace()
    assert as_workspace(ws) is ws
    ws.empty("h", (2,), like)
    ws.clear()
    assert len(ws) == 0


def test_a_wrong_workspace_is_named():
    model = nv.VAE(6, (4,), 2, rng=0)
    with pytest.raises(ValueError, match="workspace must be a numpyvae.Workspace"):
        model.loss_and_grads(np.zeros((3, 6)), rng=0, workspace={})


# ------------------------------------------------------------------------------- the model with one
CONFIGS = [
    dict(likelihood="bernoulli", activation="tanh", estimator="analytic", hidden=(5,)),
    dict(likelihood="bernoulli", activation="relu", estimator="mc", hidden=(5, 4)),
    dict(likelihood="bernoulli", activation="identity", estimator="analytic", hidden=()),
    dict(likelihood="gaussian", activation="elu", estimator="mc", hidden=(6,)),
    dict(likelihood="gaussian_sigmoid", activation="sigmoid", estimator="analytic", hidden=(5, 3)),
    dict(likelihood="gaussian_fixed", activation="softplus", estimator="mc", hidden=(4,)),
    dict(likelihood="bernoulli", activation="leaky_relu", estimator="analytic", hidden=(7,)),
]


def _model(cfg, dtype=np.float64):
    return nv.VAE(7, cfg["hidden"], 3, likelihood=cfg["likelihood"], activation=cfg["activation"],
                  estimator=cfg["estimator"], dtype=dtype, rng=0, init="glorot", sigma=0.7)


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(str(v) for v in c.values()))
@pytest.mark.parametrize("n_samples", [1, 3])
def test_workspace_gives_exactly_the_allocating_results(cfg, n_samples):
    rng = np.random.default_rng(1)
    model = _model(cfg)
    ws = Workspace()
    for batch in (6, 6, 4, 6):                                       # equal shapes, then a change
        x = rng.uniform(size=(batch, 7))
        eps = rng.standard_normal((n_samples, batch, 3))
        loss, grads = model.loss_and_grads(x, eps)
        loss_ws, grads_ws = model.loss_and_grads(x, eps, workspace=ws)
        assert loss_ws == loss
        assert list(grads_ws) == list(grads)
        for name in grads:
            np.testing.assert_array_equal(grads_ws[name], grads[name], err_msg=name)


@pytest.mark.parametrize("cfg", [CONFIGS[i] for i in (0, 2, 3, 4, 5)],    # smooth activations: no kink
                         ids=lambda c: "-".join(str(v) for v in c.values()))
def test_workspace_gradients_match_finite_differences(cfg):
    rng = np.random.default_rng(2)
    model = _model(cfg)
    x = rng.uniform(size=(5, 7))
    eps = rng.standard_normal((2, 5, 3))
    ws = Workspace()
    model.loss_and_grads(x, eps, workspace=ws)                       # fill the workspace once
    _, grads = model.loss_and_grads(x, eps, workspace=ws)
    grads = {k: g.copy() for k, g in grads.items()}

    def loss():
        terms, _ = model.forward(x, eps, workspace=ws)
        return -float(terms["elbo"].mean())

    report = check_gradients(loss, model.params, grads, rng=0)
    assert report.passed(1e-6), report.table()


def test_workspace_gradients_are_reused_arrays_and_plain_ones_are_fresh(rng):
    model = nv.VAE(7, (5,), 3, rng=0)
    x = rng.uniform(size=(4, 7))
    ws = Workspace()
    _, g1 = model.loss_and_grads(x, rng=0, workspace=ws)
    _, g2 = model.loss_and_grads(x, rng=1, workspace=ws)
    assert all(g1[k] is g2[k] for k in g1)                           # documented: overwritten
    _, h1 = model.loss_and_grads(x, rng=0)
    _, h2 = model.loss_and_grads(x, rng=1)
    assert not any(np.shares_memory(h1[k], h2[k]) for k in h1)
    assert not any(np.shares_memory(h1[k], g2[k]) for k in h1)


def test_the_data_gradient_is_skipped_but_nothing_else_changes(rng):
    model = nv.VAE(7, (5, 4), 3, rng=0, init="glorot")
    x = rng.uniform(size=(4, 7))
    (mu, logvar), cache = model.encoder.forward(model.params, x)
    dmu, dlogvar = rng.standard_normal((2, 4, 3))
    dx, grads = model.encoder.backward(dmu, dlogvar, cache)
    none, grads_skip = model.encoder.backward(dmu, dlogvar, cache, need_dx=False)
    assert dx.shape == x.shape and none is None
    for name in grads:
        np.testing.assert_array_equal(grads_skip[name], grads[name])


def test_a_training_step_with_a_workspace_allocates_no_large_array(rng):
    # The MNIST model at batch 100: after the first step, all that is allocated at once stays below
    # glibc's 128 KiB mmap threshold (small latent-sized arrays and NumPy's iteration buffers), where
    # an allocating step makes about 10 MB of arrays.
    model = nv.VAE(784, (500,), 20, dtype=np.float32, rng=0)
    x = (rng.uniform(size=(100, 784)) < 0.2).astype(np.float32)
    eps = rng.standard_normal((1, 100, 20)).astype(np.float32)
    opt = nv.Adam(lr=1e-3)
    ws = Workspace()

    def step(**kw):
        _, grads = model.loss_and_grads(x, eps, **kw)
        opt.step(model.params, grads)

    step(workspace=ws)
    step(workspace=ws)
    tracemalloc.start()
    try:
        step(workspace=ws)
        _, peak_ws = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        step()
        _, peak_plain = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak_ws < 128 * 1024, f"a workspace step allocated up to {peak_ws} bytes"
    assert peak_plain - base > 4 * 2**20                              # the check can see allocations


@pytest.mark.parametrize("likelihood", ["gaussian_sigmoid", "gaussian", "gaussian_fixed"])
def test_a_gaussian_decoder_step_with_a_workspace_allocates_no_large_array(likelihood, rng):
    # K&W's Frey Face model at batch 100: the Gaussian log-likelihood's (B, D) arrays come from the
    # workspace too (an allocating step made about 1.4 MB of them)
    model = nv.VAE(560, (200,), 20, likelihood=likelihood, dtype=np.float32, rng=0)
    x = rng.uniform(size=(100, 560)).astype(np.float32)
    eps = rng.standard_normal((1, 100, 20)).astype(np.float32)
    opt = nv.Adam(lr=1e-3)
    ws = Workspace()
    for _ in range(2):
        opt.step(model.params, model.loss_and_grads(x, eps, workspace=ws)[1])
    tracemalloc.start()
    try:
        opt.step(model.params, model.loss_and_grads(x, eps, workspace=ws)[1])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 128 * 1024, f"a workspace step allocated up to {peak} bytes"
