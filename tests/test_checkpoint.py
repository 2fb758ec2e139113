"""Checkpoints: exact round trips, no pickle, clear errors, and models found through the registry."""
import json

import numpy as np
from _registry import temporarily_registered
import pytest

import numpyvae as nv
from numpyvae.models.registry import build_model, get_model_class, model_name, model_names, register_model
from numpyvae.training import load_checkpoint, load_model, save_checkpoint
from numpyvae.training.checkpoint import read_checkpoint, rng_from_state, rng_state


def trained(likelihood="bernoulli", dtype=np.float64, optimizer="adam", **kw):
    rng = np.random.default_rng(0)
    model = nv.VAE(10, (7, 5), 3, likelihood=likelihood, dtype=dtype, rng=1, init="glorot", **kw)
    opt = nv.make_optimizer(optimizer, lr=1e-2)
    x = rng.uniform(size=(40, 10))
    for _ in range(5):
        _, grads = model.loss_and_grads(x, rng=rng, n_samples=2)
        opt.step(model.params, grads)
    return model, opt, x


@pytest.mark.parametrize("likelihood,dtype,optimizer,kw", [
    ("bernoulli", np.float64, "adam", {}),
    ("gaussian_sigmoid", np.float32, "adagrad", {}),
    ("gaussian_fixed", np.float64, "sgd", {"sigma": 0.3, "estimator": "mc", "beta": 0.5}),
])
def test_round_trip_restores_model_and_optimizer_exactly(tmp_path, likelihood, dtype, optimizer, kw):
    model, opt, x = trained(likelihood, dtype, optimizer, **kw)
    model.rng.standard_normal(3)                                       # move the model's generator on
    path = save_checkpoint(tmp_path / "m.npz", model, opt, extra={"note": "hello"})
    ck = load_checkpoint(path)
    m2, o2 = ck.model, ck.optimizer
    assert m2.get_config() == model.get_config()
    for name, p in model.params.items():
        assert m2.params[name].dtype == p.dtype and np.array_equal(m2.params[name], p)
    assert o2.state_dict()["t"] == opt.t and o2.hyperparameters() == opt.hyperparameters()
    for slot, arrays in opt.slots.items():
        for name, a in arrays.items():
            assert np.array_equal(o2.slots[slot][name], a)
    assert ck.extra == {"note": "hello"}
    eps = np.random.default_rng(5).standard_normal((2, 40, 3))
    assert np.array_equal(model.elbo(x, eps), m2.elbo(x, eps))
    assert np.array_equal(model.sample(4), m2.sample(4))               # generator state restored too
    # one more identical step on both keeps them identical
    g1 = model.loss_and_grads(x, eps)[1]
    g2 = m2.loss_and_grads(x, eps)[1]
    opt.step(model.params, g1)
    o2.step(m2.params, g2)
    assert all(np.array_equal(model.params[k], m2.params[k]) for k in model.params)


def test_file_is_npz_with_json_and_needs_no_pickle(tmp_path):
    model, opt, _ = trained()
    path = save_checkpoint(tmp_path / "m.npz", model, opt)
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(npz["meta.json"].tobytes().decode())
        assert meta["model"]["name"] == "vae" and meta["model"]["config"]["hidden_sizes"] == [7, 5]
        assert meta["optimizer"]["name"] == "adam" and meta["optimizer"]["t"] == 5
        assert sorted(k for k in npz.files if k.startswith("params/")) == sorted(f"params/{k}" for k in model.params)
        assert all(npz[k].dtype != object for k in npz.files)
    assert list(tmp_path.iterdir()) == [path]                          # no temporary file left behind
    assert np.array_equal(load_model(path).params["enc.0.W"], model.params["enc.0.W"])


def test_model_only_checkpoint(tmp_path):
    model, _, _ = trained()
    ck = load_checkpoint(save_checkpoint(tmp_path / "m.npz", model))
    assert ck.optimizer is None and ck.trainer is None


