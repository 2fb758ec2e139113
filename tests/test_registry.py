"""Registering a model enrols it in the checks: one battery runs over every name in the registry.

For each model of :data:`numpyvae.models.MODELS`, built from the small configuration registered with
it (:func:`numpyvae.models.registry.example_config`):

(a) the whole-model gradient against float64 central differences, noise held fixed (the model's own
    ``check_loss``), at rtol 1e-6; and a gradient off by one part in a thousand is caught;
(b) a model registered without an example, or without ``check_loss``, is refused by the enrolment
    (meta-tests below register such classes for the duration of one test);
(c) the trainer interface: a few steps of :class:`numpyvae.training.Trainer` on tiny synthetic data
    (with labels for a conditional model), a checkpoint, and a resumed run that ends bit for bit where
    the uninterrupted one does; a float32 instance trains and stays float32.

A model registered later (by the library or by a test module imported before this one) is enrolled
by being in the registry when this module is collected.
"""
import inspect

import numpy as np
import pytest

from numpyvae.gradcheck import check_gradients
from numpyvae.gradcheck.models import check_variant, variant_loss
from numpyvae.models import VAE
from numpyvae.models.conditioning import condition_kwargs, condition_size, needs_labels
from _registry import temporarily_registered
from numpyvae.models.registry import MODEL_ALIASES, MODELS, example_config
from numpyvae.training import Trainer

NAMES = sorted(MODELS)
N_TRAIN, N_TEST, BATCH = 40, 10, 10


# ------------------------------------------------------------------------------- enrolment
def enrolled(name):
    """The class registered as ``name`` and its example configuration, or an AssertionError saying
    what the registration lacks for the checks."""
    cls = MODELS[name]
    example = example_config(name)
    if example is None:
        raise AssertionError(f"model {name!r} ({cls.__name__}) was registered without an example: register it with "
                             f"register_model({name!r}, cls, example={{...small constructor arguments...}})")
    if not callable(getattr(cls, "check_loss", None)):
        raise AssertionError(f"model {name!r} ({cls.__name__}) has no check_loss(x, eps=None, rng=0, **condition) "
                             f"method, so no whole-model gradient check")
    return cls, example


def build(name, dtype=np.float64, seed=0):
    """The example instance of model ``name`` in ``dtype``. Glorot initialisation where the class takes
    ``init``: with the default N(0, 0.01^2) the encoder's gradients are so small that a 1e-6 check
    would only see round-off."""
    cls, example = enrolled(name)
    kwargs = {**example, "dtype": dtype, "rng": seed}
    if "init" in inspect.signature(cls).parameters:
        kwargs["init"] = "glorot"
    return cls(**kwargs)


