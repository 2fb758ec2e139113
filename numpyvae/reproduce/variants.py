"""Runs that vary one of the paper's settings (seed, step size, prior, initial scale, training-set
size), beside the default runs and the paper, at equal budgets: the evidence for the causes that
``docs/reproduction_limits.md`` states.

Every Figure 2 run folder under ``<out>/runs/`` of each output folder given is read as it is
(training nothing); its settings come from the spec its checkpoint holds. One row per run and
budget. Each run read is kept in ``<docs>/reproduction/archive/variants/<out folder name>/<run>/``
(see :mod:`numpyvae.reproduce.archive`), and an archived run whose folder is not found (it trained
on another machine), or is behind its archive, is shown from there. Figure 3 runs (their spec asks
for marginal-likelihood estimates) are left out: they have another model (100 hidden units) and are
measured against the paper's Figure 3, not its Figure 2.
"""
from pathlib import Path

from . import paper
from .archive import cpu_name, newer, read_archive, write_archive
from .compare import fmt, fmt_samples, ours_at
from .records import read_run

SETTINGS = ("seed", "lr", "weight_decay", "init_scale", "n_train")
"""The settings a variant may change; a spec without one had the default of its time."""
DEFAULT_SETTINGS = {"seed": 0, "weight_decay": "1/N", "init_scale": paper.INIT_SCALE, "n_train": None}
BUDGETS = (1_000_000, 10_000_000, 100_000_000)


def variant_runs(outs, archive=None, log=print):
    """``[(label, run)]``, sorted by label (``<out folder name>/<run name>``): every Figure 2 run folder
    with an evaluation under each ``<out>/runs/`` and, given ``archive`` (a folder of
    ``<out folder name>/<run name>/`` archives), every archived run not found there or further on."""
    found, here = {}, cpu_name()
    for out in outs:
        for folder in sorted((Path(out) / "runs").glob("*")):
            run = read_run(folder) if folder.is_dir() else None
            if run is not None and run.get("spec") and not run["spec"].get("ml_points"):
                found[f"{Path(out).name}/{run['name']}"] = dict(run, machine=here, machine_note=None)
    if archive is not None:
        for folder in sorted(Path(archive).glob("*/*")):
            arch = read_archive(folder)
            if arch is not None:
                label = f"{folder.parent.name}/{folder.name}"
                found[label] = newer(found.get(label), arch, log)
    return sorted(found.items())


def archive_variants(runs, archive):
    """Keep every run of ``runs`` (as :func:`variant_runs` returns them) that was read from its run folder."""
    for label, run in runs:
        if not run.get("archived"):
            write_archive(run, Path(archive) / label.split("/")[0])


def setting_of(run, key):
    spec = run["spec"]
    if key == "lr":
        return run["lr"]
    return spec.get(key, DEFAULT_SETTINGS.get(key))


def variant_rows(runs, budgets=BUDGETS):
    """One dict per (run, budget) that the run reached, for ``runs`` as :func:`variant_runs` returns them:
    the run's data, N_z, method and settings, our train and test bounds there and the paper's test bound
    (None where it has no such curve)."""
    rows = []
    for label, run in runs:
        spec = run["spec"]
        for budget in budgets:
            test, status = ours_at(run, "test", budget)
            if status != "ok":
                continue
            train, _ = ours_at(run, "train", budget)
            rows.append({"folder": label, "data": spec["data"], "n_z": spec["nz"],
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
