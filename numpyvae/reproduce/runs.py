"""One training run of the reproduction: data, model, step-size choice, evaluation, and the Trainer.

A run is described by a plain dict (a *spec*) so that it can be handed to a worker process and
written to disk; its folder name is derived from the settings that define it (not the budget, so
a larger budget extends the same run). Every run trains through :class:`numpyvae.training.Trainer`
with the algorithm of its method (:mod:`numpyvae.algorithms`), on the fast float32 path by default
(``dtype="float64"`` for comparisons), and resumes from ``<run>/checkpoint.npz``.
"""
import json
import math
import warnings
from pathlib import Path

import numpy as np

from ..datasets import load_dataset
from ..datasets.binarize import bernoulli_binarize
from ..evaluation.bounds import mean_bound
from ..evaluation.importance import importance_sampled_log_px
from ..evaluation.marginal_likelihood import hmc_marginal_likelihood
from ..models.registry import build_model as build_registered_model
from ..training import Trainer, TrainingDiverged
from ..training.checkpoint import read_checkpoint
from ..arrays.validation import check_nonnegative, check_positive, check_positive_int
from ..training.files import atomic_write_text
from . import paper

DEFAULTS = {"protocol": {"mnist": "kw2013", "frey": "official"}, "binarize": "none", "seed": 0,
            "batch_size": paper.BATCH_SIZE, "lr": "auto", "pilot": 50000, "weight_decay": "1/N",
            "n_train": None, "hidden": None, "dtype": "float32"}
METHODS = ("aevb", "wake_sleep", "mcem", "fullvb", "autoencoder")
ALGORITHM = {"aevb": "sgvb", "autoencoder": "sgvb", "wake_sleep": "wake_sleep", "mcem": "mcem", "fullvb": "fullvb"}
"""Method of the paper's figures -> training algorithm of :mod:`numpyvae.algorithms`."""


def make_spec(data, nz, method, budget, out, **options):
    """Fill a run spec with the paper's defaults; ``options`` override them (None keeps the default)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    spec = {"data": data, "nz": int(nz), "method": method, "budget": int(float(budget)), "out": str(out)}
    for k, v in DEFAULTS.items():
        v = options.get(k) if options.get(k) is not None else v
        spec[k] = v.get(data, "kw2013") if isinstance(v, dict) else v
    if spec["dtype"] not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, got {spec['dtype']!r}")
    if spec["hidden"] is None:
        if data not in paper.HIDDEN:
            raise ValueError(f"no default hidden size for data set {data!r}; pass hidden=")
        spec["hidden"] = paper.HIDDEN[data]
    for k in ("ml_points", "is_samples", "hmc_samples", "hmc_burnin", "ml_evals", "eval_points", "init_scale"):
        if options.get(k) is not None:
            spec[k] = options[k]
    if spec["weight_decay"] != "1/N":                                 # '1/N' or a number >= 0
        spec["weight_decay"] = check_nonnegative("weight_decay ('1/N' or a number >= 0)", spec["weight_decay"])
    if "init_scale" in spec:
        spec["init_scale"] = check_positive("init_scale", spec["init_scale"])
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
    if spec.get("dtype", "float32") != "float32":
        parts.append(spec["dtype"])
    if spec.get("weight_decay", "1/N") != "1/N":
        parts.append(f"wd{spec['weight_decay']:g}")
    if float(spec.get("init_scale", paper.INIT_SCALE)) != paper.INIT_SCALE:
        parts.append(f"init{float(spec['init_scale']):g}")
    return "-".join(parts)


def run_dir(spec):
    return Path(spec["out"]) / "runs" / run_name(spec)


def checkpoint_path(spec):
    return run_dir(spec) / "checkpoint.npz"


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


def model_config(spec, input_dim):
    """The registered model name and configuration of the spec's run: the paper's VAE for its data,
    or for method "autoencoder" a plain autoencoder with the same layers (its loss: Bernoulli
    cross-entropy for binary-likelihood data, else squared error)."""
    common = {"input_dim": int(input_dim), "hidden_sizes": [spec["hidden"]], "latent_dim": spec["nz"],
              "activation": "tanh", "dtype": spec.get("dtype", "float32"), "init": "normal",
              "init_scale": float(spec.get("init_scale", paper.INIT_SCALE))}
    if spec["method"] == "autoencoder":
        loss = "bernoulli" if likelihood_of(spec["data"]) == "bernoulli" else "squared_error"
        return "autoencoder", dict(common, loss=loss)
    return "vae", dict(common, likelihood=likelihood_of(spec["data"]), estimator="analytic")


def build_model(spec, input_dim):
    """The spec's model through the model registry, its parameters drawn from ``seed``."""
    name, config = model_config(spec, input_dim)
    return build_registered_model(name, config, rng=np.random.default_rng(spec["seed"]))


