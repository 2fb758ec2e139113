"""Values of Kingma & Welling 2013 (arXiv 1312.6114v10) and the settings of its section 5.

Figure 2 comes from ``paper_fig2.csv`` beside this module: every curve of every panel (AEVB and
wake-sleep, train and test) at 1e5, 3e5, 1e6, 3e6, 1e7, 3e7 and 1e8 training samples, converted from
the vector paths of the PDF with each panel's own tick marks (about +-0.1 nat on MNIST, +-2 nats on
Frey Face). It is a copy of ``shared/reference/kingma_welling_2013_fig2.csv`` (whose README explains
the columns and two caveats); tests/test_repro_paper.py checks that the two agree. Between two of the
paper's points the drawn curve is a straight line in log x, which :func:`fig2_value` follows.

Figure 3 values are hand readings of the right edge of each panel of a raster image.
"""
import csv
import math
from functools import lru_cache
from pathlib import Path

FIG2_CSV = Path(__file__).with_name("paper_fig2.csv")
FIG2_COLUMNS = ("data", "n_z", "method", "split", "samples", "bound", "note")
FIG2_BUDGETS = (100000, 300000, 1000000, 3000000, 10000000, 30000000, 100000000)
"""The training-sample counts at which the paper's curves are read."""
FIG2_SAMPLES = 1e8
"""The paper's full budget."""
FIG2_NZ = {"mnist": (3, 5, 10, 20, 200), "frey": (2, 5, 10, 20)}
FIG2_READ_ERROR = {"mnist": 0.1, "frey": 2.0}
"""Reading uncertainty of the reference values (nats)."""
FIG2_TARGET = {"mnist": 1.0, "frey": 20.0}
"""The reproduction's target: AEVB test bound within this many nats of the paper's at 1e8 samples."""


@lru_cache(maxsize=None)
def _fig2_rows():
    with open(FIG2_CSV, newline="") as f:
        rows = []
        for r in csv.DictReader(f):
            rows.append({"data": r["data"], "n_z": int(r["n_z"]), "method": r["method"], "split": r["split"],
                         "samples": int(r["samples"]), "bound": float(r["bound"]), "note": r["note"] or ""})
    return tuple(rows)


def fig2_reference():
    """Every row of the paper's Figure 2: a list of dicts with the keys of :data:`FIG2_COLUMNS`."""
    return [dict(r) for r in _fig2_rows()]


def fig2_curve(data, nz, method, split):
    """The paper's curve ``(samples, bounds)`` (two tuples, increasing samples), or None when the
    paper has no such curve (another data set or N_z)."""
    pts = sorted((r["samples"], r["bound"]) for r in _fig2_rows()
                 if (r["data"], r["n_z"], r["method"], r["split"]) == (data, int(nz), method, split))
    if not pts:
        return None
    return tuple(p[0] for p in pts), tuple(p[1] for p in pts)


def fig2_value(data, nz, method, split, samples):
    """The paper's drawn curve at ``samples``: its value at one of its points, the straight line in log x
    between two of them, None outside its first and last points or without a curve."""
    curve = fig2_curve(data, nz, method, split)
    return None if curve is None else log_interp(*curve, samples)


def log_interp(samples, values, at):
    """``values`` at ``at`` samples, linear in log10(samples) between the two points around it; exact at a
    point; None outside [samples[0], samples[-1]] (never extrapolated). ``samples`` increasing."""
    if not len(samples) or at < samples[0] or at > samples[-1]:
        return None
    for i, s in enumerate(samples):
        if s == at:
            return float(values[i])
        if s > at:
            s0, v0 = samples[i - 1], values[i - 1]
            w = (math.log10(at) - math.log10(s0)) / (math.log10(s) - math.log10(s0))
            return float(v0 + w * (values[i] - v0))
    return None


# N_train -> method -> (train, test) marginal log-likelihood at the end of K&W Figure 3
FIG3 = {
    1000: {"aevb": (-109.1, -143.2), "wake_sleep": (-125.5, -144.8), "mcem": (-109.0, -141.6)},
    50000: {"aevb": (-130.9, -137.9), "wake_sleep": (-136.8, -141.0), "mcem": (-147.0, -148.4)},
}

# K&W section 5: architecture and optimisation
HIDDEN = {"mnist": 500, "frey": 200}
LIKELIHOOD = {"mnist": "bernoulli", "frey": "gaussian_sigmoid"}
LR_CANDIDATES = (0.01, 0.02, 0.1)
BATCH_SIZE = 100
INIT_SCALE = 0.01
