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


# --------------------------------------------------------------------------- blocks, the flat vector
from numpyvae.arrays.inplace import BLOCK_BYTES, blocks, joined, pack  # noqa: E402

OPTIMIZER_KWARGS = [("adam", {"lr": 0.01}), ("adam", {"lr": 0.01, "weight_decay": 0.1, "clip_norm": 1.0}),
                    ("adagrad", {"lr": 0.05}), ("rmsprop", {"lr": 0.01, "rho": 0.8}),
                    ("sgd", {"lr": 0.1}), ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
                    ("sgd", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01})]
# one tensor spans several blocks; the others are the small sizes of biases and latent heads
SHAPES = {"W": (400, 300), "b": (300,), "head": (25, 7), "c": (7,)}


def _problem(seed, dtype=np.float64, steps=4):
    rng = np.random.default_rng(seed)
    params = {k: rng.standard_normal(s).astype(dtype) for k, s in SHAPES.items()}
    grads = [{k: rng.standard_normal(s).astype(dtype) for k, s in SHAPES.items()} for _ in range(steps)]
    return params, grads


@pytest.mark.parametrize("name,kw", OPTIMIZER_KWARGS)
def test_multi_block_updates_match_the_textbook_formula(name, kw):
    assert SHAPES["W"][0] * SHAPES["W"][1] * 8 > 3 * BLOCK_BYTES         # really several blocks
    params, grads_seq = _problem(0)
    ref = {k: v.copy() for k, v in params.items()}
    opt = make_optimizer(name, **kw)
    ref_opt = {"adam": adam_ref(kw["lr"]), "adagrad": adagrad_ref(kw["lr"]),
               "rmsprop": rmsprop_ref(kw["lr"], kw.get("rho", 0.9)),
               "sgd": momentum_ref(kw["lr"], kw.get("momentum", 0.0), kw.get("nesterov", False))}[name]
    state = {}
    for t, grads in enumerate(grads_seq, start=1):
        opt.step(params, grads)
        g_eff = {k: g.copy() for k, g in grads.items()}
        if kw.get("clip_norm"):
            norm = np.sqrt(sum((g ** 2).sum() for g in g_eff.values()))
            g_eff = {k: g * min(1.0, kw["clip_norm"] / (norm + 1e-12)) for k, g in g_eff.items()}
        for k in ref:
            g = g_eff[k] + kw.get("weight_decay", 0.0) * ref[k]
            ref[k] = ref_opt(ref[k], g, state.setdefault(k, {}), t)
    for k in params:
        np.testing.assert_allclose(params[k], ref[k], rtol=1e-12, atol=1e-14, err_msg=k)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kw", OPTIMIZER_KWARGS)
def test_the_flat_vector_path_gives_exactly_the_per_parameter_results(name, kw, dtype):
    params, grads_seq = _problem(1, dtype)
    _, flat_params = pack(params)
    separate = {k: v.copy() for k, v in params.items()}
    flat_opt, sep_opt = make_optimizer(name, **kw), make_optimizer(name, **kw)
    for grads in grads_seq:
        _, flat_grads = pack(grads)
        flat_opt.step(flat_params, flat_grads)
        sep_opt.step(separate, {k: g.copy() for k, g in grads.items()})
    for k in params:
        np.testing.assert_array_equal(flat_params[k], separate[k], err_msg=k)
    for slot in flat_opt.slot_names:                                 # the state is one vector too
        assert joined(flat_opt.slots[slot][k] for k in params) is not None
        for k in params:
            np.testing.assert_array_equal(flat_opt.slots[slot][k], sep_opt.slots[slot][k])


def test_flat_state_resumes_exactly_after_load_state_dict():
    params, grads_seq = _problem(2, steps=6)
    _, a = pack(params)
    _, b = pack(params)
    full = nv.Adam(lr=0.01)
    for g in grads_seq:
        full.step(a, pack(g)[1])
    first = nv.Adam(lr=0.01)
    for g in grads_seq[:3]:
        first.step(b, pack(g)[1])
    state = first.state_dict()
    second = nv.Adam(lr=0.01)
    second.load_state_dict({**state, "slots": {s: {k: v.copy() for k, v in arr.items()}
                                               for s, arr in state["slots"].items()}})
    for g in grads_seq[3:]:
        second.step(b, pack(g)[1])
    for k in params:
        np.testing.assert_array_equal(b[k], a[k])