def weight_decay_of(spec, n_data):
    if spec["method"] == "fullvb":            # its prior on theta is the KL term itself
        return 0.0
    wd = spec["weight_decay"]
    return 1.0 / n_data if wd == "1/N" else float(wd)


def make_evaluator(spec, x_train, x_test):
    """The evaluation of one run at a sample count: lower bounds (all methods), and for Figure 3 runs
    the appendix-D marginal likelihood and the importance-sampled estimate on the first points."""
    ml_points = int(spec.get("ml_points", 0))
    n_eval = spec.get("eval_points")

    def evaluate(algorithm, samples, final):
        rng = np.random.default_rng([spec["seed"], samples])
        model = algorithm.model
        rec = {}
        # intermediate points on the first eval_points of each set (if given); the last on the whole sets
        sub = n_eval if n_eval and not final else None
        for split, x in (("train", x_train[:sub]), ("test", x_test[:sub])):
            if spec["method"] == "autoencoder":                         # no bound: its reconstruction loss
                rec[f"{split}_recon"] = -mean_bound(model, x, rng, batch_size=2000)
            elif spec["method"] == "fullvb":
                rec[f"{split}_bound"] = algorithm.bound(x, rng=rng, n_theta=1)
            else:
                rec[f"{split}_bound"] = mean_bound(model, x, rng, batch_size=2000)
        rec["eval_points"] = int(min(sub or x_train.shape[0], x_train.shape[0]))
        if ml_points and (samples in spec.get("_ml_at", ()) or final):
            for split, x in (("train", x_train[:ml_points]), ("test", x_test[:ml_points])):
                lp = hmc_marginal_likelihood(model, x, rng=rng, n_samples=spec.get("hmc_samples", 100),
                                             n_burnin=spec.get("hmc_burnin", 200), n_leapfrog=10)
                rec[f"{split}_ml_hmc"] = float(np.mean(lp))
                if spec["method"] != "mcem":          # MCEM trains no recognition model to propose from
                    lp_is, _ = importance_sampled_log_px(model, x, n_samples=spec.get("is_samples", 5000), rng=rng)
                    rec[f"{split}_ml_is"] = float(np.mean(lp_is))
        return rec

    return evaluate


def train_settings(spec, n_data, lr):
    """The Trainer settings of a run: Adagrad with the paper's weight decay, minibatches of M with the
    last partial one of each epoch left out, the method's algorithm."""
    settings = {"optimizer": "adagrad", "lr": float(lr), "weight_decay": weight_decay_of(spec, n_data),
                "batch_size": spec["batch_size"], "epochs": None, "max_samples": spec["budget"],
                "last_batch": "drop", "algorithm": ALGORITHM[spec["method"]], "seed": spec["seed"],
                "binarize": "dynamic" if spec["binarize"] == "dynamic" else "none",
                "checkpoint_every": 1, "checkpoint_seconds": 120.0}
    return settings


