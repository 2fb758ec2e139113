"""``python -m numpyvae.reproduce <figure> [options]``: regenerate one figure of Kingma & Welling 2013.

Every command trains (or resumes) the runs it needs under ``<out>/runs/`` and writes its figure,
curves and table under ``<out>/<figure>/``; re-running a command after an interruption continues
from the checkpoints, and a larger ``--budget`` extends finished runs. ``report`` assembles
docs/reproduction.md from whatever figures exist.

``collect`` trains nothing: it draws Figures 2 and 3 and their tables from the run folders as they
are (runs in progress included) into ``<docs>/reproduction/``, which ``report`` then assembles;
``fig2 --no-train`` and ``fig3 --no-train`` do the same into ``<out>/<figure>/``. ``collect`` and
``variants`` keep every run they read in ``<docs>/reproduction/archive/`` and show from there the runs
whose folders are not on this machine (:mod:`numpyvae.reproduce.archive`).
"""
import argparse
import importlib.util
import json
import os
import shlex
import sys

from ..cli.arguments import Parser, UsageError, nonnegative_int, positive_float, positive_int
from . import paper


def _ints(text):
    """Comma-separated positive integers (latent sizes, training-set sizes)."""
    values = tuple(positive_int(t.strip()) for t in text.split(",") if t.strip())
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return values


def _budget(text):
    try:
        v = int(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of samples such as 1e6, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"the budget must be positive, got {text!r}")
    return v


def _fig2_methods(text):
    methods = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in methods if m not in ("aevb", "wake_sleep")]
    if not methods or bad:
        raise argparse.ArgumentTypeError(f"expected methods of Figure 2 (aevb, wake_sleep), comma-separated, "
                                         f"got {text!r}")
    return ",".join(methods)


def _weight_decay(text):
    if text == "1/N":
        return text
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected '1/N' or a number >= 0, got {text!r}") from None
    if not v >= 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"the weight decay must be a finite number >= 0, got {text!r}")
    return v


def _budgets(text):
    values = tuple(_budget(t.strip()) for t in text.split(",") if t.strip())
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated sample counts such as 1e6,1e7, got {text!r}")
    return values


def _lr(text):
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number, got {text!r}") from None


def _common(p, budget="1e6"):
    p.add_argument("--budget", type=_budget, default=_budget(budget),
                   help=f"training samples per run (default {budget}; the paper: 1e8)")
    p.add_argument("--out", default="results/reproduction", help="output folder (default results/reproduction)")
    p.add_argument("--jobs", type=int, default=1,
                   help="runs trained in parallel local worker processes, one BLAS thread each (default 1: in "
                        "this process)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=os.environ.get("NUMPYVAE_SCHEDULER") or None,
                   help="submit every run as a task to the Dask distributed scheduler at ADDRESS "
                        "(tcp://host:8786; default $NUMPYVAE_SCHEDULER; docs/cluster.md); --jobs is then unused")
    p.add_argument("--lr", type=_lr, default=None,
                   help="Adagrad step size, or 'auto' to pick from {0.01, 0.02, 0.1} on a pilot (default auto)")
    p.add_argument("--pilot", type=_budget, default=None, help="pilot samples per candidate step size (default 5e4)")
    p.add_argument("--init-scale", type=positive_float, default=None,
                   help="standard deviation of the initial weights and biases (default 0.01: the paper's "
                        "N(0, 0.01) read as a standard deviation); other than 0.01, part of the run folder's name")
    p.add_argument("--weight-decay", type=_weight_decay, default=None,
                   help="weight of the Gaussian prior on the parameters: '1/N' (default: N(0, I) on the summed "
                        "objective, per datapoint) or a number >= 0 (0: maximum likelihood); other than 1/N, "
                        "it is part of the run folder's name")
    p.add_argument("--seed", type=nonnegative_int, default=None)
    p.add_argument("--hidden", type=positive_int, default=None,
                   help="hidden units (default: the paper's: 500 MNIST, 200 Frey Faces, 100 in Figure 3)")
    p.add_argument("--eval-points", type=positive_int, default=None,
                   help="score intermediate evaluations on the first N points of each set (default: all); "
                        "the final evaluation always uses the whole sets")
    p.add_argument("--binarize", choices=("none", "static", "dynamic"), default=None,
                   help="MNIST pixels: grey values as Bernoulli targets (none, default), one fixed draw, or a draw per epoch")
    p.add_argument("--dtype", choices=("float32", "float64"), default=None,
                   help="floating-point precision of training (default float32, the fast path; float64 runs "
                        "are separate run folders)")
    p.add_argument("--protocol", choices=("kw2013", "official"), default=None,
                   help="split: MNIST kw2013 = 50000 training images (default); Frey official = 1765 train / 200 test "
                        "(default), kw2013 = 1565 train")


def _options(args, *extra):
    keys = ("lr", "pilot", "seed", "binarize", "protocol", "hidden", "eval_points", "dtype", "weight_decay", "init_scale") + extra
    return {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}


