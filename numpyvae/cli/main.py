"""The ``numpyvae`` command line. ``numpyvae <command> --help`` explains each command.

Exit status: 0 done; 1 a gradient check failed; 2 bad input (an option, a file, a checkpoint: one
message on stderr, never a traceback); 3 training diverged (the message says which state is kept);
130 interrupted (Ctrl-C).
"""
import argparse
import contextlib
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from ..arrays.backend import BACKEND_NAMES, get_backend
from ..arrays.threads import limit_blas_threads
from .arguments import (Parser, UsageError, eval_schedule, flag_list, given_options, image_shape, int_list,
                        nonnegative_float, nonnegative_int, positive_float, positive_int)

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130

COMMANDS = {}
OPTIMIZER_NAMES = ("adam", "adagrad", "rmsprop", "sgd")


def command(name, help):
    """Register ``func(args)`` as sub-command ``name``; ``func.configure(parser)`` adds its options."""
    def wrap(configure):
        COMMANDS[name] = (help, configure)
        return configure
    return wrap


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default only where it says something (not None, False or empty)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, [], argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


@command("gradcheck", "check every hand-written gradient of a model against finite differences")
def gradcheck_command(parser):
    from ..nn.decoders import LIKELIHOODS
    from ..ops.activations import ACTIVATIONS
    from ..models.vae import ESTIMATORS

    parser.description = (
        "Build a small float64 VAE, draw fixed data and noise, and compare the gradient of every "
        "parameter (and of every registered op) with central finite differences. Prints one row per "
        "parameter; exits with status 1 if any relative error exceeds --tol.")
    parser.add_argument("--input-dim", type=positive_int, default=12, help="data dimensions D (default 12)")
    parser.add_argument("--hidden", type=int_list(1), default=(8,), help="hidden widths, e.g. 8 or 16,8 (default 8)")
    parser.add_argument("--latent", type=positive_int, default=3, help="latent dimensions Z (default 3)")
    parser.add_argument("--likelihood", choices=LIKELIHOODS, default="bernoulli")
    parser.add_argument("--activation", choices=tuple(ACTIVATIONS), default="tanh")
    parser.add_argument("--estimator", choices=ESTIMATORS, default="analytic")
    parser.add_argument("--beta", type=nonnegative_float, default=1.0)
    parser.add_argument("--batch", type=positive_int, default=5, help="batch size B (default 5)")
    parser.add_argument("--samples", type=positive_int, default=2, help="noise samples L per datapoint (default 2)")
    parser.add_argument("--coords", type=positive_int, default=40,
                        help="entries checked per parameter, at least 1 (default 40)")
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    parser.add_argument("--tol", type=positive_float, default=1e-6,
                        help="largest relative error accepted (default 1e-6)")
    parser.add_argument("--ops", action="store_true", help="also check every registered op")

    def run(args):
        from .. import gradcheck
        from ..ops import OPS
        from ..models.vae import VAE

        rng = np.random.default_rng(args.seed)
        model = VAE(args.input_dim, args.hidden, args.latent, likelihood=args.likelihood,
                    activation=args.activation, estimator=args.estimator, beta=args.beta,
                    dtype=np.float64, rng=rng, init="glorot")
        x = rng.uniform(0, 1, size=(args.batch, args.input_dim))
        eps = rng.standard_normal((args.samples, args.batch, args.latent))
        print(f"{model}\nbatch {args.batch}, L = {args.samples}, seed {args.seed}\n")
        report = gradcheck.check_model(model, x, eps, rng=rng, max_coords=args.coords)
        print(report.table(args.tol))
        ok = report.passed(args.tol)                                   # never True for a check of nothing
        n_checked, n_tensors = sum(r.n_checked for r in report.rows), len(report.rows)
        if args.ops:
            print("\nregistered ops")
            for name, spec in OPS.items():
                r = gradcheck.check_op(spec, rng=rng)
                ok &= r.passed(args.tol)
                n_checked, n_tensors = n_checked + sum(row.n_checked for row in r.rows), n_tensors + len(r.rows)
                print(f"  {name:<22} max rel err {r.max_rel_err:.2e}  {'ok' if r.passed(args.tol) else 'FAILED'}")
        print(f"\nall gradients match ({n_checked} entries, and one random direction of each of the {n_tensors} "
              f"tensors)" if ok else "\nGRADIENT CHECK FAILED")
        return 0 if ok else 1

    return run


