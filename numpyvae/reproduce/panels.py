"""Figures 2 and 3 drawn and tabulated from run folders as they are: our curves beside the paper's.

Nothing here trains: each ``render_*`` function takes runs as :func:`numpyvae.reproduce.records.read_run`
reads them (runs in progress included) and writes PNG panels and markdown tables. The figure commands
(:mod:`numpyvae.reproduce.figures`) call them after training, ``collect``
(:mod:`numpyvae.reproduce.collect`) on the run folders alone.
"""
from pathlib import Path

import numpy as np

from .. import plotting
from . import compare, paper
from .compare import METHOD_LABEL
from .records import curve


def _fmt(v, nd=1):
    return compare.fmt(v, nd)


def _data_title(data):
    return compare.DATA_TITLE.get(data, data)


def _paper_line(value, label, samples):
    """A dotted grey reference line at the paper's final ``value`` across our x-range (a list with one
    curve, or empty when the paper gives no value)."""
    if value is None or not len(samples):
        return []
    return [{"label": label, "samples": np.array([samples.min(), samples.max()]),
             "bound": np.array([value, value], dtype=float), "style": ":", "color": "0.45"}]



# ---------------------------------------------------------------------------------------------- Figure 2
FIG2_METHODS = ("aevb", "wake_sleep")
FIG2_COLOUR = {"aevb": "C0", "wake_sleep": "C1"}
"""One colour per method: our train (solid) and test (dashed) curves and the paper's (dotted)."""
FIG2_STYLE = {"train": "-", "test": "--"}
PAPER_MARKER = {"train": "o", "test": "x"}
"""The paper's curves are dotted in their method's colour, with a marker at each of the paper's points."""
PAPER_XLIM = (6e4, 1.6e8)
"""The x-range of the paper's Figure 2 (1e5 to 1e8 samples), where it has curves to compare with."""


def fig2_panel_curves(data, nz, runs):
    """The curves of one Figure 2 panel: ours (from ``runs``, {method: run} as read by
    :func:`numpyvae.reproduce.records.read_run`) and the paper's (dotted, ``"paper": True``), in the
    format of :func:`numpyvae.plotting.training_curves`."""
    curves = []
    for m in FIG2_METHODS:
        if runs.get(m) is None:
            continue
        for split in ("train", "test"):
            s, b = curve(runs[m]["records"], f"{split}_bound")
            if s.size:
                curves.append({"label": f"{METHOD_LABEL[m]} {split}", "samples": s, "bound": b,
                               "style": FIG2_STYLE[split], "color": FIG2_COLOUR[m]})
    for m in FIG2_METHODS:
        for split in ("train", "test"):
            ref = paper.fig2_curve(data, nz, m, split)
            if ref is not None:
                curves.append({"label": f"paper: {METHOD_LABEL[m]} {split}", "samples": np.array(ref[0], dtype=float),
                               "bound": np.array(ref[1]), "style": ":", "color": FIG2_COLOUR[m],
                               "marker": PAPER_MARKER[split], "paper": True})
    return curves


def fig2_ylim(curves, from_samples=1e6):
    """With the paper's curves in a panel: a y-range over every point at ``from_samples`` or more (the
    early points, far below, would squash the budgets where the curves are compared); else None."""
    if not any(c.get("paper") for c in curves):
        return None
    vals = np.concatenate([np.asarray(c["bound"])[np.asarray(c["samples"]) >= from_samples] for c in curves])
    if not vals.size:
        return None
    lo, hi = float(vals.min()), float(vals.max())
    pad = 0.08 * (hi - lo) or 1.0
    return lo - pad, hi + pad


