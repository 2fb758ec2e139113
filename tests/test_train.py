"""The training loop on tiny synthetic data: progress, budgets, schedules, resume, divergence, Ctrl-C."""
import io
import os
import signal

import numpy as np
import pytest

import numpyvae as nv
from _registry import temporarily_registered
from numpyvae.training import Progress, TrainConfig, Trainer, TrainingDiverged, load_checkpoint, read_log
from numpyvae.training.config import log_schedule_next
from numpyvae.models.conditioning import condition_kwargs, condition_size


def patterns(n, seed, d=24, k=4):
    """Noisy copies of k fixed binary prototypes (N, d) and their labels."""
    protos = (np.random.default_rng(99).uniform(size=(k, d)) > 0.5).astype(float)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, size=n)
    flips = rng.uniform(size=(n, d)) < 0.05
    return np.abs(protos[labels] - flips), labels


@pytest.fixture(scope="module")
def data():
    x, y = patterns(600, 1)
    xt, yt = patterns(200, 2)
    return x, y, xt, yt


def small_model(seed=0, dtype=np.float64):
    return nv.VAE(24, (16,), 2, dtype=dtype, rng=seed, init="glorot")


def params_equal(a, b):
    return set(a.params) == set(b.params) and all(np.array_equal(a.params[k], b.params[k]) for k in a.params)


def strip_time(history):
    return [{k: v for k, v in r.items() if k not in ("wall_time", "eval_time")} for r in history]


def fit(model, x, **settings):
    """Train ``model`` on ``x`` with the Trainer; returns the model."""
    Trainer(model, **settings).fit(x)
    return model


def test_training_raises_the_bound(data):
    x, _, xt, _ = data
    model = small_model()
    start = nv.evaluation.mean_bound(model, xt, np.random.default_rng(0))
    trainer = Trainer(model, epochs=8, batch_size=50, lr=3e-3, seed=0)
    trainer.fit(x, x_test=xt)
    assert nv.evaluation.mean_bound(model, xt, np.random.default_rng(0)) > start + 3.0
    h = trainer.history
    assert h[0]["samples"] == 0 and h[-1]["samples"] == 8 * 600 == trainer.state["samples"]
    assert h[-1]["test_bound"] > h[0]["test_bound"] + 3.0
    assert model.sample(7).shape == (7, 24) and model.reconstruct(xt[:3]).shape == (3, 24)


def test_the_estimator_fits_transforms_and_scores(data):
    x, _, xt, _ = data
    est = nv.Estimator("vae", hidden_sizes=(16,), latent_dim=2, init="glorot", epochs=8, batch_size=50, lr=3e-3,
                       random_state=0)
    assert est.fit(x) is est
    assert est.transform(xt).shape == (200, 2)
    assert np.allclose(est.transform(xt[:5]), est.model_.encode(xt[:5])[0])
    assert est.score(xt) > est.history_[0]["train_bound"] + 3.0
    a = nv.Estimator("vae", hidden_sizes=(16,), latent_dim=2, epochs=1, random_state=3).fit_transform(x)
    b = nv.Estimator("vae", hidden_sizes=(16,), latent_dim=2, epochs=1, random_state=3).fit(x).transform(x)
    assert np.array_equal(a, b)


def test_same_seed_same_run_different_seed_different_run(data):
    x, *_ = data
    a = fit(small_model(), x, epochs=2, batch_size=64, seed=5)
    b = fit(small_model(), x, epochs=2, batch_size=64, seed=5)
    c = fit(small_model(), x, epochs=2, batch_size=64, seed=6)
    assert params_equal(a, b)
    assert not params_equal(a, c)


def test_sample_budget_counts_training_samples(data):
    x, *_ = data
    trainer = Trainer(small_model(), max_samples=1000, epochs=None, batch_size=64, eval_every=256, seed=0)
    history = trainer.fit(x)
    # batches of 64 (the epoch's last batch holds 600 - 9 * 64 = 24): 64*9 + 24 + 64*7 = 1048
    assert trainer.state["samples"] == 1048
    samples = [r["samples"] for r in history]
    assert samples[0] == 0 and samples[-1] == 1048
    # evaluated at the first step at or past each multiple of 256 (600 + 3 * 64 = 792 passes 768)
    assert samples[1:-1] == [256, 512, 792]
    assert all(s1 > s0 for s0, s1 in zip(samples, samples[1:]))


def test_log_schedule_points():
    assert [log_schedule_next(s) for s in (0, 1, 2, 4, 5, 99, 100, 4999)] == [1, 2, 5, 5, 10, 100, 200, 5000]


