"""Our Figure 2 curves against the paper's at equal training budgets: the numbers and their tables.

Our value at a budget is read off our own curve: exact at one of our evaluation points, linear in
log10(samples) between the two around it, and never extrapolated (a budget past our last evaluation
is "not reached"). The paper's comes from :func:`numpyvae.reproduce.paper.fig2_value` (its drawn
curve, itself straight in log x between the paper's points).
"""
import math

from . import paper
from .records import curve

TABLE_CURVES = (("aevb", "train"), ("aevb", "test"), ("wake_sleep", "test"))
TABLE_BUDGETS = (1_000_000, 10_000_000, 100_000_000)
CURVE_LABEL = {("aevb", "train"): "AEVB train", ("aevb", "test"): "AEVB test",
               ("wake_sleep", "train"): "wake-sleep train", ("wake_sleep", "test"): "wake-sleep test"}
DATA_TITLE = {"mnist": "MNIST", "frey": "Frey Face"}
METHOD_LABEL = {"aevb": "AEVB", "wake_sleep": "Wake-Sleep", "mcem": "MCEM", "fullvb": "Full VB",
                "autoencoder": "Autoencoder"}


def fmt(v, nd=1, signed=False):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:+.{nd}f}" if signed else f"{v:.{nd}f}"


def fmt_samples(s):
    """1e6 for 1000000, 6.81e6 for 6813000."""
    if s is None:
        return "n/a"
    mant, exp = f"{float(s):.2e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return f"{mant}e{int(exp)}"


def ours_at(run, split, samples):
    """``(value, status)`` of our ``split`` bound at ``samples``: status "ok", "not reached" (past our
    last evaluation), "not evaluated" (before our first) or "no run"."""
    if run is None:
        return None, "no run"
    s, v = curve(run["records"], f"{split}_bound")
    value = paper.log_interp(s, v, samples)
    if value is not None:
        return value, "ok"
    return None, "not reached" if not s.size or samples > s[-1] else "not evaluated"


def equal_budget(data, nz, runs, budgets=TABLE_BUDGETS, curves=TABLE_CURVES):
    """One row per (curve, budget) of a panel: ours, the paper's and ours minus the paper's.

    ``runs`` maps a method to its run (see :func:`numpyvae.reproduce.records.read_run`) or leaves it out.
    """
    rows = []
    for method, split in curves:
        run = runs.get(method)
        for b in budgets:
            ours, status = ours_at(run, split, b)
            ref = paper.fig2_value(data, nz, method, split, b)
            rows.append({"data": data, "n_z": nz, "method": method, "split": split, "samples": int(b),
                         "ours": ours, "paper": ref, "diff": None if ours is None or ref is None else ours - ref,
                         "status": status, "reached": None if run is None else run["samples"]})
    return rows


def lead_row(data, nz, runs):
    """Our AEVB test bound at the largest budget our curve and the paper's share (our last evaluation,
    at most 1e8), beside the paper's there, and whether it meets the 1e8 target."""
    run = runs.get("aevb")
    tol = paper.FIG2_TARGET.get(data)
    row = {"data": data, "n_z": nz, "samples": None, "status": "no run", "ours": None, "paper": None,
           "diff": None, "target": tol, "verdict": "no run"}
    if run is None:
        return row
    s, _ = curve(run["records"], "test_bound")
    if not s.size:
        return row
    b = int(min(s[-1], paper.FIG2_SAMPLES))
    ours, _ = ours_at(run, "test", b)
    ref = paper.fig2_value(data, nz, "aevb", "test", b)
    diff = None if ours is None or ref is None else ours - ref
    if diff is None:
        verdict = "n/a"
    elif b < paper.FIG2_SAMPLES:
        verdict = "not at 1e8 yet"
    elif tol is None:
        verdict = "n/a"
    else:
        verdict = "within target" if abs(diff) <= tol else f"misses by {abs(diff) - tol:.1f}"
    row.update(samples=b, status=run["status"], ours=ours, paper=ref, diff=diff, verdict=verdict)
    return row


def equal_budget_markdown(data, rows):
    """The equal-budget table of one data set (all its panels), from :func:`equal_budget` rows."""
    title = DATA_TITLE.get(data, data)
    err = paper.FIG2_READ_ERROR.get(data)
    head = (f"{title}: lower bound (nats per datapoint) at equal training budgets, ours beside the paper's "
            f"Figure 2{f' (read from its vector paths, +-{err:g})' if err is not None else ''}; "
            "diff = ours - paper (positive: above the paper). Ours is read off our own curve (between two of "
            "our evaluations: linear in log samples); a budget past our last evaluation is not reached.")
    cols = [c for c in TABLE_CURVES if any((r["method"], r["split"]) == c for r in rows)]
    lines = [head, "", "| N_z | samples | " + " | ".join(f"{CURVE_LABEL[c]}: ours | paper | diff" for c in cols)
             + " |", "|---|---|" + "---|---|---|" * len(cols)]
    keys = sorted({(r["n_z"], r["samples"]) for r in rows})
    by = {(r["n_z"], r["samples"], r["method"], r["split"]): r for r in rows}
    for nz, b in keys:
        cells = []
        for c in cols:
            r = by.get((nz, b) + c)
            if r is None:
                cells += ["n/a"] * 3
                continue
            ours = fmt(r["ours"]) if r["status"] == "ok" else r["status"]
            cells += [ours, fmt(r["paper"]), fmt(r["diff"], signed=True)]
        lines.append(f"| {nz} | {fmt_samples(b)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def lead_markdown(rows):
    """The report's first table, from :func:`lead_row` rows (every panel of every data set)."""
    lines = ["| data | N_z | samples | run | AEVB test: ours | paper | diff | target at 1e8 | verdict |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        tol = "n/a" if r["target"] is None else f"+-{r['target']:g}"
        lines.append(f"| {DATA_TITLE.get(r['data'], r['data'])} | {r['n_z']} | {fmt_samples(r['samples'])} | "
                     f"{r['status']} | {fmt(r['ours'])} | {fmt(r['paper'])} | {fmt(r['diff'], signed=True)} | "
                     f"{tol} | {r['verdict']} |")
    return "\n".join(lines) + "\n"


def runs_markdown(rows):
    """Wall time and progress per run, from run rows (see :func:`numpyvae.reproduce.collect.run_row`)."""
    lines = ["| run | step size | evaluated to | checkpoint at | budget | status | training time | "
             "evaluation time | training per 1e6 samples | machine |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        per = None if not r["train_time_s"] or not r["samples"] else r["train_time_s"] / r["samples"] * 1e6 / 60
        lines.append(f"| {r['run']} | {'n/a' if r['lr'] is None else format(r['lr'], 'g')} | "
                     f"{fmt_samples(r['samples'])} | {fmt_samples(r['checkpoint_samples'])} | "
                     f"{fmt_samples(r['budget'])} | {r['status']} | {_minutes(r['train_time_s'])} | "
                     f"{_minutes(r['eval_time_s'])} | {_minutes(None if per is None else per * 60)} | "
                     f"{r.get('machine') or 'n/a'} |")
    return "\n".join(lines) + "\n"


def _minutes(seconds):
    if seconds is None:
        return "n/a"
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.2f} h"
