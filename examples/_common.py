"""Shared plumbing for the numbered examples: command-line flags and the output folder.

Importing this module puts the repository root first on ``sys.path``, so every example runs from a
checkout (``python examples/01_elbo_by_hand.py``) without installing the package, and uses the
checkout's ``numpyvae`` even when another copy is installed.
"""
import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_OUT = REPO / "examples" / "output"


def parser(doc):
    """An argument parser with the flags every example understands: --out, --quick, --seed."""
    first_line = (doc or "").strip().splitlines()[0] if doc else None
    p = argparse.ArgumentParser(description=first_line,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the figures and text it writes")
    p.add_argument("--quick", action="store_true", help="smaller settings (a few seconds; used by the tests)")
    p.add_argument("--seed", type=int, default=0, help="seed of the numpy.random.Generator")
    return p


def out_dir(args):
    """Create ``args.out`` and return it."""
    args.out.mkdir(parents=True, exist_ok=True)
    return args.out


def pyplot():
    """matplotlib.pyplot with a non-interactive backend unless one is already chosen."""
    import matplotlib

    if "MPLBACKEND" not in os.environ:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