def _pilot_loss(spec, lr, x_train, log):
    """Mean training loss over the last quarter of a pilot run of ``pilot`` samples at step size ``lr``."""
    M = spec["batch_size"]
    steps = max(4, int(spec["pilot"]) // M)
    pilot = dict(spec, budget=steps * M, seed=spec["seed"])
    settings = train_settings(pilot, x_train.shape[0], lr)
    settings.update(seed=spec["seed"] + 3000, eval_every=[(steps - max(1, steps // 4)) * M, steps * M],
                    checkpoint_every=None, checkpoint_seconds=None)
    trainer = Trainer(build_model(spec, x_train.shape[1]), evaluator=lambda *_: {}, **settings)
    overflowed = []
    try:
        # a step size too large for the model overflows (g^2, exp) before it loses the pilot: say so
        # in the pilot's line instead of NumPy's warnings (the choice is by the loss alone, as before)
        with np.errstate(over="call", invalid="call", call=lambda kind, flag: overflowed.append(kind)):
            trainer.fit(x_train)
        score = -float(trainer.history[-1]["batch_bound"])
    except TrainingDiverged:
        score = float("inf")
    after = f", after a floating-point {overflowed[0]}" if overflowed else ""
    if math.isinf(score):
        log(f"  step size {lr}: diverged in the pilot (its loss became non-finite{after})")
    else:
        log(f"  step size {lr}: mean training loss over the last quarter of the pilot {score:.4g}"
            + (f" (with a floating-point {overflowed[0]} during the pilot)" if overflowed else ""))
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
    finite = {str(k): v if math.isfinite(v) else None for k, v in scores.items()}    # None: diverged
    atomic_write_text(path, json.dumps({"lr": best, "pilot_samples": spec["pilot"], "scores": finite}, indent=1))
    return best


def ml_eval_points(budget, batch_size, n=4):
    """Sample counts for the (expensive) marginal-likelihood evaluations: the last ``n`` of the
    budgets 1e3, 3e3, 1e4, 3e4, ... below the budget (at least 10 minibatches), and the budget
    itself; so a run to 3e7 with n = 5 is estimated at 3e5, 1e6, 3e6, 1e7 and 3e7, the budgets at
    which the paper's Figure 3 and the tables compare."""
    n = check_positive_int("ml_evals", n)
    lo = 10 * batch_size
    grid = [m * 10 ** k for k in range(3, 13) for m in (1, 3)]
    pts = [p for p in grid if lo <= p < budget] + [int(budget)]
    pts = sorted({int(round(p / batch_size)) * batch_size for p in pts[-n:]})
    return [int(p) for p in pts]


def eval_grid(batch_size, budget, per_decade=6):
    """Sample counts 10^(k / per_decade) between 10 minibatches and ``budget``, plus ``budget``."""
    lo = 10 * batch_size
    ks = range(math.ceil(per_decade * math.log10(lo)), math.floor(per_decade * math.log10(budget)) + 1)
    pts = {int(round(10 ** (k / per_decade))) for k in ks}
    pts = {p for p in pts if lo <= p < budget}
    return sorted(pts | {int(budget)})


_NOT_CHECKED = ("budget", "out", "_ml_at", "eval_points")     # may change between a run and its resumption


def _defining(spec):
    return {k: v for k, v in spec.items() if k not in _NOT_CHECKED}


def _check_resumable(spec, path):
    """Refuse a run folder of another run or of the earlier two-file format."""
    if (path.parent / "checkpoint.json").exists():
        raise ValueError(f"{path.parent} was written by an earlier version of the reproduction (checkpoint.npz "
                         "with checkpoint.json), whose runs cannot be resumed by the Trainer: delete the folder "
                         "or choose another --out, and re-run")
    meta, _ = read_checkpoint(path)
    saved = (meta.get("extra") or {}).get("spec")
    if saved is None:
        raise ValueError(f"{path} is not a checkpoint of a reproduction run (no spec inside)")
    now = json.loads(json.dumps(_defining(spec)))
    saved = {**{k: now[k] for k in DEFAULTS if k in now and k not in saved}, **saved}   # settings added later
    if saved != now:
        diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
        raise ValueError(f"{path.parent} holds a run with different settings ({', '.join(diff)}); "
                         "use another output folder or delete it")


def run_lr(spec):
    """The step size the run of ``spec`` trains with (read from its checkpoint)."""
    meta, _ = read_checkpoint(checkpoint_path(spec))
    return float(meta["trainer"]["config"]["lr"])


def execute(spec, log=print):
    """Train (or resume) the run of ``spec`` and return (algorithm, records, x_train, x_test, image_shape).

    ``records`` are the Trainer's evaluation records; ``wall_s`` in each is the training time so far
    (evaluation excluded).
    """
    x_train, x_test, image_shape = load_data(spec)
    if spec.get("ml_points"):
        spec = dict(spec, _ml_at=ml_eval_points(spec["budget"], spec["batch_size"], spec.get("ml_evals", 4)))
        eval_at = spec["_ml_at"]
    else:
        eval_at = eval_grid(spec["batch_size"], spec["budget"])
    evaluator = make_evaluator(spec, x_train, x_test)
    path, log_path = checkpoint_path(spec), run_dir(spec) / "log.csv"
    if path.exists():
        _check_resumable(spec, path)
        with warnings.catch_warnings():                 # the note goes to the run's log below
            warnings.filterwarnings("ignore", message="resuming ", category=RuntimeWarning)
            trainer = Trainer.from_checkpoint(path, log_path=log_path, evaluator=evaluator,
                                              max_samples=spec["budget"], eval_every=eval_at)
        if trainer.state["samples"] < spec["budget"]:
            log(f"{run_dir(spec)}: resuming at {trainer.state['samples']:,} samples")
        if trainer.resume_note:
            log(f"{run_dir(spec)}: note: {trainer.resume_note}")
    else:
        lr = choose_lr(spec, x_train, log)
        settings = train_settings(spec, x_train.shape[0], lr)
        trainer = Trainer(build_model(spec, x_train.shape[1]), checkpoint_path=path, log_path=log_path,
                          evaluator=evaluator, eval_every=eval_at, extra={"spec": _defining(spec)}, **settings)
    trainer.fit(x_train)
    records = [dict(r, wall_s=round(r["wall_time"] - r.get("eval_time", 0.0), 2)) for r in trainer.history]
    return trainer.algorithm, records, x_train, x_test, image_shape
