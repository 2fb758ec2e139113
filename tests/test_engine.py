"""The one training engine: every algorithm through the Trainer, resumed exactly from its checkpoint."""
import numpy as np
import pytest

import numpyvae as nv
from numpyvae.algorithms import SGVB, make_algorithm
from numpyvae.optim import Adagrad
from numpyvae.training import Trainer, load_checkpoint
from numpyvae.training.checkpoint import make_checkpoint, write_checkpoint

METHODS = ("sgvb", "wake_sleep", "mcem", "fullvb")


def _data():
    return nv.load_dataset("synthetic", "train").x[:300], nv.load_dataset("synthetic", "test").x[:100]


def _trainer(algorithm, budget, ckpt=None, binarize="none", eval_every=(600, 1200, 1800)):
    x, x_test = _data()
    model = nv.VAE(64, (8,), 2, dtype=np.float64, rng=0)
    return Trainer(model, optimizer="adagrad", lr=0.05, weight_decay=1.0 / len(x), batch_size=50, seed=3,
                   epochs=None, max_samples=budget, eval_every=list(eval_every), last_batch="drop",
                   algorithm=algorithm, binarize=binarize, checkpoint_path=ckpt, eval_size=None), x, x_test


def _strip(history):
    return [{k: v for k, v in r.items() if k not in ("wall_time", "eval_time")} for r in history]


@pytest.mark.parametrize("algorithm,binarize", [("sgvb", "none"), ("wake_sleep", "dynamic"), ("mcem", "none"),
                                                ("fullvb", "none")])
def test_every_algorithm_resumes_to_the_uninterrupted_result(tmp_path, algorithm, binarize):
    full, x, xt = _trainer(algorithm, 1800, binarize=binarize)
    full.fit(x if binarize == "none" else 0.2 + 0.6 * x, x_test=xt)
    ckpt = tmp_path / "run.npz"
    part, *_ = _trainer(algorithm, 1200, ckpt=ckpt, binarize=binarize)
    part.fit(x if binarize == "none" else 0.2 + 0.6 * x, x_test=xt)
    resumed = Trainer.from_checkpoint(ckpt, max_samples=1800)           # as a new process would
    resumed.fit(x if binarize == "none" else 0.2 + 0.6 * x, x_test=xt)
    assert [r["samples"] for r in resumed.history] == [600, 1200, 1800]
    assert _strip(resumed.history) == _strip(full.history)
    for k, v in full.model.params.items():
        np.testing.assert_array_equal(resumed.model.params[k], v)
    for k, v in full.algorithm.state_arrays().items():                  # chains, posterior log-variances
        np.testing.assert_array_equal(np.asarray(resumed.algorithm.state_arrays()[k]), np.asarray(v))
    assert resumed.algorithm.name == algorithm == load_checkpoint(ckpt).meta["algorithm"]["name"]


def test_drop_last_leaves_the_partial_minibatch_out():
    t, x, xt = _trainer("sgvb", 600, eval_every=(0, 290, 580))
    t.config = t.config.replace(batch_size=29)                           # 300 = 10 x 29 + 10 left over
    t.fit(x, x_test=xt)
    assert t.state["samples"] == 609 and t.state["epoch"] == 2          # 21 full minibatches, no partial ones


def test_a_list_schedule_evaluates_at_the_first_step_reaching_each_point():
    t, x, xt = _trainer("sgvb", 1000, eval_every=(120, 500))
    t.fit(x, x_test=xt)
    assert [r["samples"] for r in t.history] == [150, 500, 1000]


def test_a_custom_evaluator_replaces_the_bounds_and_is_logged(tmp_path):
    x, xt = _data()
    calls = []

    def evaluator(algorithm, samples, final):
        calls.append((samples, final))
        return {"test_bound": float(algorithm.model.elbo(xt, rng=samples).mean()), "extra_value": 1.5}

    t = Trainer(nv.VAE(64, (8,), 2, dtype=np.float64, rng=0), max_samples=600, epochs=None, batch_size=50,
                eval_every=[300], evaluator=evaluator, log_path=tmp_path / "log.csv")
    t.fit(x)
    assert calls == [(300, False), (600, True)]
    header = (tmp_path / "log.csv").read_text().splitlines()[0].split(",")
    assert "extra_value" in header and len((tmp_path / "log.csv").read_text().splitlines()) == 3


def test_sgvb_through_the_trainer_equals_the_bare_loop():
    """Same seed, same parameters after N steps, bit for bit: the engine adds nothing to the math."""
    x, _ = _data()
    t = Trainer(nv.VAE(64, (8,), 2, dtype=np.float64, rng=0), optimizer="adam", lr=1e-3, batch_size=50,
                epochs=2, seed=5, eval_every="epoch")
    t.fit(x)
    model = nv.VAE(64, (8,), 2, dtype=np.float64, rng=0)
    opt = nv.Adam(lr=1e-3)
    rng = np.random.default_rng(5)
    for _ in range(2):
        perm = rng.permutation(len(x))
        for b in range(6):
            _, grads = model.loss_and_grads(x[perm[b * 50:(b + 1) * 50]], rng=rng)
            opt.step(model.params, grads)
    for k, v in model.params.items():
        np.testing.assert_array_equal(t.model.params[k], v)


def test_a_model_that_breaks_its_declared_layout_is_an_error():
    x, _ = _data()
    model = nv.VAE(64, (8,), 2, dtype=np.float64, rng=0)
    model.params["enc.mu.W"] = model.params["enc.mu.W"].copy()          # rebound: no longer in the flat vector
    algo = SGVB(model, Adagrad(lr=0.01))
    if not getattr(type(model), "flat_params", False):
        pytest.skip("the model does not declare flat parameters")
    with pytest.raises(ValueError, match="contiguous vector"):
        algo.step(x[:10], np.random.default_rng(0))


def test_the_checkpoint_holds_the_algorithm_state_and_resumes_it(tmp_path):
    x, _ = _data()
    model = nv.VAE(64, (8,), 2, dtype=np.float64, rng=0)
    algo = make_algorithm("mcem", model, Adagrad(lr=0.01), n_data=len(x), seed=1)
    algo.step(x[:20], np.random.default_rng(0), np.arange(20))
    path = write_checkpoint(tmp_path / "c.npz", *make_checkpoint(model, algo.optimizer, algorithm=algo))
    ckpt = load_checkpoint(path)
    np.testing.assert_array_equal(ckpt.algorithm_arrays["chains"], algo.chains_)
    assert ckpt.meta["algorithm"]["config"]["n_leapfrog"] == 10


def test_unknown_algorithm_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown algorithm 'gibbs'"):
        nv.TrainConfig(algorithm="gibbs")


def test_killed_writes_leave_no_orphans(tmp_path):
    model = nv.VAE(6, (3,), 2, rng=0)
    path = tmp_path / "c.npz"
    (tmp_path / "c.npz.abc123.tmp").write_bytes(b"half a checkpoint")   # what a kill mid-write leaves
    write_checkpoint(path, *make_checkpoint(model))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]
