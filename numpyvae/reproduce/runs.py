"""One training run of the reproduction: data, model, step-size choice, evaluation, checkpointed loop.

A run is described by a plain dict (a *spec*) so that it can be handed to a worker process and
written to disk; its folder name is derived from the settings that define it (not the budget, so
a larger budget extends the same run).
"""
import json
import math
from pathlib import Path

import numpy as np

from ..datasets import load_dataset
from ..datasets.binarize import bernoulli_binarize
from ..evaluation import importance_sampled_log_px
from ..marginal_likelihood import hmc_marginal_likelihood
from ..models.autoencoder import Autoencoder
from ..vae import VAE
from . import paper
from .algorithms import make_algorithm
from .loop import TrainingRun

DEFAULTS = {"protocol": {"mnist": "kw2013", "frey": "official"}, "binarize": "none", "seed": 0,
            "batch_size": paper.BATCH_SIZE, "lr": "auto", "pilot": 50000, "weight_decay": "1/N",
            "n_train": None, "hidden": None}


def make_spec(data, nz, method, budget, out, **options):
    """Fill a run spec with the paper's defaults; ``options`` override them (None keeps the default)."""
    spec = {"data": data, "nz": int(nz), "method": method, "budget": int(float(budget)), "out": str(out)}
    for k, v in DEFAULTS.items():
        v = options.get(k) if options.get(k) is not None else v
        spec[k] = v.get(data, "kw2013") if isinstance(v, dict) else v
    if spec["hidden"] is None:
        if data not in paper.HIDDEN:
            raise ValueError(f"no default hidden size for data set {data!r}; pass hidden=")
        spec["hidden"] = paper.HIDDEN[data]
    for k in ("ml_points", "is_samples", "hmc_samples", "hmc_burnin", "ml_evals", "eval_points"):
        if options.get(k) is not None:
            spec[k] = options[k]
    return spec


def run_name(spec):
    parts = [spec["data"], f"nz{spec['nz']}", f"h{spec['hidden']}", spec["method"]]
    if spec.get("n_train"):
        parts.append(f"n{spec['n_train']}")
    if spec["binarize"] != "none":
        parts.append(spec["binarize"])
    if spec["seed"]:
        parts.append(f"seed{spec['seed']}")
    if spec.get("ml_points"):
        parts.append("ml")
    return "-".join(parts)


def run_dir(spec):
    return Path(spec["out"]) / "runs" / run_name(spec)


def load_data(spec):
    """Training and test arrays (float64) and the image shape, as the spec says."""
    name = spec["data"]
    rng = np.random.default_rng(spec["seed"] + 1000)
    binarize = "static" if spec["binarize"] == "static" else "none"
    kw = {"protocol": spec["protocol"], "binarize": binarize}
    if binarize == "static":
        tr = load_dataset(name, "train", rng=rng, **kw)
        te = load_dataset(name, "test", rng=rng, **kw)
    else:
        tr, te = load_dataset(name, "train", **kw), load_dataset(name, "test", **kw)
    x_train, x_test = tr.x, te.x
    if spec.get("n_train"):
        x_train = x_train[:int(spec["n_train"])]
    if spec["binarize"] == "dynamic":   # evaluate on one fixed draw
        x_test = bernoulli_binarize(x_test, np.random.default_rng(spec["seed"] + 2000))
    return x_train, x_test, tr.image_shape


def likelihood_of(data):
    return paper.LIKELIHOOD.get(data, "bernoulli")


def build_model(spec, input_dim):
    """The paper's VAE for the spec's data, or for method "autoencoder" a plain autoencoder with the
    same layers (its loss: Bernoulli cross-entropy for binary-likelihood data, else squared error)."""
    if spec["method"] == "autoencoder":
        loss = "bernoulli" if likelihood_of(spec["data"]) == "bernoulli" else "squared_error"
        return Autoencoder(input_dim, (spec["hidden"],), spec["nz"], loss=loss, activation="tanh",
                           dtype=np.float64, rng=np.random.default_rng(spec["seed"]), init="normal",
                           init_scale=paper.INIT_SCALE)
    return VAE(input_dim, (spec["hidden"],), spec["nz"], likelihood=likelihood_of(spec["data"]),
               activation="tanh", estimator="analytic", dtype=np.float64, rng=np.random.default_rng(spec["seed"]),
               init="normal", init_scale=paper.INIT_SCALE)


def weight_decay_of(spec, n_data):
    wd = spec["weight_decay"]
    return 1.0 / n_data if wd == "1/N" else float(wd)


def _elbo_mean(model, x, rng, batch=2000):
    return float(np.mean(np.concatenate([model.backend.to_numpy(model.elbo(x[i:i + batch], rng=rng))
                                         for i in range(0, x.shape[0], batch)])))