def test_bad_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a zip archive")
    with pytest.raises(ValueError, match="not a readable numpyvae checkpoint"):
        load_checkpoint(junk)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    with pytest.raises(ValueError, match="no meta.json"):
        load_checkpoint(other)
    model, opt, _ = trained()
    path = save_checkpoint(tmp_path / "m.npz", model, opt)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ValueError, match="not a readable"):
        load_checkpoint(truncated)
    with pytest.raises(ValueError, match=r"\.npz"):
        save_checkpoint(tmp_path / "m.pkl", model)


def rewrite_meta(src, dst, change):
    with np.load(src, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays["meta.json"].tobytes().decode())
    change(meta)
    arrays["meta.json"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(dst, **arrays)


def test_mismatched_or_newer_checkpoints_are_refused(tmp_path):
    model, opt, _ = trained()
    path = save_checkpoint(tmp_path / "m.npz", model, opt)
    rewrite_meta(path, tmp_path / "wide.npz", lambda m: m["model"]["config"].update(hidden_sizes=[8, 5]))
    with pytest.raises(ValueError, match="enc.0.W"):
        load_checkpoint(tmp_path / "wide.npz")
    rewrite_meta(path, tmp_path / "new.npz", lambda m: m.update(format_version=99))
    with pytest.raises(ValueError, match="newer"):
        load_checkpoint(tmp_path / "new.npz")
    rewrite_meta(path, tmp_path / "unknown.npz", lambda m: m["model"].update(name="no-such-model"))
    with pytest.raises(ValueError, match="unknown model 'no-such-model'"):
        load_checkpoint(tmp_path / "unknown.npz")


@pytest.mark.parametrize("bitgen", [np.random.PCG64, np.random.MT19937, np.random.Philox, np.random.SFC64])
def test_generator_state_survives_json(bitgen):
    rng = np.random.Generator(bitgen(123))
    rng.standard_normal(7)
    state = json.loads(json.dumps(rng_state(rng)))
    assert np.array_equal(rng_from_state(state).standard_normal(20), rng.standard_normal(20))


class TinyModel:
    """A model outside the core, following the registry's interface: it learns the data mean and
    counts the datapoints it has seen in a buffer (state not trained by gradient)."""

    def __init__(self, input_dim, scale=1.0):
        self.input_dim, self.scale = input_dim, scale
        self.params = {"w": np.full(input_dim, scale)}
        self.buffers = {"seen": np.zeros(1)}

    def get_config(self):
        return {"input_dim": self.input_dim, "scale": self.scale}

    def loss_and_grads(self, x, rng=None, n_samples=1):
        self.buffers["seen"] += x.shape[0]
        r = x - self.params["w"]
        return float(0.5 * (r ** 2).sum(axis=1).mean()), {"w": -r.mean(axis=0)}

    def bound(self, x, rng=None, n_samples=1):
        """Minus the per-datapoint loss, shape (B,)."""
        return -0.5 * ((x - self.params["w"]) ** 2).sum(axis=1)


def test_registered_models_are_saved_loaded_and_trained(tmp_path):
    with temporarily_registered("test-tiny", TinyModel):
        _save_load_and_train(tmp_path)


def _save_load_and_train(tmp_path):
    assert "vae" in model_names() and get_model_class("test-tiny") is TinyModel
    m = TinyModel(4, scale=2.0)
    m.params["w"][:] = [1, 2, 3, 4]
    m.buffers["seen"][:] = 7
    m.buffers["extra"] = np.arange(3.0)                                # a buffer added after construction
    assert model_name(m) == "test-tiny"
    m2 = load_model(save_checkpoint(tmp_path / "t.npz", m))
    assert isinstance(m2, TinyModel) and m2.scale == 2.0 and np.array_equal(m2.params["w"], [1, 2, 3, 4])
    assert m2.buffers["seen"][0] == 7 and np.array_equal(m2.buffers["extra"], [0, 1, 2])
    from numpyvae.training import Trainer

    x = np.random.default_rng(0).normal(loc=5.0, size=(200, 4))
    ckpt = tmp_path / "run.npz"
    history = Trainer(m2, epochs=20, optimizer="sgd", lr=0.5, batch_size=20, checkpoint_path=ckpt).fit(x)
    assert np.allclose(m2.params["w"], x.mean(axis=0), atol=0.3)
    # the bound of a model without elbo is its per-datapoint score, averaged
    assert np.isclose(history[-1]["train_bound"], m2.bound(x).mean())
    assert history[-1]["train_bound"] > history[0]["train_bound"]
    assert load_model(ckpt).buffers["seen"][0] == 7 + 20 * 200


def test_registry_errors():
    with pytest.raises(ValueError, match="unknown model 'nope'; choose one of .*vae"):
        get_model_class("nope")
    with pytest.raises(ValueError, match="already registered"):
        register_model("vae", TinyModel)
    with pytest.raises(ValueError, match="not a registered model"):
        model_name(object())
    with pytest.raises(ValueError, match="cannot build model 'vae'"):
        build_model("vae", {"input_dim": 4, "no_such_option": 1})


# ---------------------------------------------------------------- run files: atomic, and the log after its checkpoint
def test_each_log_row_is_written_after_the_checkpoint_that_holds_it(tmp_path, monkeypatch):
    from numpyvae.training import Trainer
    from numpyvae.training import log as log_module

    ckpt, seen = tmp_path / "run.npz", []
    original = log_module.TrainingLog.write

    def spy(self, record):
        seen.append((record["samples"], load_checkpoint(ckpt).trainer["state"]["samples"]))
        original(self, record)

    monkeypatch.setattr(log_module.TrainingLog, "write", spy)
    x = np.random.default_rng(0).uniform(size=(30, 6))
    Trainer(nv.VAE(6, (4,), 2, rng=0), epochs=3, batch_size=10, checkpoint_path=ckpt,
            log_path=tmp_path / "log.csv").fit(x)
    assert seen == [(0, 0), (30, 30), (60, 60), (90, 90)]


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_a_log_write_killed_midway_leaves_the_previous_log_whole(tmp_path, monkeypatch, suffix):
    from numpyvae.training import TrainingLog, read_log
    from numpyvae.training import files as checkpoint_module

    path = tmp_path / f"log.{suffix}"
    log = TrainingLog(path)
    log.write({"samples": 10, "epoch": 1.0, "train_bound": -5.0})
    before = path.read_bytes()

    def killed(fd):
        raise KeyboardInterrupt                                       # as a kill between write and rename

    monkeypatch.setattr(checkpoint_module.os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        log.write({"samples": 20, "epoch": 2.0, "train_bound": -4.0, "new_column": 1.0})
    assert path.read_bytes() == before and [r["samples"] for r in read_log(path)] == [10]
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]   # no temporary file left


def test_atomic_text_files_remove_the_orphans_of_killed_writes(tmp_path):
    from numpyvae.training.checkpoint import atomic_write_text

    (tmp_path / "config.json.x1y2.tmp").write_text("{half")
    atomic_write_text(tmp_path / "config.json", "{}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


# ---------------------------------------------------------------- structurally edited checkpoints
@pytest.fixture(scope="module")
def run_checkpoint(tmp_path_factory):
    """A checkpoint written by the Trainer: model, Adam state, trainer section, SGVB algorithm section."""
    from numpyvae.training import Trainer

    path = tmp_path_factory.mktemp("run") / "run.npz"
    x = np.random.default_rng(0).uniform(size=(30, 6))
    Trainer(nv.VAE(6, (4,), 2, rng=0), epochs=1, batch_size=10, checkpoint_path=path).fit(x)
    return path, x


def edited(src, dst, meta_change=None, arrays_change=None):
    with np.load(src, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays.pop("meta.json").tobytes().decode())
    if meta_change is not None:
        meta_change(meta)
    if arrays_change is not None:
        arrays_change(arrays)
    arrays["meta.json"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(dst, **arrays)
    return dst


def _set(keys, value):
    def change(d):
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value
    return change


def _delete(*keys):
    def change(d):
        for k in keys[:-1]:
            d = d[k]
        del d[keys[-1]]
    return change


def _nan(key):
    def change(arrays):
        arrays[key] = arrays[key].copy()
        arrays[key].flat[0] = np.nan
    return change


@pytest.mark.parametrize("meta_change,arrays_change,match", [
    (_delete("model"), None, "the 'model' section is missing"),
    (_delete("model", "config"), None, "the model section has no 'config'"),
    (_set(["model", "config"], [1, 2]), None, "'config' must be a JSON object"),
    (_set(["model", "config", "beta"], "1"), None, "beta must be a real number"),
    (_set(["model", "config", "no_such_option"], 1), None, "cannot build model 'vae'"),
    (lambda m: m["optimizer"]["slots"]["m_sum"].append("enc.9.W"), None, "names 'enc.9.W'.*no array optim/m_sum"),
    (lambda m: m["optimizer"]["slots"]["m_sum"].append("nope"),
     lambda a: a.update({"optim/m_sum/nope": np.zeros(3)}), "'nope', which is not a parameter"),
    (None, lambda a: a.update({"optim/v_sum/extra": np.zeros(3)}), r"\['optim/v_sum/extra'\] are not listed"),
    (lambda m: m["optimizer"]["slots"].update(velocity=[]), None, r"adam keeps no optimizer state \['velocity'\]"),
    (_set(["optimizer", "hyperparameters", "betas"], [0.9, 0.99]), None, r"unknown setting\(s\) \['betas'\]"),
    (_set(["optimizer", "hyperparameters", "eps"], -1), None, "eps must be a positive number"),
    (_set(["optimizer", "t"], "five"), None, "'t' must be a step count"),
    (_delete("optimizer", "slots"), None, "the optimizer section has no 'slots'"),
    (_set(["model", "rng", "state", "state"], "garbled"), None, "invalid PCG64 random generator state"),
    (_delete("model", "rng", "state"), None, "invalid PCG64 random generator state"),
    (_set(["model", "rng", "bit_generator"], "Mystery"), None, "unsupported random generator"),
    (_set(["algorithm"], "sgvb"), None, "the 'algorithm' section must be a JSON object"),
    (_set(["algorithm", "arrays"], ["chains"]), None, "names the array 'chains', but there is no array"),
    (_delete("algorithm", "config"), None, "the algorithm section has no 'config'"),
    (_set(["format_version"], "one"), None, "format_version 'one' is not an integer"),
    (_set(["trainer"], [1]), None, "the 'trainer' section must be a JSON object"),
    (None, _nan("params/enc.0.W"), r"array params/enc.0.W holds 1 NaN or infinite value\(s\)"),
    (None, lambda a: a.update({"optim/v_sum/enc.0.b": np.full_like(a["optim/v_sum/enc.0.b"], np.inf)}),
     "optim/v_sum/enc.0.b holds"),
    (None, lambda a: a.update({"params/enc.0.b": np.array(["a"] * 4)}), "not a number type"),
])
def test_an_edited_checkpoint_is_not_a_valid_checkpoint(run_checkpoint, tmp_path, meta_change, arrays_change,
                                                         match):
    path, _ = run_checkpoint
    bad = edited(path, tmp_path / "bad.npz", meta_change, arrays_change)
    with pytest.raises(ValueError, match="bad.npz is not a valid numpyvae checkpoint: ") as info:
        load_checkpoint(bad)
    assert info.match(match)
    from numpyvae.training import Trainer

    with pytest.raises(ValueError, match="is not a valid numpyvae checkpoint"):
        Trainer.from_checkpoint(bad)


@pytest.mark.parametrize("meta_change,match", [
    (_set(["trainer", "state", "rng", "state", "inc"], "x"), "invalid PCG64 random generator state"),
    (_delete("trainer", "state", "rng"), "no random generator state 'rng'"),
    (_set(["trainer", "state", "samples"], -5), "'samples' must be an integer >= 0"),
    (_set(["trainer", "state", "batch_sum"], None), "'batch_sum' must be a finite number"),
    (_set(["trainer", "history"], {"samples": 0}), "no 'history' list"),
    (_delete("trainer", "config"), "no 'config' object"),
    (_set(["trainer", "config", "batch_size"], 0), "batch_size must be an integer >= 1"),
    (_set(["trainer", "config", "optimizer"], "sgd"), "optimizer state is 'adam' but the settings name 'sgd'"),
    (_set(["algorithm", "name"], "mcem"), "algorithm section is 'mcem' but the settings name 'sgvb'"),
    (_set(["algorithm", "name"], "annealing"), "unknown algorithm 'annealing'"),
])
def test_an_edited_training_state_cannot_be_resumed(run_checkpoint, tmp_path, meta_change, match):
    from numpyvae.training import Trainer

    path, _ = run_checkpoint
    bad = edited(path, tmp_path / "bad.npz", meta_change)
    load_checkpoint(bad)                                                # the model itself is fine
    with pytest.raises(ValueError, match="bad.npz is not a valid numpyvae checkpoint: ") as info:
        Trainer.from_checkpoint(bad)
    assert info.match(match)


def test_edited_algorithm_state_arrays_are_named_when_the_run_resumes(tmp_path):
    from numpyvae.training import Trainer

    x = np.random.default_rng(0).uniform(size=(30, 6))
    path = tmp_path / "mcem.npz"
    Trainer(nv.VAE(6, (4,), 2, rng=0), epochs=1, batch_size=10, algorithm="mcem", optimizer="adagrad",
            checkpoint_path=path).fit(x)

    def shorter_chains(arrays):
        arrays["algorithm/chains"] = arrays["algorithm/chains"][:5]

    bad = edited(path, tmp_path / "bad.npz", arrays_change=shorter_chains)
    trainer = Trainer.from_checkpoint(bad, epochs=2)
    with pytest.raises(ValueError, match="bad.npz is not a valid numpyvae checkpoint: the mcem algorithm: .*chains"):
        trainer.fit(x)


def test_a_run_resumed_with_other_blas_settings_says_so_and_goes_on(run_checkpoint, tmp_path):
    """The kernels and threads a checkpoint trained with are kept; resuming with others warns (the
    products round differently, so the run is no longer bit for bit the saved one's continuation)."""
    import warnings

    from numpyvae.arrays.blas import openblas_corename, openblas_num_threads
    from numpyvae.training import Trainer

    path, x = run_checkpoint
    saved = read_checkpoint(path)[0]["blas"]
    assert saved == {"kernels": openblas_corename(), "threads": openblas_num_threads()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                  # the same settings: not a word
        same = Trainer.from_checkpoint(path, epochs=2)
        older = Trainer.from_checkpoint(edited(path, tmp_path / "older.npz", _delete("blas")), epochs=2)
    assert same.resume_note is None and older.resume_note is None       # earlier checkpoints: nothing known
    other = edited(path, tmp_path / "other.npz", _set(["blas"], {"kernels": "Prescott", "threads": 7}))
    with pytest.warns(RuntimeWarning, match=r"other.npz: the BLAS runs .* where the checkpoint was saved with "
                                            r"Prescott kernels on 7 thread\(s\): the matrix products round"):
        moved = Trainer.from_checkpoint(other, epochs=2)
    assert "Prescott kernels on 7 thread(s)" in moved.resume_note
    moved.fit(x)                                                        # it goes on, as a run of its own
    same.fit(x)
    assert moved.state["samples"] == same.state["samples"] == 2 * 30
    assert all(np.array_equal(moved.model.params[k], same.model.params[k]) for k in same.model.params)