def test_a_rebound_parameter_leaves_the_flat_path_and_is_still_updated():
    params, (g1, g2) = _problem(3, steps=2)
    _, flat_params = pack(params)
    opt = nv.Adam(lr=0.01)
    opt.step(flat_params, pack(g1)[1])
    replaced = flat_params["b"].copy()
    flat_params["b"] = replaced                                      # no longer a piece of the vector
    assert joined(flat_params.values()) is None
    opt.step(flat_params, pack(g2)[1])
    assert not np.array_equal(replaced, flat_params["W"][0, :300]) and flat_params["b"] is replaced

    ref = {k: v.copy() for k, v in params.items()}
    ref_opt = nv.Adam(lr=0.01)
    ref_opt.step(ref, g1)
    ref_opt.step(ref, g2)
    for k in params:
        np.testing.assert_array_equal(flat_params[k], ref[k], err_msg=k)


def test_state_of_the_wrong_shape_is_named():
    params, (g,) = _problem(4, steps=1)
    _, flat_params = pack(params)
    opt = nv.Adam()
    opt.load_state_dict({"name": "adam", "t": 1, "slots": {"m_sum": {"W": np.zeros((2, 2))}, "v_sum": {}}})
    with pytest.raises(ValueError, match="state 'm_sum' of 'W' has shape"):
        opt.step(flat_params, pack(g)[1])


def test_non_contiguous_parameters_are_updated_in_place():
    rng = np.random.default_rng(5)
    base = rng.standard_normal((6, 8))
    params = {"T": base.T, "F": np.asfortranarray(rng.standard_normal((5, 3)))}
    ref = {k: np.ascontiguousarray(v) for k, v in params.items()}
    grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    nv.Adam(lr=0.1).step(params, grads)
    nv.Adam(lr=0.1).step(ref, grads)
    np.testing.assert_array_equal(base.T, ref["T"])                  # the view's memory was updated
    np.testing.assert_array_equal(params["F"], ref["F"])


def test_vae_parameters_and_gradients_are_one_vector_each(rng):
    model = nv.VAE(9, (6,), 2, rng=0)
    x = rng.uniform(size=(4, 9))
    assert joined(model.params.values()) is not None
    for ws in (None, nv.Workspace()):
        _, grads = model.loss_and_grads(x, rng=0, workspace=ws)
        assert joined(grads.values()) is not None