def _model_choices():
    from ..models.registry import model_names

    return model_names()


def _model_help():
    """The registered model names, each with its aliases: "vae (beta-vae, ...), vq-vae (vqvae, vq_vae), ..."."""
    from ..models.registry import MODEL_ALIASES

    return ", ".join(name + (f" ({', '.join(a for a, n in MODEL_ALIASES.items() if n == name)})"
                             if name in MODEL_ALIASES.values() else "") for name in _model_choices())


def _checkpoint_data(ckpt, args):
    """The data description of a saved run, with the command line's overrides."""
    from ..training.runs import data_spec

    saved = dict(ckpt.extra.get("data") or {})
    name = args.data or saved.get("name")
    if name is None:
        raise ValueError("this checkpoint does not say which data set it was trained on; pass --data")
    spec = data_spec(name, protocol=args.protocol or saved.get("protocol", "kw2013"),
                     binarize=saved.get("binarize", "none") if name == saved.get("name") else "none",
                     data_dir=args.data_dir if args.data_dir is not None else saved.get("data_dir"),
                     limit=args.limit, seed=saved.get("seed", 0))
    return spec


def _check_split(spec, split):
    """The command line's words for the one split a protocol lacks (the loader names Python arguments)."""
    if split == "valid" and spec["protocol"] == "official":
        raise ValueError("the valid split (--split valid, --eval-split valid) needs --protocol kw2013: "
                         "--protocol official holds out no validation split")


def _eval_data(spec, split, dtype):
    """A split to evaluate on; with dynamic binarization one fixed Bernoulli draw of it."""
    from ..training.runs import load_split

    _check_split(spec, split)
    x, labels, shape = load_split(spec, split, dtype)
    if spec["binarize"] == "dynamic":
        from ..datasets import bernoulli_binarize

        x = bernoulli_binarize(x, np.random.default_rng([spec["seed"], 4]))
    return x, labels, shape


def _add_data_options(parser, default_data=None, split_help=None):
    from ..datasets import DATASET_NAMES, PROTOCOLS

    g = parser.add_argument_group("data")
    g.add_argument("--data", choices=DATASET_NAMES, default=default_data,
                   help="data set" + ("" if default_data else " (default: the one the model was trained on)"))
    g.add_argument("--data-dir", default=None,
                   help="folder with the data files, the only one used when given (without it: $NUMPYVAE_DATA, "
                        "then ~/.cache/numpyvae, then a verified download)")
    g.add_argument("--protocol", choices=PROTOCOLS, default=None if default_data is None else "kw2013",
                   help="kw2013: MNIST 50000 train / 10000 valid / 10000 test; official: 60000 / - / 10000")
    g.add_argument("--limit", type=positive_int, default=None, metavar="N",
                   help="use only the first N datapoints of each split (quick runs)")
    return g


def _open_checkpoint(path):
    from ..training import load_checkpoint
    from ..training.runs import resolve_checkpoint

    path = resolve_checkpoint(path)
    return path, load_checkpoint(path)


def _image_shape(ckpt, model, shape):
    from ..training.runs import image_shape_of

    if shape:
        if shape[0] * shape[1] != model.input_dim:
            raise ValueError(f"--image-shape {shape[0]}x{shape[1]} holds {shape[0] * shape[1]} pixels, but the "
                             f"model's datapoints have {model.input_dim}")
        return shape
    return image_shape_of(ckpt.extra, model.input_dim)


RESUME_FLAGS = frozenset({"--epochs", "--max-samples", "--lr", "--eval-every", "--data-dir", "--log-format",
                          "--no-figures", "--quiet", "--backend"})
"""What ``train --resume`` accepts besides the run: a larger budget, a learning rate and evaluation
schedule (neither changes what was trained so far), where the data lives now, and output options."""