def build_parser():
    parser = Parser(prog="python -m numpyvae.reproduce", description=__doc__,   # no abbreviations, here or below
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fig2", help="lower bound vs training samples: AEVB vs wake-sleep (one panel per N_z)")
    p.add_argument("--data", choices=("mnist", "frey", "synthetic"), default="mnist",
                   help="data set (synthetic: a tiny built-in set for smoke tests)")
    p.add_argument("--nz", type=_ints, default=None, help="latent sizes (default: the paper's for --data)")
    p.add_argument("--methods", type=_fig2_methods, default="aevb,wake_sleep",
                   help="comma-separated methods to train (default aevb,wake_sleep); the figure draws every "
                        "method whose run folder exists")
    p.add_argument("--no-train", action="store_true",
                   help="train nothing: draw the run folders as they are (runs in progress included)")
    _common(p)

    p = sub.add_parser("fig3", help="marginal likelihood vs training samples: AEVB, wake-sleep, MCEM (N_z = 3)")
    p.add_argument("--data", choices=("mnist", "synthetic"), default="mnist")
    p.add_argument("--n-train", type=_ints, default=(1000, 50000))
    p.add_argument("--methods", default="aevb,wake_sleep,mcem")
    p.add_argument("--ml-points", type=positive_int, default=None, help="first points of each set scored (default 1000)")
    p.add_argument("--is-samples", type=positive_int, default=None, help="importance samples k (default 5000)")
    p.add_argument("--hmc-samples", type=positive_int, default=None, help="HMC samples for the fit and for the estimate (default 100)")
    p.add_argument("--hmc-burnin", type=nonnegative_int, default=None, help="HMC burn-in transitions (default 200)")
    p.add_argument("--ml-evals", type=positive_int, default=None, help="evaluation points along training (default 5)")
    p.add_argument("--no-train", action="store_true",
                   help="train nothing: draw the run folders as they are (runs in progress included)")
    _common(p)

    p = sub.add_parser("fig4", help="learned 2-D manifolds (Frey Faces and MNIST)")
    p.add_argument("--data", default="frey,mnist", help="comma-separated data sets (default frey,mnist)")
    _common(p)

    p = sub.add_parser("fig5", help="random samples of MNIST models with several N_z")
    p.add_argument("--data", choices=("mnist", "frey", "synthetic"), default="mnist")
    p.add_argument("--nz", type=_ints, default=(2, 5, 10, 20))
    _common(p)

    p = sub.add_parser("fullvb", help="appendix F: full variational Bayes over the decoder vs MAP AEVB")
    p.add_argument("--data", choices=("mnist", "frey", "synthetic"), default="mnist")
    p.add_argument("--nz", type=positive_int, default=20)
    _common(p)

    p = sub.add_parser("ae", help="a plain autoencoder with the VAE's layers: reconstruction errors beside AEVB's")
    p.add_argument("--data", choices=("mnist", "frey", "synthetic"), default="mnist")
    p.add_argument("--nz", type=_ints, default=None, help="latent sizes (default: Figure 2's for --data)")
    _common(p)

    p = sub.add_parser("collect", help="Figures 2 and 3, their curves and tables from the run folders under --out "
                                       "as they are (runs in progress included), into <docs>/reproduction/, "
                                       "with the runs archived there before (runs from other machines); "
                                       "trains nothing")
    p.add_argument("--out", default="results/reproduction", help="the folder holding runs/ (default results/reproduction)")
    p.add_argument("--docs", default="docs", help="docs folder (default docs): writes <docs>/reproduction/")
    p.add_argument("--data", default="mnist,frey", help="comma-separated Figure 2 data sets (default mnist,frey)")
    p.add_argument("--nz", type=_ints, default=None, help="latent sizes (default: the paper's for each data set)")
    p.add_argument("--n-train", type=_ints, default=(1000, 50000), help="Figure 3 training-set sizes")
    p.add_argument("--fig3-data", default="mnist", help="data set of the Figure 3 runs (default mnist)")
    p.add_argument("--fig3-hidden", type=int, default=100, help="hidden units of the Figure 3 runs (default 100)")
    p.add_argument("--hidden", type=int, default=None, help="hidden units of the Figure 2 runs (default: the paper's)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--binarize", choices=("none", "static", "dynamic"), default=None)
    p.add_argument("--machine", default=None,
                   help="where the runs trained, in words, for the report (default: not recorded)")

    p = sub.add_parser("report", help="write docs/reproduction.md from <docs>/reproduction/ (see collect) and "
                                      "the figures under --out")
    p.add_argument("--out", default="results/reproduction")
    p.add_argument("--docs", default="docs")

    p = sub.add_parser("variants", help="runs that change one of the paper's settings (under several --out folders), "
                                        "at 1e6, 1e7 and 1e8 samples beside the paper: <docs>/reproduction/variants.csv "
                                        "and variants.md; trains nothing")
    p.add_argument("--out", action="append", required=True, metavar="FOLDER",
                   help="a folder holding runs/ (repeat for several)")
    p.add_argument("--docs", default="docs", help="docs folder (default docs)")
    p.add_argument("--budgets", type=_budgets, default=(1_000_000, 10_000_000, 100_000_000),
                   help="comma-separated sample counts to compare at (default 1e6,1e7,1e8)")

    p = sub.add_parser("run-one", help=argparse.SUPPRESS)
    p.add_argument("spec")
    return parser


def _record_command(out, name, argv):
    from pathlib import Path
    d = Path(out) / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "command.txt").write_text("python -m numpyvae.reproduce " + shlex.join(argv) + "\n")