def test_log_schedule_evaluates_at_1_2_5_points(data):
    x, *_ = data
    history = Trainer(small_model(), epochs=12, batch_size=100, eval_every="log", seed=0).fit(x)
    assert [r["samples"] for r in history] == [0, 100, 200, 500, 1000, 2000, 5000, 7200]


def test_checkpoints_are_written_between_sparse_evaluations(tmp_path, data, monkeypatch):
    import numpyvae.training.trainer as trainer_module

    x, *_ = data
    saves, original = [], trainer_module.write_checkpoint

    def spy(path, meta, arrays):
        saves.append(meta["trainer"]["state"]["samples"])
        return original(path, meta, arrays)

    monkeypatch.setattr(trainer_module, "write_checkpoint", spy)
    evaluated = []
    Trainer(small_model(), epochs=5, eval_every=10 ** 6, checkpoint_seconds=0.0, seed=0,
            checkpoint_path=tmp_path / "c.npz", callback=lambda t, r: evaluated.append(r["samples"])).fit(x)
    assert evaluated == [0, 3000]                                      # evaluated at the start and the end only
    assert saves == [0, 600, 1200, 1800, 2400, 3000]                   # saved at every epoch end anyway
    assert load_checkpoint(tmp_path / "c.npz").trainer["state"]["samples"] == 3000


def test_log_file_records_every_evaluation(tmp_path, data):
    x, _, xt, _ = data
    for suffix in ("csv", "jsonl"):
        log = tmp_path / f"log.{suffix}"
        trainer = Trainer(small_model(), epochs=3, log_path=log, seed=0)
        history = trainer.fit(x, x_test=xt)
        rows = read_log(log)
        assert [r["samples"] for r in rows] == [r["samples"] for r in history] == [0, 600, 1200, 1800]
        assert np.allclose([r["test_bound"] for r in rows], [r["test_bound"] for r in history], rtol=0, atol=0)
        assert rows[0]["batch_bound"] is None and rows[1]["batch_bound"] < 0
        assert all(r["wall_time"] >= 0 for r in rows)


def test_dynamic_binarization_trains_on_binary_draws(data):
    x, *_ = data
    grey = np.clip(x * 0.8 + 0.1, 0, 1)                                # grey values in (0, 1)
    seen = []
    model = small_model()
    original = model.loss_and_grads

    def spy(xb, **kw):
        seen.append(np.unique(xb))
        return original(xb, **kw)

    model.loss_and_grads = spy
    Trainer(model, epochs=1, binarize="dynamic", seed=0).fit(grey)
    assert all(set(u.tolist()) <= {0.0, 1.0} for u in seen)
    a = fit(small_model(), grey, epochs=2, binarize="dynamic", seed=1)
    b = fit(small_model(), grey, epochs=2, binarize="dynamic", seed=1)
    assert params_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_resume_after_finished_run_equals_uninterrupted(tmp_path, data, dtype):
    x, _, xt, _ = data
    full = Trainer(small_model(dtype=dtype), epochs=4, batch_size=64, seed=2)
    full.fit(x, x_test=xt)
    ckpt = tmp_path / "ckpt.npz"
    Trainer(small_model(dtype=dtype), epochs=2, batch_size=64, seed=2, checkpoint_path=ckpt).fit(x, x_test=xt)
    resumed = Trainer.from_checkpoint(ckpt, epochs=4)
    resumed.fit(x, x_test=xt)
    assert params_equal(full.model, resumed.model)
    assert strip_time(full.history) == strip_time(resumed.history)
    assert full.optimizer.t == resumed.optimizer.t


def raise_on_call(model, k, exc):
    """Make the k-th call (1-based) of model.loss_and_grads raise ``exc`` after drawing its noise."""
    original = model.loss_and_grads
    calls = {"n": 0}

    def patched(xb, rng=None, **kw):
        calls["n"] += 1
        if calls["n"] == k:
            rng.standard_normal(5)                                     # the draw happened before the interrupt
            raise exc
        return original(xb, rng=rng, **kw)

    model.loss_and_grads = patched


@pytest.mark.parametrize("binarize", ["none", "dynamic"])
def test_keyboard_interrupt_saves_a_checkpoint_that_resumes_exactly(tmp_path, data, binarize):
    x, _, xt, _ = data
    if binarize == "dynamic":
        x, xt = 0.2 + 0.6 * x, 0.2 + 0.6 * xt                          # grey values, redrawn every epoch
    full = Trainer(small_model(), epochs=3, batch_size=64, seed=4, binarize=binarize)
    full.fit(x, x_test=xt)

    ckpt = tmp_path / "ckpt.npz"
    model = small_model()
    raise_on_call(model, 15, KeyboardInterrupt())                     # inside epoch 2 (10 batches per epoch)
    trainer = Trainer(model, epochs=3, batch_size=64, seed=4, checkpoint_path=ckpt, binarize=binarize)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(x, x_test=xt)
    saved = load_checkpoint(ckpt)
    assert saved.trainer["state"]["samples"] == 600 + 4 * 64 and saved.trainer["state"]["batch"] == 4
    resumed = Trainer.from_checkpoint(ckpt)
    resumed.fit(x, x_test=xt)
    assert params_equal(full.model, resumed.model)
    assert strip_time(full.history) == strip_time(resumed.history)