def render_figure2(data, nzs, runs, fig_dir, prefix=""):
    """Draw and tabulate Figure 2 of ``data`` from ``runs`` ({(nz, method): run or None}), without training.

    Writes into ``fig_dir``: ``<prefix><data>.png`` (all panels), ``<prefix><data>_nz<nz>.png`` (one per
    panel), ``<prefix><data>_table.md`` (the equal-budget table and the runs). Returns a dict with
    ``table`` (the markdown), ``equal_budget`` and ``lead`` (the rows of
    :mod:`numpyvae.reproduce.compare`) and ``runs`` (one row per run, see :func:`run_row`).
    """
    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    panels, titles, ylims, eq_rows, lead, run_rows = [], [], [], [], [], []
    xlim = PAPER_XLIM if any(paper.fig2_curve(data, nz, "aevb", "test") for nz in nzs) else None
    for nz in nzs:
        by_method = {m: runs.get((nz, m)) for m in FIG2_METHODS if runs.get((nz, m)) is not None}
        curves = fig2_panel_curves(data, nz, by_method)
        if not curves:
            continue
        reached = ", ".join(f"{METHOD_LABEL[m]} {compare.fmt_samples(r['samples'])}"
                            + ("" if r["status"] == "finished" else f" ({r['status']})")
                            for m, r in by_method.items()) or "no run yet"
        ylim = fig2_ylim(curves)
        plotting.training_curves(curves, fig_dir / f"{prefix}{data}_nz{nz}.png", ylim=ylim, xlim=xlim,
                                 title=f"{_data_title(data)}, $N_z$ = {nz}  [ours: {reached}]")
        panels.append(curves)
        titles.append(f"$N_z$ = {nz}")
        ylims.append(ylim)
        if paper.fig2_curve(data, nz, "aevb", "test") is not None or by_method:
            eq_rows += compare.equal_budget(data, nz, by_method)
        if paper.fig2_curve(data, nz, "aevb", "test") is not None:
            lead.append(compare.lead_row(data, nz, by_method))
        run_rows += [run_row(data, nz, m, r) for m, r in by_method.items()]
    md = ""
    if panels:
        plotting.training_curve_panels(panels, fig_dir / f"{prefix}{data}.png", titles=titles, ylims=ylims, xlim=xlim,
                                       suptitle=f"{_data_title(data)}: ours (solid: train, dashed: test) and "
                                                "the paper's Figure 2 (dotted)")
        md = compare.equal_budget_markdown(data, eq_rows)
        if run_rows:
            md += "\nRuns (training time excludes evaluation):\n\n" + compare.runs_markdown(run_rows)
        (fig_dir / f"{prefix}{data}_table.md").write_text(md)
    return {"table": md, "equal_budget": eq_rows, "lead": lead, "runs": run_rows}


def run_row(data, nz, method, run):
    """One run's progress and times (the last evaluation's)."""
    last = run["records"][-1]
    return {"data": data, "n_z": nz, "method": method, "run": run["name"], "status": run["status"],
            "samples": run["samples"], "checkpoint_samples": run["checkpoint_samples"], "budget": run["budget"],
            "lr": run["lr"], "train_time_s": last.get("wall_s"), "eval_time_s": last.get("eval_time"),
            "dtype": run.get("dtype"), "version": run.get("version"), "machine": run.get("machine")}


# ---------------------------------------------------------------------------------------------- Figure 3
def render_figure3(data, n_trains, methods, runs, settings, png_path):
    """Draw and tabulate Figure 3 from ``runs`` ({(N_train, method): run or None}) without training.
    ``settings``: a spec with the estimator settings (ml_points, hmc_burnin, hmc_samples, is_samples).
    Returns {"table": markdown, "rows": the table's rows, "estimates": one row per estimate}."""
    panels, titles, table, estimates = [], [], [], []
    for n in n_trains:
        curves = []
        for m in methods:
            run = runs.get((n, m))
            records = [] if run is None else [r for r in run["records"] if r.get("train_ml_hmc") is not None]
            if not records:
                continue
            for split in ("train", "test"):
                s, v = curve(records, f"{split}_ml_hmc")
                curves.append({"label": f"{METHOD_LABEL[m]} {split}", "samples": s, "bound": v})
                for r in records:
                    for est in ("hmc", "is"):
                        if r.get(f"{split}_ml_{est}") is not None:
                            estimates.append({"n_train": n, "method": m, "split": split, "samples": r["samples"],
                                              "estimator": est, "log_px": r[f"{split}_ml_{est}"]})
            if m == "aevb" and data == "mnist":
                curves += _paper_line(paper.FIG3.get(n, {}).get(m, (None, None))[1], "paper: AEVB test, final",
                                      curves[-1]["samples"])
            last = records[-1]
            table.append({"n_train": n, "method": m, "samples": last["samples"], "status": run["status"],
                          "wall_s": last.get("wall_s"),
                          "train_hmc": last["train_ml_hmc"], "test_hmc": last.get("test_ml_hmc"),
                          "train_is": last.get("train_ml_is"), "test_is": last.get("test_ml_is"),
                          # MCEM trains no recognition model: a bound with the untrained encoder means nothing
                          "train_bound": None if m == "mcem" else last.get("train_bound"),
                          "test_bound": None if m == "mcem" else last.get("test_bound"),
                          "paper": paper.FIG3.get(n, {}).get(m) if data == "mnist" else None})
        if curves:
            panels.append(curves)
            titles.append(f"$N_{{train}}$ = {n}")
    if panels:
        plotting.training_curve_panels(panels, png_path, titles=titles,
                                       suptitle=f"{_data_title(data)}, $N_z$ = 3: marginal log-likelihood (appendix D)",
                                       ylabel="marginal log-likelihood (nats)")
    return {"table": _fig3_table(table, settings) + _fig3_along_training(estimates), "rows": table,
            "estimates": estimates}