def main(argv=None):
    """Run one command; returns the exit status: 1 when a run of the grid failed, 2 for bad arguments
    or a run folder, data file or checkpoint that cannot be used, 3 when training diverged, 130 on
    Ctrl-C (every run resumes from its last checkpoint)."""
    from ..training import TrainingDiverged
    from .grid import GridFailed
    try:
        return _main(argv)
    except GridFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except TrainingDiverged as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume from the last checkpoints", file=sys.stderr)
        return 130
    except (ValueError, OSError) as exc:                               # bad folder, data or checkpoint: a message
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _main(argv):
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
    except UsageError:                                                 # reported already, naming the flag
        return 2
    from . import figures
    if args.command == "run-one":
        from .runs import execute
        execute(json.loads(args.spec))
        return 0
    if args.command == "collect":
        from .collect import collect
        datasets = tuple(d.strip() for d in args.data.split(",") if d.strip())
        if args.nz is None and any(d not in paper.FIG2_NZ for d in datasets):
            print("--nz is required for data sets without the paper's panels", file=sys.stderr)
            return 2
        options = {k: getattr(args, k) for k in ("hidden", "seed", "binarize") if getattr(args, k) is not None}
        dest = collect(args.out, args.docs, datasets=datasets, nzs=args.nz, n_trains=args.n_train,
                       fig3_data=args.fig3_data, fig3_hidden=args.fig3_hidden, machine=args.machine, **options)
        (dest / "command.txt").write_text("python -m numpyvae.reproduce " + shlex.join(argv) + "\n")
        print(dest)
        return 0
    if args.command == "variants":
        from .tables import write_rows
        from .variants import SETTINGS, archive_variants, variant_rows, variant_runs, variants_markdown
        missing = [o for o in args.out if not os.path.isdir(os.path.join(o, "runs"))]
        if missing:
            print(f"--out {missing[0]}: no runs/ folder there", file=sys.stderr)
            return 2
        dest = os.path.join(args.docs, "reproduction")
        archive = os.path.join(dest, "archive", "variants")
        runs = variant_runs(args.out, archive)
        archive_variants(runs, archive)
        rows = variant_rows(runs, args.budgets)
        write_rows(os.path.join(dest, "variants.csv"), rows,
                   ("folder", "data", "n_z", "method", *SETTINGS, "samples", "train", "test", "paper_test"))
        with open(os.path.join(dest, "variants.md"), "w") as f:
            f.write("Collected with `python -m numpyvae.reproduce " + shlex.join(argv) + "`, with the runs kept in "
                    "`archive/variants/` by earlier collections\n\n" + variants_markdown(rows))
        print(os.path.join(dest, "variants.md"))
        return 0
    if args.command == "report":
        from .report import write_report
        print(write_report(args.out, args.docs))
        return 0
    if args.jobs < 1:
        print("--jobs must be >= 1", file=sys.stderr)
        return 2
    if getattr(args, "scheduler", None) and importlib.util.find_spec("distributed") is None:
        from .grid import INSTALL_HINT
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    common = dict(jobs=args.jobs, scheduler=getattr(args, "scheduler", None), **_options(args))
    if args.command == "fig2":
        if args.nz is None and args.data not in paper.FIG2_NZ:
            print(f"--nz is required for --data {args.data}", file=sys.stderr)
            return 2
        methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
        figures.figure2(args.data, args.nz or paper.FIG2_NZ[args.data], args.budget, args.out,
                        train=not args.no_train, methods=methods, **common)
    elif args.command == "fig3":
        methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
        ml = {k: getattr(args, k) for k in ("ml_points", "is_samples", "hmc_samples", "hmc_burnin", "ml_evals")
              if getattr(args, k) is not None}
        figures.figure3(args.n_train, args.budget, args.out, methods=methods, data=args.data,
                        train=not args.no_train, **ml, **common)
    elif args.command == "fig4":
        figures.figure4(args.budget, args.out, datasets=tuple(args.data.split(",")), **common)
    elif args.command == "fig5":
        figures.figure5(args.budget, args.out, nzs=args.nz, data=args.data, **common)
    elif args.command == "ae":
        if args.nz is None and args.data not in paper.FIG2_NZ:
            print(f"--nz is required for --data {args.data}", file=sys.stderr)
            return 2
        figures.autoencoder_comparison(args.data, args.nz or paper.FIG2_NZ[args.data], args.budget, args.out,
                                       **common)
    elif args.command == "fullvb":
        figures.full_vb(args.data, args.nz, args.budget, args.out, **common)
    if getattr(args, "no_train", False):
        return 0                                    # the command that trained the runs stays on record
    name = {"fig2": f"fig2/{getattr(args, 'data', '')}", "ae": f"ae/{getattr(args, 'data', '')}"}.get(args.command, args.command)
    _record_command(args.out, name, argv)
    return 0