def data(model, n, seed):
    """``n`` rows in [0, 1] (valid for every likelihood) and, for a conditional model, their labels."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, model.input_dim))                             # (n, D)
    labels = rng.integers(0, condition_size(model), n) if needs_labels(model) else None
    return x, labels


# ------------------------------------------------------------------------------- (a) gradients
def gradient_check(name, seed=0):
    model = build(name, seed=seed)
    x, labels = data(model, 3, seed + 1)
    return model, check_variant(model, x, c=labels, rng=seed)


@pytest.mark.parametrize("name", NAMES)
def test_whole_model_gradient_matches_float64_central_differences(name):
    model, report = gradient_check(name)
    assert [r.name for r in report.rows] == list(model.params)             # every parameter checked
    assert report.passed(1e-6), report.table()


@pytest.mark.parametrize("name", NAMES)
def test_a_gradient_off_by_one_in_a_thousand_is_caught(name):
    # the check has power: check_loss's closure really depends on the parameters, its gradient is not zero
    model = build(name)
    x, labels = data(model, 3, 1)
    loss_fn, grads = variant_loss(model, x, c=labels, rng=0)
    assert any(float(np.abs(g).max()) > 0 for g in grads.values())
    report = check_gradients(loss_fn, model.params, {k: 1.001 * g for k, g in grads.items()}, rng=0)
    assert not report.passed(1e-6), report.table()


# ------------------------------------------------------------------------------- (c) the trainer
def strip_times(history):
    return [{k: v for k, v in r.items() if k not in ("wall_time", "eval_time")} for r in history]


def trainer_battery(name, tmp_path):
    """Train 7 steps; train 3 (stopping inside an epoch), checkpoint, resume to 7: the same run."""
    probe = build(name)
    x, labels = data(probe, N_TRAIN, 10)
    x_test, labels_test = data(probe, N_TEST, 11)

    def trainer(budget, **kw):
        return Trainer(build(name), optimizer="adam", lr=1e-2, batch_size=BATCH, seed=3, epochs=None,
                       max_samples=budget, eval_every=[0, 30, 70], eval_size=None, **kw)

    full = trainer(70)
    full.fit(x, labels, x_test, labels_test)
    ckpt = tmp_path / f"{name}.npz"
    part = trainer(30, checkpoint_path=ckpt)
    part.fit(x, labels, x_test, labels_test)
    resumed = Trainer.from_checkpoint(ckpt, max_samples=70)                # as a new process would
    resumed.fit(x, labels, x_test, labels_test)

    assert type(resumed.model) is type(full.model) and resumed.model.get_config() == full.model.get_config()
    assert [r["samples"] for r in resumed.history] == [0, 30, 70]
    assert strip_times(resumed.history) == strip_times(full.history)
    assert list(resumed.model.params) == list(full.model.params)
    for k, v in full.model.params.items():
        np.testing.assert_array_equal(resumed.model.params[k], v, err_msg=k)
    for k, v in getattr(full.model, "buffers", {}).items():                # e.g. the VQ-VAE's EMA counts
        np.testing.assert_array_equal(resumed.model.buffers[k], v, err_msg=k)
    start = build(name)
    assert any(not np.array_equal(start.params[k], v) for k, v in full.model.params.items())   # it trained

    model32 = build(name, dtype=np.float32)
    history = Trainer(model32, optimizer="adam", lr=1e-2, batch_size=BATCH, seed=3, epochs=None, max_samples=40,
                      eval_every=[0], eval_size=None).fit(x, labels, x_test, labels_test)
    assert all(p.dtype == np.float32 for p in model32.params.values())
    assert all(b.dtype == np.float32 for b in getattr(model32, "buffers", {}).values() if b.dtype.kind == "f")
    assert all(np.isfinite(p).all() for p in model32.params.values())
    x32 = x[:BATCH].astype(np.float32)
    loss, grads = model32.loss_and_grads(x32, rng=0, **condition_kwargs(model32, None if labels is None else labels[:BATCH]))
    assert np.isfinite(loss) and all(grads[k].dtype == np.float32 for k in model32.params)
    assert history[-1]["samples"] == 40 and np.isfinite(history[-1]["train_bound"])
    assert any(not np.array_equal(build(name, np.float32).params[k], v) for k, v in model32.params.items())


@pytest.mark.parametrize("name", NAMES)
def test_trains_checkpoints_and_resumes_bit_exactly_in_float64_and_float32(name, tmp_path):
    trainer_battery(name, tmp_path)


# ------------------------------------------------------------------------------- (b) meta-tests
class NoCheckLoss:
    """A model class without ``check_loss``."""

    def __init__(self, input_dim=3, dtype=np.float64, rng=None):
        self.input_dim, self.dtype = input_dim, np.dtype(dtype)
        self.params = {"w": np.zeros(input_dim, dtype=self.dtype)}


class RegisteredLaterVAE(VAE):
    """A class the library does not know, registered by a test (it inherits a correct check_loss)."""


def test_a_model_registered_without_an_example_is_refused_and_the_registry_is_restored():
    before = dict(MODELS)
    with temporarily_registered("test-no-example", RegisteredLaterVAE):
        assert "test-no-example" in MODELS and example_config("test-no-example") is None
        with pytest.raises(AssertionError, match="registered without an example"):
            enrolled("test-no-example")
        with pytest.raises(AssertionError, match="registered without an example"):
            gradient_check("test-no-example")
    assert MODELS == before and list(MODELS) == list(before)


def test_a_model_registered_without_check_loss_is_refused(tmp_path):
    with temporarily_registered("test-no-check-loss", NoCheckLoss, example={"input_dim": 3}):
        with pytest.raises(AssertionError, match="no check_loss"):
            enrolled("test-no-check-loss")
        with pytest.raises(AssertionError, match="no check_loss"):
            trainer_battery("test-no-check-loss", tmp_path)
    with pytest.raises(ValueError, match="no gradient check is defined for NoCheckLoss"):
        check_variant(NoCheckLoss(), np.zeros((2, 3)))
    assert "test-no-check-loss" not in MODELS


def test_a_model_registered_later_with_an_example_runs_through_the_battery(tmp_path):
    example = {"input_dim": 5, "hidden_sizes": (4,), "latent_dim": 2, "likelihood": "gaussian"}
    with temporarily_registered("test-registered-later", RegisteredLaterVAE, example=example,
                                aliases=("test-later",)):
        _, report = gradient_check("test-registered-later")
        assert report.passed(1e-6), report.table()
        trainer_battery("test-registered-later", tmp_path)
    assert "test-registered-later" not in MODELS and "test-later" not in MODEL_ALIASES


def test_check_variant_passes_a_condition_only_to_a_conditional_model():
    model = build("vae")
    with pytest.raises(ValueError, match="VAE is not conditioned on labels"):
        check_variant(model, data(model, 2, 0)[0], c=np.array([0, 1]))
    cvae = build("cvae")
    with pytest.raises(ValueError, match="keyword c="):
        check_variant(cvae, data(cvae, 2, 0)[0])
