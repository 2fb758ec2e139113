"""The ``numpyvae`` command line. ``numpyvae <command> --help`` explains each command."""
import argparse
import sys

import numpy as np

COMMANDS = {}


def command(name, help):
    """Register ``func(args)`` as sub-command ``name``; ``func.configure(parser)`` adds its options."""
    def wrap(configure):
        COMMANDS[name] = (help, configure)
        return configure
    return wrap


def int_list(text):
    """Parse "500" or "400,400" (or "" for none) into a tuple of ints."""
    text = text.strip()
    if text in ("", "none", "()"):
        return ()
    try:
        return tuple(int(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 400,400, got {text!r}")


@command("gradcheck", "check every hand-written gradient of a model against finite differences")
def gradcheck_command(parser):
    from .decoders import LIKELIHOODS
    from .ops.activations import ACTIVATIONS
    from .vae import ESTIMATORS

    parser.description = (
        "Build a small float64 VAE, draw fixed data and noise, and compare the gradient of every "
        "parameter (and of every registered op) with central finite differences. Prints one row per "
        "parameter; exits with status 1 if any relative error exceeds --tol.")
    parser.add_argument("--input-dim", type=int, default=12, help="data dimensions D (default 12)")
    parser.add_argument("--hidden", type=int_list, default=(8,), help="hidden widths, e.g. 8 or 16,8 (default 8)")
    parser.add_argument("--latent", type=int, default=3, help="latent dimensions Z (default 3)")
    parser.add_argument("--likelihood", choices=LIKELIHOODS, default="bernoulli")
    parser.add_argument("--activation", choices=tuple(ACTIVATIONS), default="tanh")
    parser.add_argument("--estimator", choices=ESTIMATORS, default="analytic")
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=5, help="batch size B (default 5)")
    parser.add_argument("--samples", type=int, default=2, help="noise samples L per datapoint (default 2)")
    parser.add_argument("--coords", type=int, default=40, help="entries checked per parameter (default 40)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tol", type=float, default=1e-6, help="largest relative error accepted (default 1e-6)")
    parser.add_argument("--ops", action="store_true", help="also check every registered op")

    def run(args):
        from . import gradcheck
        from .ops import OPS
        from .vae import VAE

        rng = np.random.default_rng(args.seed)
        model = VAE(args.input_dim, args.hidden, args.latent, likelihood=args.likelihood,
                    activation=args.activation, estimator=args.estimator, beta=args.beta,
                    dtype=np.float64, rng=rng, init="glorot")
        x = rng.uniform(0, 1, size=(args.batch, args.input_dim))
        eps = rng.standard_normal((args.samples, args.batch, args.latent))
        print(f"{model}\nbatch {args.batch}, L = {args.samples}, seed {args.seed}\n")
        report = gradcheck.check_model(model, x, eps, rng=rng, max_coords=args.coords)
        print(report.table(args.tol))
        ok = report.passed(args.tol)
        if args.ops:
            print("\nregistered ops")
            for name, spec in OPS.items():
                r = gradcheck.check_op(spec, rng=rng)
                ok &= r.passed(args.tol)
                print(f"  {name:<22} max rel err {r.max_rel_err:.2e}  {'ok' if r.passed(args.tol) else 'FAILED'}")
        print("\nall gradients match" if ok else "\nGRADIENT CHECK FAILED")
        return 0 if ok else 1

    return run


def build_parser():
    parser = argparse.ArgumentParser(
        prog="numpyvae",
        description="Variational autoencoders in NumPy with hand-derived gradients.")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    runners = {}
    for name, (help, configure) in COMMANDS.items():
        p = sub.add_parser(name, help=help, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        runners[name] = configure(p)
    parser.set_defaults(_runners=runners)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args._runners[args.command](args)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"numpyvae {args.command}: error: {exc}", file=sys.stderr)
        return 2
