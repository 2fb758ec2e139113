"""The benchmark suite's framework implementations agree with numpyvae (float64, tiny models).

Each framework test skips when that framework is not installed (``pip install -r
benchmarks/requirements.txt``).  These are real correctness checks: PyTorch, JAX and HIPS
autograd differentiate the model independently of numpyvae's hand-written backward pass.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
if not (REPO / "benchmarks").is_dir():
    pytest.skip("benchmarks/ is not beside the tests: they run from an installed package, without the source "
                "checkout", allow_module_level=True)
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import correctness  # noqa: E402
from benchmarks.frameworks import numpyvae_vae  # noqa: E402
from benchmarks.frameworks.common import AdamConfig, ModelSpec, make_batch  # noqa: E402

SPECS = [
    ModelSpec(12, (7,), 3, "bernoulli"),
    ModelSpec(10, (6, 5), 2, "gaussian", beta=0.5),
    ModelSpec(9, (), 4, "gaussian_sigmoid"),
]
FRAMEWORKS = {"torch": "torch", "jax": "jax", "autograd": "autograd"}


def _framework(name):
    pytest.importorskip(FRAMEWORKS[name])
    from importlib import import_module
    return import_module(f"benchmarks.frameworks.{name}_vae")


def _problem(spec, seed=3, batch_size=5, n_samples=2):
    rng = np.random.default_rng(seed)
    params = numpyvae_vae.initial_params(spec, np.float64, seed=seed)
    # numpyvae's default init (N(0, 0.01^2)) leaves the net nearly linear; widen it so tanh,
    # the sigmoid mean and the variance heads all work away from their linear regime.
    params = {k: v * 30.0 for k, v in params.items()}
    x, eps = make_batch(spec, batch_size, n_samples, rng)
    return params, x, eps


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.label.replace(" ", "_"))
def test_param_names_and_shapes_match_numpyvae(spec):
    params = numpyvae_vae.initial_params(spec, np.float64)
    assert {k: v.shape for k, v in params.items()} == spec.param_shapes()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.label.replace(" ", "_"))
@pytest.mark.parametrize("name", list(FRAMEWORKS))
def test_gradients_and_adam_agree_with_numpyvae_float64(name, spec):
    module = _framework(name)
    params, x, eps = _problem(spec)
    adam = AdamConfig(lr=1e-2)
    ref = correctness.reference(numpyvae_vae, spec, params, x, eps, adam)
    loss, grads = module.loss_and_grads(spec, params, x, eps)
    trainer = module.make_trainer(spec, params, x, eps, adam)
    check = correctness.compare(ref, loss, grads, trainer, params, "float64")
    assert check["ok"], check["problems"]
    assert check["grad_err"] <= 1e-10 and check["loss_err"] <= 1e-10


def test_torch_fused_adam_agrees_with_numpyvae_float64():
    module = _framework("torch")
    spec = SPECS[0]
    params, x, eps = _problem(spec)
    ref = correctness.reference(numpyvae_vae, spec, params, x, eps, AdamConfig(lr=1e-2))
    loss, grads = module.loss_and_grads(spec, params, x, eps)
    trainer = module.make_trainer(spec, params, x, eps, AdamConfig(lr=1e-2), fused=True)
    check = correctness.compare(ref, loss, grads, trainer, params, "float64")
    assert check["ok"], check["problems"]


def test_check_rejects_a_wrong_gradient_and_a_wrong_optimizer():
    """The gate that keeps a disagreeing framework out of the timing tables can fail."""
    module = _framework("autograd")
    spec = SPECS[0]
    params, x, eps = _problem(spec)
    adam = AdamConfig(lr=1e-2)
    ref = correctness.reference(numpyvae_vae, spec, params, x, eps, adam)
    loss, grads = module.loss_and_grads(spec, params, x, eps)
    grads["dec.0.b"] = grads["dec.0.b"] * (1 + 1e-6)                 # a tiny, real disagreement
    check = correctness.compare(ref, loss, grads, module.make_trainer(spec, params, x, eps, adam),
                                params, "float64")
    assert not check["ok"]
    assert any("dec.0.b" in p for p in check["problems"])

    loss, grads = module.loss_and_grads(spec, params, x, eps)
    wrong_adam = module.make_trainer(spec, params, x, eps, AdamConfig(lr=1e-2, beta2=0.99))
    check = correctness.compare(ref, loss, grads, wrong_adam, params, "float64")
    assert not check["ok"]
    assert any("Adam" in p for p in check["problems"])


def test_worker_times_only_agreeing_rows_and_reports_them():
    """One tiny configuration end to end: checks, interleaved timing, floor and the tables."""
    pytest.importorskip("autograd")
    from benchmarks import report, worker
    from benchmarks.configs import Config

    config = Config("tiny", ModelSpec(16, (8,), 2, "gaussian_sigmoid"), 4)
    rows, _ = worker.load_rows(["numpyvae", "autograd"])
    args = {"seed": 0, "rounds": 2, "block_s": 0.002, "warmup_s": 0.002}
    res = worker.measure_config(config, "float64", rows, rows["numpyvae"][0], args)
    assert set(res["times"]) == {"numpyvae", "autograd", "gemm-floor", "stream-pass"}
    for row in ("numpyvae", "autograd"):
        step = res["times"][row]["step"]
        assert res["check"][row]["ok"]
        assert 0 < step["min"] <= step["median"] <= step["max"]
    assert res["flops"] == 2 * 4 * (16 * 8 * 2 + 3 * 8 * 2 * 2 + 3 * 2 * 8 + 3 * 8 * 16 * 2)
    assert res["data"] == "synthetic" and res["n_params"] == sum(
        int(np.prod(s)) for s in config.spec.param_shapes().values())
    info = {"cores": [0], "reference": "numpyvae", "peak_gflops": {"float64": 1.0}, "missing": {}}
    text = report.markdown(["# t"], {(1, "float64"): (info, [res])}, {}, "")
    assert "| numpyvae |" in text and "| autograd |" in text and "disagrees" not in text
    assert "Adam stream floor" in text and "numpyvae / floor" in text


def test_the_adagrad_row_is_checked_against_textbook_adagrad_and_can_fail():
    from benchmarks.frameworks.common import AdagradConfig

    spec = SPECS[0]
    params, x, eps = _problem(spec)
    adagrad = AdagradConfig(lr=0.05, weight_decay=0.01)
    ref = correctness.reference_adagrad(numpyvae_vae, spec, params, x, eps, adagrad)
    loss, grads = numpyvae_vae.loss_and_grads(spec, params, x, eps)
    trainer = numpyvae_vae.make_trainer(spec, params, x, eps, optimizer="adagrad", adagrad=adagrad)
    check = correctness.compare(ref, loss, grads, trainer, params, "float64")
    assert check["ok"], check["problems"]
    assert check["adam_err"] <= 1e-12
    wrong = numpyvae_vae.make_trainer(spec, params, x, eps, optimizer="adagrad",
                                      adagrad=AdagradConfig(lr=0.05, weight_decay=0.0))
    check = correctness.compare(ref, loss, grads, wrong, params, "float64")
    assert not check["ok"] and any("Adagrad" in p for p in check["problems"])


def test_the_real_data_batches_fall_back_to_synthetic_data_and_say_so(monkeypatch):
    from benchmarks import data
    from benchmarks.configs import CONFIGS

    x, eps, source = data.batch(CONFIGS["mnist-b10"], np.random.default_rng(0), np.float32)
    assert x.shape == (10, 784) and eps.shape == (1, 10, 20) and x.dtype == np.float32
    if source.startswith("mnist"):                                   # the files are here: real images
        assert "columns used" in source and 0.0 <= x.min() and x.max() <= 1.0
    monkeypatch.setattr(data, "_training_images", lambda name: (_ for _ in ()).throw(FileNotFoundError(name)))
    x, eps, source = data.batch(CONFIGS["mnist-b10"], np.random.default_rng(0), np.float32)
    assert source.startswith("synthetic (mnist files not found") and x.shape == (10, 784)


def test_merge_joins_runs_in_suite_order(tmp_path):
    pytest.importorskip("autograd")
    from benchmarks import merge_results, worker
    from benchmarks.configs import CONFIGS, Config

    rows, _ = worker.load_rows(["numpyvae"])
    args = {"seed": 0, "rounds": 2, "block_s": 0.002, "warmup_s": 0.002}
    info = {"cores": [0], "reference": "numpyvae", "peak_gflops": {"float64": 1.0}, "missing": {}}
    raws = []
    for name in ("frey-z20", "mnist"):                              # given out of suite order
        config = Config(name, ModelSpec(16, (8,), 2, "gaussian_sigmoid"), 4)
        res = worker.measure_config(config, "float64", rows, rows["numpyvae"][0], args)
        raws.append({"command": f"python benchmarks/run.py --configs {name}",
                     "sections": [[[2, "float64"], info, [res]]]})
    for i, raw in enumerate(raws):
        (tmp_path / f"{i}.json").write_text(__import__("json").dumps(raw))
    sections = merge_results.merge(raws)
    assert [r["config"] for r in sections[(2, "float64")][1]] == ["mnist", "frey-z20"]
    loaded = __import__("copy").deepcopy(raws[1])
    loaded["sections"][0][2][0]["others_cpu"] = raws[1]["sections"][0][2][0]["others_cpu"] + 1.0
    again = merge_results.merge([loaded, *raws])                    # a loaded retry of mnist: the quieter kept
    assert [r["config"] for r in again[(2, "float64")][1]] == ["mnist", "frey-z20"]
    assert again[(2, "float64")][1][0]["others_cpu"] == raws[1]["sections"][0][2][0]["others_cpu"]
    assert list(CONFIGS).index("mnist") < list(CONFIGS).index("frey-z20")
    out = tmp_path / "joined.md"
    merge_results.main(["--out", str(out), str(tmp_path / "0.json"), str(tmp_path / "1.json")])
    text = out.read_text()
    assert "--configs frey-z20" in text and "--configs mnist" in text and "## float64, 2 threads" in text


def test_the_sharded_gradient_of_optimizer_layouts_equals_the_whole_minibatch_gradient():
    """benchmarks/optimizer_layouts.py times a step whose gradient is summed from two shards on
    threads; it must be the gradient it stands in for (float64, an odd batch: shards of 3 and 4)."""
    import numpyvae as nv
    from benchmarks.optimizer_layouts import shard_gradients

    rng = np.random.default_rng(5)
    model = nv.VAE(12, (9,), 3, dtype=np.float64, rng=1, init_scale=0.3)
    x, eps = rng.random((7, 12)), rng.standard_normal((1, 7, 3))
    _, whole = model.loss_and_grads(x, eps=eps)
    summed = shard_gradients(model, x, eps, [nv.Workspace(), nv.Workspace()])
    for name in whole:
        np.testing.assert_allclose(summed[name], whole[name], rtol=1e-10, atol=1e-13, err_msg=name)
    _, first_half = model.loss_and_grads(x[:3], eps=eps[:, :3])
    assert not np.allclose(first_half["enc.0.W"], whole["enc.0.W"])      # the test can tell halves apart