@command("train", "train a model on MNIST, Fashion-MNIST, Frey Faces or synthetic data")
def train_command(parser):
    parser.description = (
        "Train a variational autoencoder with minibatch SGVB (Kingma & Welling 2013, Algorithm 1). "
        "With no options: the paper's MNIST model (784-500-20, tanh, Bernoulli decoder, batch 100, L = 1) "
        "trained with Adam. Writes into the run folder (--out): checkpoint.npz, log.csv, config.json and "
        "figures (samples, reconstructions, latent manifold, latent scatter, training curves). "
        "Ctrl-C saves a checkpoint; continue with --resume RUN_FOLDER.")
    d = _add_data_options(parser, default_data="mnist")
    d.add_argument("--binarize", choices=("none", "static", "dynamic"), default="none",
                        help="none: grey values (as in the paper); static: one fixed seeded draw; "
                             "dynamic: a fresh draw every epoch")
    d.add_argument("--eval-split", choices=("test", "valid"), default="test",
                   help="held-out split whose bound is logged")
    m = parser.add_argument_group("model (defaults depend on --data: MNIST 500 hidden, 20 latent, "
                                  "Bernoulli; Frey 200 hidden, 2 latent, gaussian_sigmoid)")
    m.add_argument("--model", default="vae", help="registered model (aliases in parentheses): " + _model_help())
    m.add_argument("--hidden", type=int_list(1), default=None, help="hidden widths, e.g. 500 or 400,400")
    m.add_argument("--latent", type=positive_int, default=None, help="latent dimensions Z")
    m.add_argument("--likelihood", default=None, help="bernoulli, gaussian, gaussian_sigmoid or gaussian_fixed")
    m.add_argument("--activation", default=None, help="hidden activation (default tanh)")
    m.add_argument("--estimator", default=None, help="analytic (K&W estimator B, default) or mc (A)")
    m.add_argument("--beta", type=nonnegative_float, default=None, help="weight of the KL term (default 1)")
    m.add_argument("--init", default=None, help="normal (N(0, 0.01^2), the paper's; default), glorot or he")
    m.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="floating-point precision (default float32, the fast path; float64 for comparisons)")
    m.add_argument("--k", type=positive_int, default=None,
                   help="importance samples per datapoint of the IWAE bound (models iwae, hierarchical-vae)")
    m.add_argument("--model-option", action="append", default=[], metavar="KEY=VALUE",
                   help="any other constructor argument of the model, VALUE in JSON (repeatable)")
    t = parser.add_argument_group("training")
    t.add_argument("--epochs", type=positive_int, default=None,
                   help="passes over the training set (default 10; unlimited when only --max-samples is given)")
    t.add_argument("--max-samples", type=positive_int, default=None,
                   help="stop after this many training samples evaluated (the x-axis of the paper's Figure 2)")
    t.add_argument("--batch-size", type=positive_int, default=100, help="datapoints M per step")
    t.add_argument("--samples", type=positive_int, default=1, help="noise samples L per datapoint")
    t.add_argument("--optimizer", choices=OPTIMIZER_NAMES, default="adam",
                   help="the paper uses adagrad; adam gets there in fewer epochs")
    t.add_argument("--lr", type=positive_float, default=None, help="learning rate (default: adam 1e-3, adagrad 0.02, "
                                                                   "rmsprop 1e-3, sgd 0.01)")
    t.add_argument("--weight-decay", type=nonnegative_float, default=0.0, help="Gaussian prior on the parameters")
    t.add_argument("--clip-norm", type=positive_float, default=None, help="clip the global gradient norm")
    t.add_argument("--eval-every", type=eval_schedule, default="epoch",
                   help="'epoch', 'log' (1, 2, 5 x 10^k samples, for the log x-axis) or a number of samples")
    t.add_argument("--eval-size", type=nonnegative_int, default=5000,
                   help="datapoints of each set used in the periodic evaluation (0: all); the final one uses all")
    t.add_argument("--seed", type=nonnegative_int, default=0,
                   help="seeds initialisation, shuffling, noise and binarization")
    o = parser.add_argument_group("output")
    o.add_argument("--out", default=None, help="run folder (default runs/<data>-<model>-<time>)")
    o.add_argument("--resume", default=None, metavar="RUN",
                   help="continue the run in this folder (or checkpoint) with its own settings; only "
                        + flag_list(sorted(RESUME_FLAGS)) + " may be given with it")
    o.add_argument("--log-format", choices=("csv", "jsonl"), default="csv", help="format of the training log")
    o.add_argument("--no-figures", action="store_true", help="do not draw the figures at the end")
    o.add_argument("--quiet", action="store_true", help="print nothing while training")

    def run(args):
        import json

        from ..training import TrainConfig, Trainer, TrainingDiverged
        from ..training.files import atomic_write_text
        from ..training.runs import default_run_dir, resolve_checkpoint

        if args.resume:
            refused = {dest: flag for dest, flag in args.given.items() if flag not in RESUME_FLAGS | {"--resume"}}
            if refused:
                raise ValueError(f"--resume continues the saved run with its own settings, so "
                                 f"{flag_list(refused.values())} cannot be given with it (it takes "
                                 f"{flag_list(sorted(RESUME_FLAGS))}); start a new run with --out to change them")
            path = resolve_checkpoint(args.resume)
            run_dir = path.parent
            overrides = {key: getattr(args, key) for key in ("epochs", "max_samples", "lr", "eval_every")
                         if key in args.given}
            log_path = _existing_log(run_dir, args.log_format)
            trainer = Trainer.from_checkpoint(path, log_path=log_path, progress=_progress(args), **overrides)
            spec, eval_split = trainer.extra.get("data"), trainer.extra.get("eval_split", "test")
            if not isinstance(spec, dict) or "name" not in spec:
                raise ValueError(f"{path} does not say which data set it was trained on, so it cannot be resumed "
                                 f"from the command line")
            if args.data_dir is not None:                               # the same data, now in another folder
                spec = trainer.extra["data"] = {**spec, "data_dir": str(args.data_dir)}
            model = trainer.model
            x, y, shape = _train_data(spec, model)
        else:
            from ..models.registry import canonical_model_name

            args.model = canonical_model_name(args.model)                # vqvae -> vq-vae, in run names too
            spec, eval_split = _train_spec(args), args.eval_split
            x, y, shape = _train_data(spec, None, args.dtype)
            model = _build_model(args, spec["name"], x.shape[1], y)
            config = TrainConfig(batch_size=args.batch_size, n_samples=args.samples, optimizer=args.optimizer,
                                 lr=args.lr, weight_decay=args.weight_decay, clip_norm=args.clip_norm,
                                 epochs=args.epochs if args.epochs or args.max_samples else 10,
                                 max_samples=args.max_samples, eval_every=args.eval_every,
                                 eval_size=args.eval_size or None,
                                 binarize="dynamic" if spec["binarize"] == "dynamic" else "none", seed=args.seed)
            run_dir = default_run_dir(spec["name"], args.model) if args.out is None else Path(args.out)
            if (run_dir / "checkpoint.npz").exists():
                raise ValueError(f"{run_dir} already holds a run; continue it with --resume {run_dir} or choose "
                                 f"another --out")
            trainer = Trainer(model, config, checkpoint_path=run_dir / "checkpoint.npz",
                              log_path=run_dir / f"log.{args.log_format}", progress=_progress(args),
                              extra={"data": spec, "eval_split": eval_split, "image_shape": list(shape),
                                     "model": args.model})
        xt, yt, _ = _train_data(spec, model, split=eval_split)
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / "config.json", json.dumps(
            {"model": {"name": trainer.extra.get("model", "vae"), "config": model.get_config()},
             "training": trainer.config.to_dict(), "data": spec, "eval_split": eval_split}, indent=2) + "\n")
        _say(args, f"{model}\ndata: {spec['name']} ({len(x)} train, {len(xt)} {eval_split}), "
                   f"binarize {spec['binarize']}\nrun folder: {run_dir}")
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                # the loop checks every loss and bound itself: an overflow ends in its message, not in
                # NumPy's warnings with library source lines
                warnings.simplefilter("ignore", RuntimeWarning)
                history = trainer.fit(x, y, xt, yt)
        except KeyboardInterrupt:
            print(f"\ninterrupted; continue with: numpyvae train --resume {run_dir}", file=sys.stderr)
            return EXIT_INTERRUPTED
        except TrainingDiverged as exc:
            print(f"numpyvae train: {exc}", file=sys.stderr)
            return EXIT_DIVERGED
        if hasattr(model, "fit_prior"):                                  # e.g. a prior over discrete codes
            model.fit_prior(x)
            trainer.save()
        last = history[-1]
        from ..evaluation.bounds import bound_name

        _say(args, f"final bound ({bound_name(model)} per datapoint): train {last['train_bound']:.3f}, "
                   f"{eval_split} {last['test_bound']:.3f} after {last['samples']:,} training samples")
        if not args.no_figures:
            try:
                written, notes = _write_figures(model, trainer.history, run_dir, xt, yt, shape)
            except ImportError as exc:                                  # matplotlib is an optional extra
                _say(args, f"no figures: {exc}")
            else:
                _say(args, "\n".join(["figures: " + ", ".join(p.name for p in written), *notes]))
        return 0

    return run


