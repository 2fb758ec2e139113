"""The resumable training loop: an interrupted run resumes to exactly the uninterrupted result."""
import json

import numpy as np
import pytest

import numpyvae as nv
from numpyvae.reproduce.algorithms import make_algorithm
from numpyvae.reproduce.loop import TrainingRun, eval_grid


def _data():
    return nv.load_dataset("synthetic", "train").x[:300], nv.load_dataset("synthetic", "test").x[:100]


def _run(method, directory, budget, binarize=False, eval_at=(600, 1200, 1800)):
    x, x_test = _data()
    model = nv.VAE(64, (8,), 2, dtype=np.float64, rng=0)
    algo = make_algorithm(method, model, len(x), lr=0.05, weight_decay=1.0 / len(x), seed=0)

    def evaluate(a, samples):
        return {"test_bound": float(a.model.elbo(x_test, rng=samples).mean())}

    binarize_epoch = (lambda xx, rng: (rng.uniform(size=xx.shape) < xx).astype(xx.dtype)) if binarize else None
    run = TrainingRun(algo, x, evaluate, budget, directory, batch_size=50, seed=3, config={"method": method},
                      eval_at=eval_at, binarize_epoch=binarize_epoch, log=None, checkpoint_every=1e9)
    return run, run.run()


@pytest.mark.parametrize("method,binarize", [("aevb", False), ("wake_sleep", True), ("mcem", False),
                                             ("fullvb", False)])
def test_interrupted_run_resumes_to_the_same_result(tmp_path, method, binarize):
    full, full_records = _run(method, tmp_path / "full", 1800, binarize)
    _run(method, tmp_path / "split", 1200, binarize)                     # stops after 1200 samples
    resumed, resumed_records = _run(method, tmp_path / "split", 1800, binarize)   # a new process would do this
    assert [r["samples"] for r in resumed_records] == [600, 1200, 1800]

    def strip(rs):
        return [{k: v for k, v in r.items() if k not in ("wall_s", "eval_s")} for r in rs]
    assert strip(resumed_records) == strip(full_records)
    for k, v in full.algorithm.model.params.items():
        np.testing.assert_array_equal(resumed.algorithm.model.params[k], v)
    assert (tmp_path / "split" / "log.csv").read_text().count("\n") == 4


def test_a_finished_run_is_not_retrained(tmp_path):
    _, records = _run("aevb", tmp_path, 1200)
    run, again = _run("aevb", tmp_path, 1200)
    assert again == records


def test_resume_refuses_different_settings(tmp_path):
    _run("aevb", tmp_path, 600)
    meta = json.loads((tmp_path / "checkpoint.json").read_text())
    meta["config"]["method"] = "something else"
    (tmp_path / "checkpoint.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="different settings"):
        _run("aevb", tmp_path, 1200)


def test_damaged_checkpoint_is_reported(tmp_path):
    _run("aevb", tmp_path, 600)
    (tmp_path / "checkpoint.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="damaged checkpoint"):
        _run("aevb", tmp_path, 1200)


def test_eval_grid_is_log_spaced_and_ends_at_the_budget():
    g = eval_grid(100, 10 ** 6)
    assert g[0] >= 1000 and g[-1] == 10 ** 6
    ratios = np.diff(np.log10(g[:-1]))
    np.testing.assert_allclose(ratios, 1 / 6, atol=0.01)
    assert set(eval_grid(100, 10 ** 5)) <= set(g) | {10 ** 5}          # a larger budget keeps earlier points


def test_budget_smaller_than_a_minibatch_is_refused(tmp_path):
    with pytest.raises(ValueError, match="budget"):
        _run("aevb", tmp_path, 10)