def make_evaluator(spec, x_train, x_test):
    """The evaluation of one run at a sample count: lower bounds (all methods), and for Figure 3 runs
    the appendix-D marginal likelihood and the importance-sampled estimate on the first points."""
    ml_points = int(spec.get("ml_points", 0))
    n_eval = spec.get("eval_points")

    def evaluate(algorithm, samples):
        rng = np.random.default_rng([spec["seed"], samples])
        model = algorithm.model
        rec = {}
        # intermediate points on the first eval_points of each set (if given); the last on the whole sets
        sub = n_eval if n_eval and samples < spec["budget"] else None
        for split, x in (("train", x_train[:sub]), ("test", x_test[:sub])):
            if spec["method"] == "autoencoder":                         # no bound: minus the loss
                rec[f"{split}_recon"] = -float(np.mean(np.concatenate(
                    [model.backend.to_numpy(model.score(x[i:i + 2000])) for i in range(0, x.shape[0], 2000)])))
            elif spec["method"] == "fullvb":
                rec[f"{split}_bound"] = algorithm.bound(x, rng=rng, n_theta=1)
            else:
                rec[f"{split}_bound"] = _elbo_mean(model, x, rng)
        rec["eval_points"] = int(min(sub or x_train.shape[0], x_train.shape[0]))
        if ml_points and (samples in spec.get("_ml_at", ()) or samples >= spec["budget"]):
            for split, x in (("train", x_train[:ml_points]), ("test", x_test[:ml_points])):
                lp = hmc_marginal_likelihood(model, x, rng=rng, n_samples=spec.get("hmc_samples", 100),
                                             n_burnin=spec.get("hmc_burnin", 200), n_leapfrog=10)
                rec[f"{split}_ml_hmc"] = float(np.mean(lp))
                if spec["method"] != "mcem":          # MCEM trains no recognition model to propose from
                    lp_is, _ = importance_sampled_log_px(model, x, n_samples=spec.get("is_samples", 5000), rng=rng)
                    rec[f"{split}_ml_is"] = float(np.mean(lp_is))
        return rec

    return evaluate


def _pilot_loss(spec, lr, x_train, log):
    model = build_model(spec, x_train.shape[1])
    algo = make_algorithm(spec["method"], model, x_train.shape[0], lr, weight_decay_of(spec, x_train.shape[0]),
                          seed=spec["seed"])
    rng = np.random.default_rng(spec["seed"] + 3000)
    M = spec["batch_size"]
    steps = max(4, int(spec["pilot"]) // M)
    losses = []
    for s in range(steps):
        if (s * M) % x_train.shape[0] + M > x_train.shape[0] or s == 0:
            perm = rng.permutation(x_train.shape[0])
        i = (s * M) % x_train.shape[0]
        index = perm[i:i + M] if i + M <= x_train.shape[0] else perm[:M]
        loss = algo.step(x_train[index], rng, index)
        losses.append(loss if math.isfinite(loss) else float("inf"))
    score = float(np.mean(losses[-max(1, steps // 4):]))
    log(f"  step size {lr}: mean training loss over the last quarter of the pilot {score:.4g}")
    return score


def choose_lr(spec, x_train, log=print):
    """K&W: the global Adagrad step size from {0.01, 0.02, 0.1} by training performance in the first
    iterations. Each candidate trains a fresh model for ``pilot`` samples; the lowest mean training
    loss over the last quarter of the pilot wins. The choice is stored in the run folder."""
    if spec["lr"] != "auto":
        return float(spec["lr"])
    path = run_dir(spec) / "lr_selection.json"
    if path.exists():
        return float(json.loads(path.read_text())["lr"])
    log(f"{run_name(spec)}: choosing the step size on a pilot of {spec['pilot']:,} samples")
    scores = {lr: _pilot_loss(spec, lr, x_train, log) for lr in paper.LR_CANDIDATES}
    best = min(scores, key=lambda k: scores[k])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"lr": best, "pilot_samples": spec["pilot"],
                                "scores": {str(k): v for k, v in scores.items()}}, indent=1))
    return best


def ml_eval_points(budget, batch_size, n=4):
    """Sample counts for the (expensive) marginal-likelihood evaluations: n log-spaced points up to the budget."""
    lo = max(10 * batch_size, budget / 1000)
    pts = np.unique(np.round(np.logspace(math.log10(lo), math.log10(budget), n) / batch_size).astype(int) * batch_size)
    return [int(p) for p in pts]


def execute(spec, log=print):
    """Train (or resume) the run of ``spec`` and return (algorithm, records, x_train, x_test, image_shape)."""
    x_train, x_test, image_shape = load_data(spec)
    lr = choose_lr(spec, x_train, log)
    model = build_model(spec, x_train.shape[1])
    algo = make_algorithm(spec["method"], model, x_train.shape[0], lr, weight_decay_of(spec, x_train.shape[0]),
                          seed=spec["seed"])
    eval_at = None
    if spec.get("ml_points"):
        spec = dict(spec, _ml_at=ml_eval_points(spec["budget"], spec["batch_size"], spec.get("ml_evals", 4)))
        eval_at = spec["_ml_at"]
    # settings that define the run (checked on resume); where to write and which subsets score the
    # intermediate evaluations do not
    config = {k: v for k, v in spec.items() if k not in ("out", "_ml_at", "eval_points")}
    config["lr_used"] = lr
    binarize_epoch = (lambda x, rng: bernoulli_binarize(x, rng)) if spec["binarize"] == "dynamic" else None
    run = TrainingRun(algo, x_train, make_evaluator(spec, x_train, x_test), spec["budget"], run_dir(spec),
                      batch_size=spec["batch_size"], seed=spec["seed"], config=config, eval_at=eval_at,
                      binarize_epoch=binarize_epoch, log=log)
    records = run.run()
    return algo, records, x_train, x_test, image_shape