def _progress(args):
    from ..training.progress import LOGGER, Progress

    return Progress(stream=sys.stdout, enabled=not args.quiet, logger=LOGGER)


@contextlib.contextmanager
def _library_messages(args):
    """Print the library's log messages (logger ``numpyvae``; INFO, WARNING and above with --quiet)
    on stdout, one line each, while a command runs."""
    import logging

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("numpyvae")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if getattr(args, "quiet", False) else logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _say(args, text):
    if not args.quiet:
        print(text, flush=True)


def _existing_log(run_dir, fmt):
    for suffix in ("csv", "jsonl"):
        if (run_dir / f"log.{suffix}").exists():
            return run_dir / f"log.{suffix}"
    return run_dir / f"log.{fmt}"


def _train_spec(args):
    from ..training.runs import data_spec

    return data_spec(args.data, protocol=args.protocol, binarize=args.binarize, data_dir=args.data_dir,
                     limit=args.limit, seed=args.seed)


def _train_data(spec, model, dtype=None, split="train"):
    from ..training.runs import load_split

    dtype = np.dtype(dtype if model is None else model.dtype)
    _check_split(spec, split)
    return load_split(spec, split, dtype)


def _build_model(args, data_name, input_dim, labels):
    """The model of the command line: preset for the data set, then the options given, then --model-option."""
    import inspect
    import json

    from ..models.conditioning import CONDITION_SIZE_NAMES
    from ..models.registry import build_model, get_model_class
    from ..training.runs import DATA_PRESETS

    cls = get_model_class(args.model)
    accepted = inspect.signature(cls.__init__).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    kwargs = {"input_dim": input_dim}
    for key, value in DATA_PRESETS.get(data_name, {}).items():
        if key in accepted or takes_any:
            kwargs[key] = value
    given = {"hidden_sizes": args.hidden, "latent_dim": args.latent, "likelihood": args.likelihood,
             "activation": args.activation, "estimator": args.estimator, "beta": args.beta, "init": args.init,
             "dtype": args.dtype, "k": args.k}
    for key, value in given.items():
        if value is None:
            continue
        if key not in accepted and not takes_any:
            if key == "dtype":
                continue
            raise ValueError(f"model {args.model!r} has no option {key!r}")
        kwargs[key] = value
    for item in args.model_option:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"--model-option must be KEY=VALUE, got {item!r}")
        try:
            kwargs[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            kwargs[key.strip()] = text
    size_names = [n for n in CONDITION_SIZE_NAMES if n in accepted]
    if getattr(cls, "needs_labels", False) and size_names and not any(n in kwargs for n in size_names):
        if labels is None:
            raise ValueError(f"model {args.model!r} is conditioned on labels, but {data_name} has none")
        kwargs[size_names[0]] = int(labels.max()) + 1
    if "rng" in accepted or takes_any:
        kwargs["rng"] = np.random.default_rng(args.seed)
    return build_model(args.model, kwargs)


def _write_figures(model, history, run_dir, x, labels, shape):
    """Every figure of a finished run; returns (written paths, notes on figures that do not apply)."""
    from ..plotting import model_figures as figures

    jobs = [("training_curves.png", lambda p: figures.curves_figure(history, p, model=model)),
            ("samples.png", lambda p: figures.sample_figure(model, p, shape, rng=0)),
            ("reconstructions.png", lambda p: figures.reconstruction_figure(model, x, p, shape, labels=labels)),
            ("manifold.png", lambda p: figures.manifold_figure(model, p, shape, x=x))]   # x: the most active dims
    if labels is not None:
        n = min(len(x), 5000)
        jobs.append(("latent_scatter.png", lambda p: figures.latent_figure(model, x[:n], labels[:n], p)))
    written, notes = [], []
    for name, draw in jobs:
        try:
            written.append(draw(run_dir / name))
        except ValueError as exc:                                       # a figure this model cannot make
            notes.append(f"{name} not drawn: {exc}")
    return written, notes


@command("evaluate", "ELBO and importance-sampled log p(x) of a trained model on a data split")
def evaluate_command(parser):
    parser.description = (
        "Load a trained model (a run folder or checkpoint.npz) and report, on a split of its data set, the "
        "mean ELBO per datapoint and the importance-sampled estimate of log p(x) (K&W appendix D) with K "
        "samples per datapoint, each with its standard error.")
    parser.add_argument("checkpoint", help="run folder or checkpoint .npz")
    parser.add_argument("--split", choices=("train", "valid", "test"), default="test", help="split evaluated")
    _add_data_options(parser)
    parser.add_argument("--elbo-samples", type=positive_int, default=1, help="noise samples L for the ELBO")
    parser.add_argument("--is-samples", type=nonnegative_int, default=1000,
                        help="importance samples K per datapoint for log p(x) (0: skip); K forward passes per "
                             "datapoint, so use --limit for a quick estimate")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="seeds the noise")
    parser.add_argument("--json", action="store_true", help="print the numbers as one JSON object")

    def run(args):
        import json

        from ..evaluation.importance import importance_sampled_log_px
        from ..evaluation.bounds import bound_name, mean_bound
        from ..models.conditioning import needs_labels

        path, ckpt = _open_checkpoint(args.checkpoint)
        model = ckpt.model
        spec = _checkpoint_data(ckpt, args)
        x, labels, _ = _eval_data(spec, args.split, model.dtype)
        rng = np.random.default_rng(args.seed)
        elbo, elbo_se = mean_bound(model, x, rng, labels, n_samples=args.elbo_samples, return_sem=True)
        result = {"checkpoint": str(path), "data": spec["name"], "split": args.split, "n": int(len(x)),
                  "elbo": elbo, "elbo_stderr": elbo_se, "elbo_samples": args.elbo_samples,
                  "bound_name": bound_name(model)}                       # what "elbo" holds for this model
        if args.is_samples > 0 and (not hasattr(model, "log_weights") or needs_labels(model)):
            result["log_px"] = None
            result["log_px_note"] = f"no importance-sampled log p(x) for {type(model).__name__}"
        elif args.is_samples > 0:
            log_px, _ = importance_sampled_log_px(model, x, n_samples=args.is_samples, rng=rng)
            result.update(log_px=float(log_px.mean()),
                          log_px_stderr=float(log_px.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else None,
                          is_samples=args.is_samples)
        if args.json:
            print(json.dumps(result))
            return 0
        print(f"{model}\n{spec['name']} {args.split} split, {len(x)} datapoints")
        if bound_name(model) == "ELBO":
            print(f"  ELBO       {elbo:10.3f} +- {elbo_se:.3f}  nats per datapoint (L = {args.elbo_samples})")
        else:                                                           # e.g. an autoencoder's: not an ELBO
            print(f"  {bound_name(model)}: {elbo:.3f} +- {elbo_se:.3f} per datapoint (L = {args.elbo_samples})")
        if "log_px_note" in result:
            print(f"  log p(x)   not computed: {result['log_px_note']}")
        elif "log_px" in result:
            se = result["log_px_stderr"]
            print(f"  log p(x)   {result['log_px']:10.3f} +- {se if se is not None else float('nan'):.3f}  "
                  f"(importance sampled, K = {args.is_samples})")
        return 0

    return run


def _figure_out(args, path, default_name):
    return Path(args.out) if args.out else path.parent / default_name


@command("sample", "draw samples from a trained model and write them as an image grid")
def sample_command(parser):
    parser.description = ("Draw from the model's prior (z ~ N(0, I); a VQ-VAE's codes from its fitted categorical "
                          "prior) and write the decoder means (or, with --binary, samples of p(x | z)) as a PNG "
                          "grid (K&W Figure 5).")
    parser.add_argument("checkpoint", help="run folder or checkpoint .npz")
    parser.add_argument("--n", type=positive_int, default=100, help="number of samples")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="seeds the latent draws")
    parser.add_argument("--binary", action="store_true", help="sample x from p(x|z) instead of its mean")
    parser.add_argument("--label", type=nonnegative_int, default=None,
                        help="conditional models only: the class to draw (default: every class in turn)")
    parser.add_argument("--out", default=None, help="PNG file (default: samples.png beside the checkpoint)")
    parser.add_argument("--image-shape", type=image_shape, default=None, help="HxW (default: the data set's)")

    def run(args):
        from ..plotting.draw import image_grid

        from ..models.conditioning import condition_kwargs, condition_size, needs_labels

        path, ckpt = _open_checkpoint(args.checkpoint)
        model = ckpt.model
        cond = {}
        if args.label is not None and not needs_labels(model):
            raise ValueError(f"--label picks the class of a conditional model, but {type(model).__name__} is not "
                             f"conditioned on labels; leave --label out")
        if needs_labels(model):
            n_classes = condition_size(model)
            if args.label is not None and args.label >= n_classes:
                raise ValueError(f"--label must be a class in 0..{n_classes - 1}, got {args.label}")
            labels = (np.full(args.n, args.label) if args.label is not None
                      else np.arange(args.n) % n_classes)
            cond = condition_kwargs(model, labels)
        images = model.backend.to_numpy(model.sample(args.n, rng=np.random.default_rng(args.seed),
                                                     mean=not args.binary, **cond))
        out = image_grid(np.clip(images, 0, 1), _image_shape(ckpt, model, args.image_shape),
                         _figure_out(args, path, "samples.png"))
        print(out)
        return 0

    return run


