"""Optimizers against textbook formulas written out independently here."""
import numpy as np
import pytest

import numpyvae as nv
from numpyvae.optim import make_optimizer


def _run(opt, steps, seed=0, shape=(4, 3)):
    rng = np.random.default_rng(seed)
    params = {"a": rng.standard_normal(shape), "b": rng.standard_normal(shape[1])}
    grads_seq = [{k: rng.standard_normal(v.shape) for k, v in params.items()} for _ in range(steps)]
    history = []
    for grads in grads_seq:
        opt.step(params, grads)
        history.append({k: v.copy() for k, v in params.items()})
    return params, grads_seq, history


def _reference(update, steps, seed=0, shape=(4, 3)):
    rng = np.random.default_rng(seed)
    params = {"a": rng.standard_normal(shape), "b": rng.standard_normal(shape[1])}
    grads_seq = [{k: rng.standard_normal(v.shape) for k, v in params.items()} for _ in range(steps)]
    state = {}
    for t, grads in enumerate(grads_seq, start=1):
        for k in params:
            params[k] = update(params[k], grads[k], state.setdefault(k, {}), t)
    return params


def adam_ref(lr, b1=0.9, b2=0.999, eps=1e-8):
    def update(p, g, s, t):
        s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0) + (1 - b2) * g ** 2
        m_hat = s["m"] / (1 - b1 ** t)
        v_hat = s["v"] / (1 - b2 ** t)
        return p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return update


def adagrad_ref(lr, eps=1e-8):
    def update(p, g, s, t):
        s["h"] = s.get("h", 0) + g ** 2
        return p - lr * g / (np.sqrt(s["h"]) + eps)
    return update


def rmsprop_ref(lr, rho=0.9, eps=1e-8):
    def update(p, g, s, t):
        s["v"] = rho * s.get("v", 0) + (1 - rho) * g ** 2
        return p - lr * g / (np.sqrt(s["v"]) + eps)
    return update


def momentum_ref(lr, mu, nesterov=False):
    def update(p, g, s, t):
        s["v"] = mu * s.get("v", 0) + g
        return p - lr * (g + mu * s["v"] if nesterov else s["v"])
    return update


@pytest.mark.parametrize("opt,ref", [
    (nv.Adam(lr=0.01), adam_ref(0.01)),
    (nv.Adam(lr=0.1, beta1=0.5, beta2=0.9, eps=1e-3), adam_ref(0.1, 0.5, 0.9, 1e-3)),
    (nv.Adagrad(lr=0.05), adagrad_ref(0.05)),
    (nv.RMSProp(lr=0.01, rho=0.8), rmsprop_ref(0.01, 0.8)),
    (nv.SGD(lr=0.1), momentum_ref(0.1, 0.0)),
    (nv.SGD(lr=0.1, momentum=0.9), momentum_ref(0.1, 0.9)),
    (nv.SGD(lr=0.1, momentum=0.9, nesterov=True), momentum_ref(0.1, 0.9, nesterov=True)),
])
def test_optimizer_matches_textbook_formula(opt, ref):
    ours, _, _ = _run(opt, 7)
    theirs = _reference(ref, 7)
    for k in ours:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-12, atol=1e-14)


def test_weight_decay_is_the_gradient_of_a_gaussian_prior():
    lam = 0.3
    rng = np.random.default_rng(0)
    p0 = {"w": rng.standard_normal(5)}
    g = {"w": rng.standard_normal(5)}
    a = {"w": p0["w"].copy()}
    nv.SGD(lr=0.1, weight_decay=lam).step(a, g)
    b = {"w": p0["w"].copy()}
    nv.SGD(lr=0.1).step(b, {"w": g["w"] + lam * p0["w"]})          # d/dw [lam/2 |w|^2] = lam w
    np.testing.assert_allclose(a["w"], b["w"], rtol=1e-15)


def test_clip_norm_rescales_the_global_gradient():
    params = {"a": np.zeros(3), "b": np.zeros(4)}
    grads = {"a": np.full(3, 3.0), "b": np.full(4, 4.0)}
    opt = nv.SGD(lr=1.0, clip_norm=1.0)
    norm = opt.global_norm(grads)
    opt.step(params, grads)
    step = np.concatenate([-params["a"], -params["b"]])
    np.testing.assert_allclose(np.linalg.norm(step), 1.0, rtol=1e-12)
    np.testing.assert_allclose(step, np.concatenate([grads["a"], grads["b"]]) / norm, rtol=1e-12)
    small = {"a": np.zeros(3), "b": np.zeros(4)}
    nv.SGD(lr=1.0, clip_norm=100.0).step(small, grads)              # under the cap: unchanged
    np.testing.assert_allclose(-small["a"], grads["a"])


@pytest.mark.parametrize("name", ["sgd", "adagrad", "rmsprop", "adam"])
def test_state_dict_resumes_exactly(name):
    kw = {"lr": 0.01} if name != "sgd" else {"lr": 0.01, "momentum": 0.9}
    full, grads_seq, _ = _run(make_optimizer(name, **kw), 6)

    rng = np.random.default_rng(0)
    params = {"a": rng.standard_normal((4, 3)), "b": rng.standard_normal(3)}
    first = make_optimizer(name, **kw)
    for g in grads_seq[:3]:
        first.step(params, g)
    state = first.state_dict()
    second = make_optimizer(name, **kw)
    second.load_state_dict({**state, "slots": {s: {k: v.copy() for k, v in a.items()} for s, a in state["slots"].items()}})
    for g in grads_seq[3:]:
        second.step(params, g)
    for k in params:
        np.testing.assert_array_equal(params[k], full[k])


def test_optimizer_rejects_mismatched_grads_and_bad_options():
    with pytest.raises(ValueError, match="different keys"):
        nv.Adam().step({"a": np.zeros(2)}, {"b": np.zeros(2)})
    with pytest.raises(ValueError, match="shape"):
        nv.Adam().step({"a": np.zeros(2)}, {"a": np.zeros(3)})
    with pytest.raises(ValueError, match="lr"):
        nv.Adam(lr=-1)
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        make_optimizer("lbfgs")
    with pytest.raises(ValueError, match="optimizer state is for 'adam'"):
        nv.SGD().load_state_dict(nv.Adam().state_dict())


@pytest.mark.parametrize("name", ["sgd", "adagrad", "rmsprop", "adam"])
def test_optimizers_minimise_a_quadratic(name):
    target = np.linspace(-1, 1, 5)
    params = {"w": np.zeros(5)}
    opt = make_optimizer(name, lr=0.05)
    for _ in range(2000):
        opt.step(params, {"w": params["w"] - target})               # grad of |w - target|^2 / 2
    np.testing.assert_allclose(params["w"], target, atol=2e-2)


def test_step_keeps_dtype_and_identity_of_arrays():
    params = {"w": np.ones(4, dtype=np.float32)}
    ref = params["w"]
    nv.Adam(lr=0.1, weight_decay=0.1, clip_norm=1.0).step(params, {"w": np.ones(4, dtype=np.float32)})
    assert params["w"] is ref and ref.dtype == np.float32