def test_sigint_stops_after_the_step_saves_and_resumes_exactly(tmp_path, data):
    x, *_ = data
    full = Trainer(small_model(), epochs=3, eval_every=128, seed=7)
    full.fit(x)

    ckpt = tmp_path / "ckpt.npz"

    def ctrl_c(trainer, record):
        if record["samples"] == 300:                                   # a real SIGINT to this process
            os.kill(os.getpid(), signal.SIGINT)

    trainer = Trainer(small_model(), epochs=3, eval_every=128, seed=7, checkpoint_path=ckpt, callback=ctrl_c)
    before = signal.getsignal(signal.SIGINT)       # default_int_handler, or SIG_IGN in a background job
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(x)
    assert load_checkpoint(ckpt).trainer["state"]["samples"] == 300
    assert signal.getsignal(signal.SIGINT) is before                   # the caller's handler restored
    resumed = Trainer.from_checkpoint(ckpt)
    resumed.fit(x)
    assert params_equal(full.model, resumed.model)
    assert strip_time(full.history) == strip_time(resumed.history)


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(tmp_path, data):
    x, *_ = data
    ckpt = tmp_path / "ckpt.npz"
    model = small_model()
    original = model.loss_and_grads
    calls = {"n": 0}

    def nan_later(xb, **kw):
        calls["n"] += 1
        loss, grads = original(xb, **kw)
        return (float("nan") if calls["n"] == 25 else loss), grads

    model.loss_and_grads = nan_later
    trainer = Trainer(model, epochs=5, seed=0, checkpoint_path=ckpt)     # 6 steps per epoch
    with pytest.raises(TrainingDiverged, match="loss became nan") as info:
        trainer.fit(x)
    msg = str(info.value)
    assert "2,400 training samples" in msg and "last good checkpoint" in msg and "learning rate" in msg
    saved = load_checkpoint(ckpt)
    assert saved.trainer["state"]["samples"] == 2400                   # epoch 4 ended at 2400 samples
    assert params_equal(saved.model, model)                            # the model is back at that state
    assert all(np.isfinite(p).all() for p in saved.model.params.values())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_real_divergence_with_a_huge_learning_rate(tmp_path, data):
    x, *_ = data
    x = x * 50.0                                                        # unscaled data, Gaussian decoder
    model = nv.VAE(24, (16,), 2, likelihood="gaussian", rng=0, init="glorot")
    ckpt = tmp_path / "ckpt.npz"
    with pytest.raises(TrainingDiverged, match="diverged"):
        Trainer(model, epochs=50, optimizer="sgd", lr=10.0, seed=0, checkpoint_path=ckpt).fit(x)
    saved = load_checkpoint(ckpt)
    assert all(np.isfinite(p).all() for p in saved.model.params.values())
    assert all(np.isfinite(p).all() for p in model.params.values())


class LabelledVAE(nv.VAE):
    """A stand-in conditional model: records the condition it receives and checks its shape."""

    needs_labels = True
    n_classes = 4
    supports_workspace = False                  # its loss_and_grads takes no workspace

    def loss_and_grads(self, x, eps=None, rng=None, n_samples=1, c=None):
        assert c.shape == (x.shape[0], self.n_classes) and np.all(c.sum(axis=1) == 1)
        self.seen.append((np.asarray(x).copy(), c.argmax(axis=1)))
        return super().loss_and_grads(x, eps, rng, n_samples)

    def bound(self, x, eps=None, rng=None, n_samples=1, c=None):
        assert c.shape == (x.shape[0], self.n_classes)
        return super().bound(x, eps, rng, n_samples)


@pytest.fixture(autouse=True)
def labelled_vae_registered():
    """LabelledVAE is a registered model (checkpoints name it) for the tests of this file only."""
    with temporarily_registered("test-labelled-vae", LabelledVAE):
        yield