@command("reconstruct", "show data beside their reconstructions by a trained model")
def reconstruct_command(parser):
    parser.description = "Encode datapoints to their posterior means, decode them, and write inputs above outputs."
    parser.add_argument("checkpoint", help="run folder or checkpoint .npz")
    parser.add_argument("--split", choices=("train", "valid", "test"), default="test", help="split shown")
    _add_data_options(parser)
    parser.add_argument("--n", type=positive_int, default=20, help="number of datapoints shown")
    parser.add_argument("--out", default=None, help="PNG file (default: reconstructions.png beside the checkpoint)")

    def run(args):
        from ..plotting.model_figures import reconstruction_figure

        path, ckpt = _open_checkpoint(args.checkpoint)
        spec = _checkpoint_data(ckpt, args)
        x, labels, shape = _eval_data(spec, args.split, ckpt.model.dtype)
        print(reconstruction_figure(ckpt.model, x, _figure_out(args, path, "reconstructions.png"), shape, n=args.n,
                                    labels=labels))
        return 0

    return run


@command("manifold", "draw the learned 2-D latent manifold (K&W Figure 4)")
def manifold_command(parser):
    parser.description = ("Decode a grid of latent points placed at Gaussian quantiles (the inverse normal CDF "
                          "of evenly spaced probabilities) and tile the decoder means, as in K&W Figure 4. For "
                          "more than two latent dimensions the two most active are varied (largest mean KL on "
                          "the first 2000 datapoints of the run's test split), or the two given by --dims; the "
                          "others stay at 0. The title and the axes say which.")
    parser.add_argument("checkpoint", help="run folder or checkpoint .npz")
    parser.add_argument("--n", type=positive_int, default=20, help="grid points per side")
    parser.add_argument("--dims", type=int_list(0), default=None,
                        help="the two latent dimensions varied, e.g. 3,7 (default: the two most active)")
    _add_data_options(parser)                                         # where the most active dims are measured
    parser.add_argument("--out", default=None, help="PNG file (default: manifold.png beside the checkpoint)")
    parser.add_argument("--image-shape", type=image_shape, default=None, help="HxW (default: the data set's)")

    def run(args):
        from ..plotting.model_figures import manifold_figure

        if args.dims is not None and (len(args.dims) != 2 or args.dims[0] == args.dims[1]):
            raise ValueError(f"--dims takes two different latent dimensions, e.g. 0,1; got {args.dims}")
        path, ckpt = _open_checkpoint(args.checkpoint)
        model = ckpt.model
        x = None
        if args.dims is None:                                           # data to find the most active dims
            from ..models.conditioning import needs_labels
            from ..models.latent import code_width

            if not needs_labels(model) and code_width(model) > 2:
                spec = _checkpoint_data(ckpt, args)
                x, _, _ = _eval_data({**spec, "limit": spec["limit"] or 2000}, "test", model.dtype)
        print(manifold_figure(model, _figure_out(args, path, "manifold.png"),
                              _image_shape(ckpt, model, args.image_shape), n=args.n, dims=args.dims, x=x))
        return 0

    return run


