"""The workspace fast path of every registered model: the same numbers as the allocating path, no
stale buffer from one call to the next, parameters and gradients laid out as one flat vector each,
the same optimizer step, and a layout check that turns a broken layout into an error.

Every model of :data:`numpyvae.models.MODELS` is enrolled through ``CONFIGS`` (a meta-test fails
when a registered name has no configuration here). A name in ``CONFIGS`` may be an alias
(``beta-vae`` is the VAE with ``beta``); the meta-test compares registered names."""
import inspect

import numpy as np
import pytest

import numpyvae as nv
from numpyvae.arrays.inplace import check_flat_layout, joined
from numpyvae.models import MODELS
from numpyvae.models.base import BaseModel
from numpyvae.models.registry import canonical_model_name, get_model_class
from numpyvae.arrays.workspace import Workspace

D = 10

CONFIGS = [
    ("vae", {"latent_dim": 3}),
    ("vae", {"latent_dim": 3, "estimator": "mc", "likelihood": "gaussian", "hidden_sizes": (6, 5)}),
    ("beta-vae", {"latent_dim": 3, "beta": 4.0, "likelihood": "gaussian_sigmoid"}),
    ("iwae", {"latent_dim": 3, "k": 3}),
    ("iwae", {"latent_dim": 3, "k": 1, "likelihood": "gaussian_fixed", "hidden_sizes": (6, 5)}),
    ("cvae", {"latent_dim": 3, "condition_dim": 3}),
    ("cvae", {"latent_dim": 3, "condition_dim": 3, "estimator": "mc", "likelihood": "gaussian"}),
    ("fullcov-vae", {"latent_dim": 3}),
    ("fullcov-vae", {"latent_dim": 3, "estimator": "mc", "likelihood": "gaussian", "hidden_sizes": (6, 5)}),
    ("fullcov-vae", {"latent_dim": 1}),                                        # no off-diagonal head
    ("hierarchical-vae", {"latent_dims": (3, 2), "hidden_sizes2": (4,), "k": 1}),
    ("hierarchical-vae", {"latent_dims": (3, 2), "hidden_sizes2": (), "k": 2, "likelihood": "gaussian"}),
    ("vq-vae", {"n_latents": 2, "code_dim": 2, "codebook_size": 4}),
    ("vq-vae", {"n_latents": 2, "code_dim": 2, "codebook_size": 4, "codebook_update": "ema"}),
    ("autoencoder", {"latent_dim": 3}),
    ("autoencoder", {"latent_dim": 3, "loss": "squared_error", "hidden_sizes": ()}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for name, kw in CONFIGS]


def _build(name, options, dtype=np.float64, seed=0):
    return get_model_class(name)(D, **{"hidden_sizes": (6,), **options}, dtype=dtype, rng=seed, init="glorot")


def _batch(model, seed, B=5):
    """Data (and labels, for a conditional model) of one minibatch, in the model's dtype."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(B, D)).astype(model.dtype)                           # in [0, 1]: any likelihood
    cond = {"c": rng.integers(0, model.condition_dim, B)} if getattr(model, "needs_labels", False) else {}
    return x, cond


def _loss_and_grads(model, x, cond, noise_seed, **kw):
    """One call with noise drawn from a generator seeded ``noise_seed`` (deterministic models ignore it)."""
    return model.loss_and_grads(x, rng=np.random.default_rng(noise_seed), n_samples=2, **cond, **kw)


def _assert_same(result, reference, what):
    loss, grads = result
    ref_loss, ref_grads = reference
    assert loss == ref_loss, what
    assert list(grads) == list(ref_grads), what
    for name in ref_grads:
        assert grads[name].dtype == ref_grads[name].dtype, (what, name)
        np.testing.assert_array_equal(grads[name], ref_grads[name], err_msg=f"{what}: {name}")


# ------------------------------------------------------------------------------- the capability
def test_every_registered_model_is_enrolled_here():
    # the library's models; stand-ins that other test modules register (test_checkpoint's TinyModel,
    # test_train's LabelledVAE) declare no fast path and are not run here
    library = {name for name, cls in MODELS.items() if cls.__module__.startswith("numpyvae.")}
    assert library <= {canonical_model_name(name) for name, _ in CONFIGS}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_class_declares_the_fast_path(name):
    cls = MODELS[name]
    assert cls.supports_workspace is True and cls.flat_params is True
    assert "workspace" in inspect.signature(cls.loss_and_grads).parameters
    # the capability is explicit: a model class that does not say so gets the allocating path
    assert BaseModel.supports_workspace is False


# ------------------------------------------------------------------------------- (a) same numbers
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_the_workspace_path_gives_exactly_the_allocating_results(name, options, dtype):
    # two identical models (a VQ-VAE with EMA updates moves its codebook in every call)
    model, twin = _build(name, options, dtype), _build(name, options, dtype)
    x, cond = _batch(model, seed=1)
    result = _loss_and_grads(model, x, cond, noise_seed=2, workspace=Workspace())
    _assert_same(result, _loss_and_grads(twin, x, cond, noise_seed=2), "workspace vs allocating")


@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_without_a_workspace_every_call_returns_new_arrays(name, options):
    model = _build(name, options)
    x, cond = _batch(model, seed=1)
    _, g1 = _loss_and_grads(model, x, cond, noise_seed=2)
    _, g2 = _loss_and_grads(model, x, cond, noise_seed=3)
    assert not any(np.shares_memory(g1[k], g2[k]) for k in g1)
    assert not any(np.shares_memory(g1[k], p) for k in g1 for p in model.params.values())


# ------------------------------------------------------------------------------- (b) no stale buffer
@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_consecutive_calls_with_one_workspace_are_each_correct(name, options):
    # the workspace model and a fresh twin see the same batches; every call of the first must equal
    # the allocating call of the twin, whatever the previous call left in the buffers
    model, twin = _build(name, options), _build(name, options)
    ws = Workspace()
    previous = None
    for step, (data_seed, noise_seed) in enumerate([(1, 2), (3, 4), (3, 4), (5, 6)]):
        x, cond = _batch(model, data_seed)
        loss, grads = _loss_and_grads(model, x, cond, noise_seed, workspace=ws)
        copies = {k: g.copy() for k, g in grads.items()}
        _assert_same((loss, copies), _loss_and_grads(twin, x, cond, noise_seed), f"call {step + 1}")
        if previous is not None:                    # documented: the same arrays, overwritten in place
            assert all(grads[k] is previous[k] for k in grads)
            assert (len(ws), ws.nbytes) == sizes
        previous, sizes = grads, (len(ws), ws.nbytes)


# ------------------------------------------------------------------------------- (c) one flat vector
@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_params_and_workspace_grads_are_each_one_flat_vector(name, options):
    model = _build(name, options)
    x, cond = _batch(model, seed=1)
    assert joined(model.params.values()) is not None
    _, grads = _loss_and_grads(model, x, cond, noise_seed=2, workspace=Workspace())
    assert list(grads) == list(model.params)
    p_flat, g_flat = joined(model.params.values()), joined(grads.values())
    assert p_flat is not None and g_flat is not None
    assert p_flat.size == g_flat.size == sum(p.size for p in model.params.values())
    assert all(grads[k].shape == p.shape and grads[k].dtype == p.dtype for k, p in model.params.items())
    p_check, g_check = check_flat_layout(model.params, grads)
    assert np.shares_memory(p_check, p_flat) and np.shares_memory(g_check, g_flat)


@pytest.mark.parametrize("name,options", [CONFIGS[i] for i in (0, 3, 12)], ids=[IDS[i] for i in (0, 3, 12)])
def test_packing_keeps_the_parameter_values_of_the_seed(name, options):
    # the parameters are drawn in the same order as before packing: rebuilt with one seed, equal;
    # written in place, the layout stays
    a, b = _build(name, options, seed=3), _build(name, options, seed=3)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not all(np.array_equal(a.params[k], _build(name, options, seed=4).params[k]) for k in a.params)
    first = next(iter(a.params))
    a.params[first][...] = 0.5
    assert joined(a.params.values()) is not None


# ------------------------------------------------------------------------------- (d) the same step
@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_an_adam_step_on_the_workspace_path_equals_the_allocating_step(name, options):
    fast, slow = _build(name, options), _build(name, options)
    opt_fast, opt_slow = nv.Adam(lr=1e-2), nv.Adam(lr=1e-2)
    ws = Workspace()
    for data_seed, noise_seed in [(1, 2), (3, 4)]:             # two steps: Adam's state enters the second
        x, cond = _batch(fast, data_seed)
        _, grads = _loss_and_grads(fast, x, cond, noise_seed, workspace=ws)
        assert joined(grads[k] for k in fast.params) is not None          # one pass over the vector
        opt_fast.step(fast.params, grads)
        _, grads_slow = _loss_and_grads(slow, x, cond, noise_seed)
        grads_slow = {k: g.copy() for k, g in grads_slow.items()}         # separate arrays: one update per parameter
        assert joined(grads_slow[k] for k in slow.params) is None
        opt_slow.step(slow.params, grads_slow)
        for k in fast.params:
            np.testing.assert_array_equal(fast.params[k], slow.params[k], err_msg=k)
        assert joined(fast.params.values()) is not None                    # updated in place
        for k in getattr(fast, "buffers", {}):
            np.testing.assert_array_equal(fast.buffers[k], slow.buffers[k], err_msg=k)


# ------------------------------------------------------------------------------- (e) the layout check
def _workspace_grads(name="vae", options=CONFIGS[0][1]):
    model = _build(name, options)
    x, cond = _batch(model, seed=1)
    _, grads = _loss_and_grads(model, x, cond, noise_seed=2, workspace=Workspace())
    return model, grads


def test_the_layout_check_names_the_first_gradient_that_is_off_the_vector():
    model, grads = _workspace_grads()
    names = list(model.params)
    broken = dict(grads)
    broken[names[3]] = grads[names[3]].copy()                 # the same values, in an array of its own
    with pytest.raises(ValueError, match=f"gradient of '{names[3]}' is not the piece after '{names[2]}'"):
        check_flat_layout(model.params, broken)
    with pytest.raises(ValueError, match=f"gradient of '{names[0]}' is not the start of a flat vector"):
        check_flat_layout(model.params, {k: g.copy() for k, g in grads.items()})


def test_the_layout_check_refuses_gradients_out_of_params_order():
    model, grads = _workspace_grads()
    names = list(model.params)
    swapped = dict(grads)
    swapped[names[0]], swapped[names[1]] = grads[names[1]], grads[names[0]]   # a bias where a matrix belongs
    with pytest.raises(ValueError, match=f"gradient of '{names[0]}' has shape"):
        check_flat_layout(model.params, swapped)
    # the layout follows params, not the order of the grads dict: a reordered dict of the same arrays passes
    check_flat_layout(model.params, dict(reversed(list(grads.items()))))


def test_the_layout_check_names_a_rebound_parameter_and_a_missing_gradient():
    model, grads = _workspace_grads()
    names = list(model.params)
    model.params[names[2]] = model.params[names[2]].copy()    # rebound instead of written in place
    with pytest.raises(ValueError, match=f"parameter of '{names[2]}' is not the piece after '{names[1]}'"):
        check_flat_layout(model.params, grads, owner="VAE")
    model, grads = _workspace_grads()
    del grads[names[-1]]
    with pytest.raises(ValueError, match=f"no gradient for parameter '{names[-1]}'"):
        check_flat_layout(model.params, grads)


@pytest.mark.parametrize("name,options", [CONFIGS[5], CONFIGS[12]], ids=[IDS[5], IDS[12]])
def test_the_layout_check_fails_for_a_model_whose_gradients_are_not_in_the_buffers(name, options):
    # the grads of a workspace call pass; the same values with one gradient outside the vector do not
    model, grads = _workspace_grads(name, options)
    check_flat_layout(model.params, grads)
    last = list(model.params)[-1]
    with pytest.raises(ValueError, match=f"gradient of '{last}'"):
        check_flat_layout(model.params, {**grads, last: grads[last] + 0.0})