def test_condition_size_reads_n_classes_or_condition_dim():
    class A:
        n_classes = 3

    class B:
        condition_dim = 5

    assert condition_size(A) == 3 and condition_size(B()) == 5 and condition_size(object()) is None
    b = B()
    b.needs_labels = True
    assert condition_kwargs(b, np.array([4, 0]))["c"].tolist() == [[0, 0, 0, 0, 1], [1, 0, 0, 0, 0]]
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 5\)"):
        condition_kwargs(b, np.array([5]))


def test_conditional_model_gets_the_one_hot_labels_of_its_batch(data):
    x, y, xt, yt = data
    model = LabelledVAE(24, (16,), 2, rng=0)
    model.seen = []
    Trainer(model, epochs=1, batch_size=64, seed=0).fit(x, y, xt, yt)
    row_of = {r.tobytes(): i for i, r in enumerate(x)}
    for xb, cb in model.seen:
        # duplicates are possible in synthetic data; their labels agree with the prototype anyway
        assert all(cb[j] == y[row_of[xb[j].tobytes()]] for j in range(len(xb)))
    with pytest.raises(ValueError, match="labels"):
        Trainer(LabelledVAE(24, (16,), 2, rng=0), epochs=1).fit(x)


def test_bad_settings_and_data_are_clear_errors(data):
    x, *_ = data
    with pytest.raises(ValueError, match="epochs or max_samples"):
        TrainConfig(epochs=None, max_samples=None)
    with pytest.raises(ValueError, match="unknown optimizer"):
        TrainConfig(optimizer="adamw")
    with pytest.raises(ValueError, match="eval_every"):
        TrainConfig(eval_every="sometimes")
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="unknown training settings"):
        TrainConfig.from_dict({"epochs": 1, "learning_rate": 0.1})
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit(small_model(), bad, epochs=1)
    with pytest.raises(ValueError, match="shape"):
        fit(small_model(), x[0], epochs=1)


def test_resuming_on_other_data_is_refused(tmp_path, data):
    x, _, xt, _ = data
    ckpt = tmp_path / "c.npz"
    Trainer(small_model(), epochs=1, checkpoint_path=ckpt).fit(x)
    with pytest.raises(ValueError, match="other data"):
        Trainer.from_checkpoint(ckpt, epochs=2).fit(xt)
    with pytest.raises(ValueError, match="can only change"):
        Trainer.from_checkpoint(ckpt, batch_size=3)


def test_save_writes_the_current_state(tmp_path, data):
    x, *_ = data
    trainer = Trainer(small_model(), epochs=1, seed=0)
    with pytest.raises(ValueError, match="no checkpoint path"):
        trainer.save()
    trainer.fit(x)
    trainer.model.params["dec.logits.b"][:] = 0.5                     # a change made outside the loop
    saved = load_checkpoint(trainer.save(tmp_path / "after.npz"))
    assert params_equal(saved.model, trainer.model)
    assert saved.trainer["state"]["samples"] == 600 and saved.optimizer.t == trainer.optimizer.t


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_live_on_a_terminal_and_one_line_per_evaluation_elsewhere(data):
    x, *_ = data
    log = io.StringIO()
    Trainer(small_model(), epochs=2, seed=0, progress=Progress(stream=log)).fit(x)
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) == 4                # a legend, records at 0, 600, 1200 samples
    assert lines[0].startswith("train, test: ELBO per datapoint; loss: the mean training loss")
    assert lines[-1].split()[:2] == ["samples", "1,200"] and "train" in lines[-1] and "loss" in lines[-1]
    tty = FakeTerminal()
    Trainer(small_model(), epochs=2, seed=0, progress=Progress(stream=tty, min_interval=0.0)).fit(x)
    text = tty.getvalue()
    assert text.count("\r") > 10 and "samples/s" in text and "loss" in text and "epoch 2 [" in text
    assert "elapsed" in text and "ETA" in text
    quiet = io.StringIO()
    Trainer(small_model(), epochs=1, seed=0, progress=Progress(stream=quiet, enabled=False)).fit(x)
    assert quiet.getvalue() == ""


def test_the_evaluation_schedule_changes_neither_the_training_nor_the_recorded_values(data):
    x, _, xt, _ = data
    a = Trainer(small_model(), epochs=6, seed=3, eval_every="epoch")
    b = Trainer(small_model(), epochs=6, seed=3, eval_every=250)
    a.fit(x, x_test=xt)
    b.fit(x, x_test=xt)
    assert params_equal(a.model, b.model)
    rb = {r["samples"]: r for r in b.history}
    common = [r for r in a.history if r["samples"] in rb]
    assert [r["samples"] for r in common] == [0, 1800, 3000, 3600]    # the points both schedules visit
    for r in common:
        assert r["train_bound"] == rb[r["samples"]]["train_bound"] and r["test_bound"] == rb[r["samples"]]["test_bound"]