@command("info", "versions, the array backends that can run here and the BLAS kernels NumPy uses")
def info_command(parser):
    parser.description = (
        "Print numpyvae's, Python's and NumPy's versions, which array backends can run here, and which "
        "compute kernels NumPy's OpenBLAS uses, with advice where faster ones exist (see "
        "numpyvae/arrays/blas.py).")

    def run(args):
        import platform

        from .._version import __version__
        from ..arrays.blas import describe

        print(f"numpyvae {__version__}, Python {platform.python_version()} ({platform.machine()})")
        for name in BACKEND_NAMES:
            try:
                get_backend(name)
                print(f"backend {name}: available")
            except (ImportError, RuntimeError, ValueError) as exc:
                print(f"backend {name}: not available ({exc})")
        for line in describe():
            print(line)
        return 0
    return run


def _version():
    import platform

    from .._version import __version__

    return f"numpyvae {__version__} (Python {platform.python_version()}, NumPy {np.__version__})"


def build_parser():
    parser = Parser(prog="numpyvae", description="Variational autoencoders in NumPy with hand-derived gradients.",
                    epilog="Exit status: 0 done, 1 a gradient check failed, 2 bad input, 3 training diverged, "
                           "130 interrupted.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    runners, parsers = {}, {}
    order = ("train", "evaluate", "sample", "reconstruct", "manifold")
    for name in sorted(COMMANDS, key=lambda n: order.index(n) if n in order else len(order)):
        help, configure = COMMANDS[name]
        p = sub.add_parser(name, help=help, formatter_class=HelpFormatter)
        runners[name], parsers[name] = configure(p), p
        p.add_argument("--backend", choices=BACKEND_NAMES, default=None,
                       help="array backend: numpy (CPU) or cupy (NVIDIA GPU, needs numpyvae[gpu]); "
                            "default: the NUMPYVAE_BACKEND environment variable, else numpy")
        p.add_argument("--threads", type=int, default=None, metavar="N",
                       help="threads of the BLAS matrix products (needs threadpoolctl: pip install "
                            "\"numpyvae[threads]\"); default: OpenBLAS's own, one per core or OPENBLAS_NUM_THREADS")
    parser.set_defaults(_runners=runners, _parsers=parsers)
    return parser


def main(argv=None):
    """Run one command; returns the exit status (see the module docstring)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError:                                                 # already reported, naming the flag
        return EXIT_BAD_INPUT
    if args.command is None:
        parser.print_help()
        return 0
    args.given = given_options(args._parsers[args.command], argv[argv.index(args.command) + 1:])
    try:
        if getattr(args, "backend", None) is not None:
            get_backend(args.backend)                                   # a clear error if it cannot run here
            os.environ["NUMPYVAE_BACKEND"] = args.backend               # every model built below uses it
        with _library_messages(args), limit_blas_threads(getattr(args, "threads", None)):
            return args._runners[args.command](args)
    except KeyboardInterrupt:                                          # e.g. while the data loads
        print(f"\nnumpyvae {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, OSError, RuntimeError, ImportError) as exc:    # OSError: missing files and folders
        print(f"numpyvae {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