def _fig3_along_training(estimates):
    """Markdown: the appendix-D estimate of every run at every sample count it was estimated at,
    train / test (the table above has only the last)."""
    hmc = [e for e in estimates if e["estimator"] == "hmc"]
    budgets = sorted({e["samples"] for e in hmc})
    if not budgets:
        return ""
    at = {(e["n_train"], e["method"], e["samples"], e["split"]): e["log_px"] for e in hmc}
    runs = list(dict.fromkeys((e["n_train"], e["method"]) for e in hmc))
    lines = ["", "The appendix-D estimate along training, train / test, at each sample count a run was estimated at:",
             "", "| N_train | method | " + " | ".join(compare.fmt_samples(b) for b in budgets) + " |",
             "|---|---|" + "---|" * len(budgets)]
    for n, m in runs:
        cells = [f"{_fmt(at.get((n, m, b, 'train')))} / {_fmt(at.get((n, m, b, 'test')))}"
                 if (n, m, b, "train") in at or (n, m, b, "test") in at else "" for b in budgets]
        lines.append(f"| {n} | {METHOD_LABEL[m]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _fig3_table(table, options):
    lines = [f"MNIST, N_z = 3, 100 hidden units. log p(x) on the first "
             f"{options['ml_points']} training / test points at the last estimate of each run: appendix-D estimator "
             f"({options['hmc_burnin']} burn-in HMC transitions, {options['hmc_samples']} + {options['hmc_samples']} "
             f"samples, 10 leapfrog steps) and importance sampling with q (k = {options['is_samples']}); the paper's "
             "value read off the right edge of its Figure 3. Wall time: training alone (the estimates excluded).", "",
             "| N_train | method | samples | train: HMC est. / IS est. / bound | paper train | diff | "
             "test: HMC est. / IS est. / bound | paper test | diff | wall time |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for t in table:
        p = t["paper"] or (None, None)
        samples = compare.fmt_samples(t["samples"]) + ("" if t["status"] == "finished" else f" ({t['status']})")
        wall = "n/a" if t["wall_s"] is None else f"{t['wall_s'] / 60:.1f} min"
        lines.append(
            f"| {t['n_train']} | {METHOD_LABEL[t['method']]} | {samples} | {_fmt(t['train_hmc'])} / "
            f"{_fmt(t['train_is'])} / {_fmt(t['train_bound'])} | {_fmt(p[0])} | "
            f"{_fmt(None if p[0] is None or t['train_hmc'] is None else t['train_hmc'] - p[0])} | "
            f"{_fmt(t['test_hmc'])} / {_fmt(t['test_is'])} / {_fmt(t['test_bound'])} | {_fmt(p[1])} | "
            f"{_fmt(None if p[1] is None or t['test_hmc'] is None else t['test_hmc'] - p[1])} | {wall} |")
    return "\n".join(lines) + "\n"
