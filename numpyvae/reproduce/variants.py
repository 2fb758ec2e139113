"""Runs that vary one of the paper's settings (seed, step size, prior, initial scale, training-set
size), beside the default runs and the paper, at equal budgets: the evidence for the causes that
``docs/reproduction_limits.md`` states.

Every Figure 2 run folder under ``<out>/runs/`` of each output folder given is read as it is
(training nothing); its settings come from the spec its checkpoint holds. One row per run and
budget. Figure 3 runs (their spec asks for marginal-likelihood estimates) are left out: they have
another model (100 hidden units) and are measured against the paper's Figure 3, not its Figure 2.
"""
from pathlib import Path

from . import paper
from .compare import fmt, fmt_samples, ours_at
from .records import read_run

SETTINGS = ("seed", "lr", "weight_decay", "init_scale", "n_train")
"""The settings a variant may change; a spec without one had the default of its time."""
DEFAULT_SETTINGS = {"seed": 0, "weight_decay": "1/N", "init_scale": paper.INIT_SCALE, "n_train": None}
BUDGETS = (1_000_000, 10_000_000, 100_000_000)


def variant_runs(outs):
    """``[(out, run)]``: every Figure 2 run folder with an evaluation under each ``<out>/runs/``, sorted."""
    found = []
    for out in outs:
        for folder in sorted((Path(out) / "runs").glob("*")):
            run = read_run(folder) if folder.is_dir() else None
            if run is not None and run.get("spec") and not run["spec"].get("ml_points"):
                found.append((Path(out), run))
    return found


def setting_of(run, key):
    spec = run["spec"]
    if key == "lr":
        return run["lr"]
    return spec.get(key, DEFAULT_SETTINGS.get(key))


def variant_rows(outs, budgets=BUDGETS):
    """One dict per (run, budget) that the run reached: the run's data, N_z, method and settings, our
    train and test bounds there and the paper's test bound (None where it has no such curve)."""
    rows = []
    for out, run in variant_runs(outs):
        spec = run["spec"]
        for budget in budgets:
            test, status = ours_at(run, "test", budget)
            if status != "ok":
                continue
            train, _ = ours_at(run, "train", budget)
            rows.append({"folder": f"{out.name}/{run['name']}", "data": spec["data"], "n_z": spec["nz"],
                         "method": spec["method"], **{k: setting_of(run, k) for k in SETTINGS},
                         "samples": budget, "train": train, "test": test,
                         "paper_test": paper.fig2_value(spec["data"], spec["nz"], spec["method"], "test", budget)})
    return rows


def variants_markdown(rows):
    """The rows as a markdown table, grouped by panel and budget."""
    head = ("| data | N_z | method | seed | step size | prior weight | init s.d. | N_train | samples | "
            "train | test | paper test | test - paper | run folder |")
    lines = [head, "|" + "---|" * 14]
    for r in sorted(rows, key=lambda r: (r["data"], r["n_z"], r["method"], r["samples"], r["test"] is None,
                                          -(r["test"] or 0))):
        diff = None if r["paper_test"] is None else r["test"] - r["paper_test"]
        lr = "n/a" if r["lr"] is None else f"{r['lr']:g}"
        lines.append(f"| {r['data']} | {r['n_z']} | {r['method']} | {r['seed']} | {lr} | {r['weight_decay']} | "
                     f"{r['init_scale']:g} | {r['n_train'] or 'all'} | {fmt_samples(r['samples'])} | "
                     f"{fmt(r['train'])} | {fmt(r['test'])} | {fmt(r['paper_test'])} | {fmt(diff, signed=True)} | "
                     f"{r['folder']} |")
    return "\n".join(lines) + "\n"
