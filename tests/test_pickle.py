"""Every registered model, every optimizer and the estimator survive pickle, copy.deepcopy and joblib:
the copy computes what the original does, and training both further keeps them equal bit for bit
(so the copy is on the fast path again: its parameters are one contiguous vector).

The backend is pickled by name (numpyvae/arrays/backend.py); pickle copies each array on its own, so
the models lay their parameters out again when unpickled.
"""
import copy
import io
import pickle

import numpy as np
import pytest

import numpyvae as nv
from numpyvae.arrays.inplace import joined
from numpyvae.models.conditioning import condition_kwargs, condition_size, needs_labels
from numpyvae.models.registry import MODELS, build_model, example_config
from numpyvae.optim.optimizers import OPTIMIZERS, make_optimizer


def via_pickle(obj):
    return pickle.loads(pickle.dumps(obj))


def via_joblib(obj):
    joblib = pytest.importorskip("joblib")
    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


COPIES = {"pickle": via_pickle, "deepcopy": copy.deepcopy, "joblib": via_joblib}


def trained(name, optimizer="adam"):
    """The registered example of ``name``, trained for two epochs on tiny data, and its data."""
    model = build_model(name, {**example_config(name), "rng": 0, "dtype": np.float64})
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(20, model.input_dim))                         # (20, D) in [0, 1]
    labels = rng.integers(0, condition_size(model), 20) if needs_labels(model) else None
    trainer = nv.Trainer(model, optimizer=optimizer, epochs=2, batch_size=5, seed=0)
    trainer.fit(x, labels)
    return model, trainer.optimizer, x, labels


def params_equal(a, b):
    return list(a.params) == list(b.params) and all(np.array_equal(a.params[k], b.params[k]) for k in a.params)


def test_the_backend_pickles_by_name():
    backend = nv.get_backend("numpy")
    assert via_pickle(backend) is backend and copy.deepcopy(backend) is backend
    assert b"numpy" in pickle.dumps(backend) and len(pickle.dumps(backend)) < 100


@pytest.mark.parametrize("how", sorted(COPIES))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_round_trips(name, how):
    model, optimizer, x, labels = trained(name)
    twin, twin_optimizer = COPIES[how]((model, optimizer))
    assert type(twin) is type(model) and twin.get_config() == model.get_config()
    assert params_equal(twin, model) and twin.params is not model.params
    assert joined(twin.params.values()) is not None                     # one vector again: the fast path
    buffers = getattr(model, "buffers", {})
    assert getattr(twin, "buffers", {}).keys() == buffers.keys()
    assert all(np.array_equal(twin.buffers[k], v) for k, v in buffers.items())
    cond = condition_kwargs(model, labels)
    for method in ("bound", "loss_and_grads"):
        a = getattr(model, method)(x, rng=np.random.default_rng(1), **cond)
        b = getattr(twin, method)(x, rng=np.random.default_rng(1), **cond)
        a, b = (a[0], b[0]) if method == "loss_and_grads" else (a, b)
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.embed(x, **cond), twin.embed(x, **cond))
    # the generator state travels too: the next default draws are the same
    np.testing.assert_array_equal(model.bound(x, **cond), twin.bound(x, **cond))
    # both train on identically; the twin's optimizer state is its own
    for m, opt in ((model, optimizer), (twin, twin_optimizer)):
        nv.Trainer(m, optimizer=opt, epochs=1, batch_size=5, seed=7).fit(x, labels)
    assert params_equal(twin, model)
    assert twin_optimizer.t == optimizer.t > 0


@pytest.mark.parametrize("how", sorted(COPIES))
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_round_trips_mid_training(optimizer, how):
    model, opt, x, _ = trained("vae", make_optimizer(optimizer, lr=1e-2))
    twin_model, twin = COPIES[how]((model, opt))
    assert twin.state_dict()["t"] == opt.t and twin.hyperparameters() == opt.hyperparameters()
    for m, o in ((model, opt), (twin_model, twin)):
        nv.Trainer(m, optimizer=o, epochs=2, batch_size=5, seed=3).fit(x)
    assert params_equal(twin_model, model)
    for slot, arrays in opt.state_dict()["slots"].items():             # the state a checkpoint saves
        for key, value in arrays.items():
            np.testing.assert_array_equal(twin.state_dict()["slots"][slot][key], value)


@pytest.mark.parametrize("how", sorted(COPIES))
def test_the_estimator_round_trips(how):
    x = np.random.default_rng(0).uniform(size=(30, 6))
    est = nv.Estimator("vae", hidden_sizes=(5,), latent_dim=2, epochs=2, batch_size=10, random_state=0)
    unfitted = COPIES[how](est)
    assert unfitted.get_params() == est.get_params() and not hasattr(unfitted, "model_")
    est.fit(x)
    twin = COPIES[how](est)
    np.testing.assert_array_equal(twin.transform(x), est.transform(x))
    assert twin.score(x) == est.score(x)
    est.set_params(warm_start=True)
    twin.set_params(warm_start=True)
    assert params_equal(twin.fit(x).model_, est.fit(x).model_)