def test_blocks_cover_the_arrays_with_writable_views():
    a = np.zeros((700, 300), np.float32)
    b = np.ones((700, 300), np.float32)
    pieces = list(blocks((a, b), block_bytes=4096 * 4))
    assert len(pieces) == -(-a.size // 4096)
    for pa, pb in pieces:
        pa += pb
    np.testing.assert_array_equal(a, 1.0)
    f = np.asfortranarray(a)
    (whole,) = list(blocks((f,)))                                    # not C-contiguous: one piece
    assert whole[0] is f


def test_adam_keeps_the_moments_as_discounted_sums_and_loads_the_moments_themselves():
    b1, b2 = 0.8, 0.95
    params, grads_seq = _problem(8, steps=5)
    opt = nv.Adam(lr=0.01, beta1=b1, beta2=b2)
    for g in grads_seq[:3]:
        opt.step(params, g)
    m = sum(b1 ** (3 - i) * (1 - b1) * grads_seq[i - 1]["W"] for i in (1, 2, 3))     # textbook m_3
    v = sum(b2 ** (3 - i) * (1 - b2) * grads_seq[i - 1]["W"] ** 2 for i in (1, 2, 3))
    np.testing.assert_allclose((1 - b1) * opt.slots["m_sum"]["W"], m, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose((1 - b2) * opt.slots["v_sum"]["W"], v, rtol=1e-13, atol=1e-14)

    textbook = {"name": "adam", "t": 3, "slots": {
        "m": {k: (1 - b1) * a for k, a in opt.slots["m_sum"].items()},
        "v": {k: (1 - b2) * a for k, a in opt.slots["v_sum"].items()}}}
    resumed = nv.Adam(lr=0.01, beta1=b1, beta2=b2)
    resumed.load_state_dict(textbook)
    direct = nv.Adam(lr=0.01, beta1=b1, beta2=b2)                    # slots set by hand, as some loops do
    direct.t = 3
    direct.slots = {s: dict(a) for s, a in textbook["slots"].items()}
    other = {k: v.copy() for k, v in params.items()}
    third = {k: v.copy() for k, v in params.items()}
    for g in grads_seq[3:]:
        opt.step(params, g)
        resumed.step(other, g)
        direct.step(third, g)
    assert set(resumed.slots) == set(direct.slots) == {"m_sum", "v_sum"}
    for k in params:
        np.testing.assert_allclose(other[k], params[k], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(third[k], params[k], rtol=1e-13, atol=1e-15)


# --------------------------------------------------------------------------- the update on several threads
from numpyvae.arrays import parallel  # noqa: E402

BIG = {"W": (700, 800), "b": (800,), "head": (25, 7), "c": (7,)}     # 4.5 MB in float64, 2.2 MB in float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kw", OPTIMIZER_KWARGS)
def test_the_update_on_several_threads_gives_exactly_the_one_thread_results(name, kw, dtype):
    rng = np.random.default_rng(9)
    params = {k: rng.standard_normal(s).astype(dtype) for k, s in BIG.items()}
    grads_seq = [{k: rng.standard_normal(s).astype(dtype) for k, s in BIG.items()} for _ in range(3)]
    results = {}
    for threads in (1, 2, 3):
        _, flat_params = pack(params)
        opt = make_optimizer(name, **kw)
        opt.threads = threads
        assert len(opt._pieces(joined(flat_params.values()))) == threads          # really split
        for grads in grads_seq:
            opt.step(flat_params, pack(grads)[1])
        results[threads] = (flat_params, opt)
    ref_params, ref_opt = results[1]
    for threads in (2, 3):
        got_params, got_opt = results[threads]
        for k in params:
            np.testing.assert_array_equal(got_params[k], ref_params[k], err_msg=f"{threads} threads: {k}")
            for slot in ref_opt.slot_names:
                np.testing.assert_array_equal(got_opt.slots[slot][k], ref_opt.slots[slot][k])


def test_small_vectors_and_per_parameter_updates_stay_in_the_calling_thread():
    opt = nv.Adam()
    opt.threads = 4
    assert opt._pieces(np.zeros(1000)) == [(0, None)]                  # below 2 * PIECE_BYTES
    assert opt._pieces(np.zeros((700, 800))) == [(0, None)]            # not a flat vector
    assert len(opt._pieces(np.zeros(700 * 800))) == 4


def test_split_covers_the_range_with_aligned_boundaries():
    for n, parts in [(1000, 2), (100_003, 3), (64, 4), (10, 2), (816_000, 2)]:
        ranges = parallel.split(n, parts)
        assert ranges[0][0] == 0 and ranges[-1][1] == n
        assert all(a < b for a, b in ranges)
        assert all(b == c for (_, b), (c, _) in zip(ranges[:-1], ranges[1:]))
        assert all(b % 64 == 0 for _, b in ranges[:-1])
        assert len(ranges) == max(1, min(parts, n // 64))


def test_an_error_in_a_worker_thread_is_raised_in_the_caller_and_the_pool_goes_on():
    done = []

    def job(i, value):
        if value == "bad":
            raise ValueError("piece 1 failed")
        done.append(i)

    with pytest.raises(ValueError, match="piece 1 failed"):
        parallel.run(job, ["ok", "bad", "ok"])
    assert sorted(done) == [0, 2]
    done.clear()
    parallel.run(job, ["ok", "ok"])
    assert sorted(done) == [0, 1]


def test_update_threads_follows_blas_and_the_cores():
    import os

    n = parallel.update_threads()
    assert 1 <= n <= len(os.sched_getaffinity(0))


def test_the_update_runs_in_the_calling_thread_unless_asked():
    opt = nv.Adam()
    assert opt.threads == 1 and opt._pieces(np.zeros(700 * 800)) == [(0, None)]
    opt.threads = None                                                # as many as NumPy's BLAS uses
    assert len(opt._pieces(np.zeros(700 * 800))) == min(parallel.update_threads(), 700 * 800 * 8 // opt.PIECE_BYTES)
