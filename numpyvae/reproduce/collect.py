"""``collect``: the figures, curves and tables of Figures 2 and 3 from the run folders as they are now.

Nothing trains: every run folder under ``<out>/runs/`` is read as it stands (see
:mod:`numpyvae.reproduce.records`), runs still in progress included and marked with the samples they
have reached. Everything goes to ``<docs>/reproduction/``, from which
:func:`numpyvae.reproduce.report.write_report` assembles ``<docs>/reproduction.md``:

- ``fig2_curves.csv``: ``data,n_z,method,split,samples,bound``, one row per evaluation and split of
  every run shown (the columns of the paper's reference file);
- ``fig2_<data>.png`` (all panels) and ``fig2_<data>_nz<N>.png``: our curves and the paper's (dotted);
- ``fig2_<data>_table.md`` and ``fig2_equal_budget.csv``: ours, the paper's and the difference at 1e6,
  1e7 and 1e8 samples for AEVB train, AEVB test and wake-sleep test;
- ``fig2_lead.md`` and ``fig2_lead.csv``: every panel's AEVB test bound at the largest budget ours and
  the paper's share;
- ``fig3.png``, ``fig3_table.md``, ``fig3_estimates.csv`` (when Figure 3 runs exist);
- ``runs.md``, ``runs.csv``: progress, step size, wall time and machine per run; ``collect.json``: where
  and when this was collected, on what machine, and the machines the runs trained on;
- ``archive/<name>/``: every run shown, its log and settings (:mod:`numpyvae.reproduce.archive`). A run
  whose folder is not under ``<out>`` (it trained on another machine), or is behind its archive, is
  shown from there, so collecting on a new machine loses nothing collected before.
"""
import json
import platform
from datetime import datetime, timezone
from pathlib import Path

from . import compare, paper
from .archive import ARCHIVE, cpu_name, newer, read_archive, write_archive
from .figures import FIG3_DEFAULTS, fig3_specs
from .panels import FIG2_METHODS, render_figure2, render_figure3, run_row
from .records import curve, read_run
from .runs import make_spec, run_dir
from .tables import write_rows

CURVES_COLUMNS = ("data", "n_z", "method", "split", "samples", "bound")
RUN_COLUMNS = ("figure", "data", "n_z", "n_train", "method", "run", "status", "samples", "checkpoint_samples",
               "budget", "lr", "train_time_s", "eval_time_s", "dtype", "version", "machine")


def machine_description():
    """This machine in words: CPU model, cores, OS, Python and NumPy."""
    import numpy as np
    return (f"{cpu_name()}, {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}, NumPy {np.__version__}")


def machine_label(machines, cpu, note):
    """The name under which a run's machine is listed in ``machines`` (label -> note), added if new.

    Runs on one CPU model can have trained under different notes (an earlier machine of the same
    kind, other BLAS kernels or threads): the first note keeps the plain CPU name, each other note gets
    a numbered one, ``"<cpu> (2)"``, ``"<cpu> (3)"``, so that every run's row names its own note."""
    label, k = cpu, 1
    while label in machines and machines[label] != note:
        k += 1
        label = f"{cpu} ({k})"
    machines.setdefault(label, note)
    return label


def collect(out, docs="docs", datasets=("mnist", "frey"), nzs=None, n_trains=(1000, 50000), fig3_data="mnist",
            fig3_hidden=100, machine=None, log=print, **options):
    """Write ``<docs>/reproduction/`` from the run folders under ``<out>`` (see the module docstring).

    ``nzs``: the panels (default: the paper's for each data set); ``options`` the settings that name the
    runs (``hidden``, ``seed``, ``binarize``; defaults: the paper's), as for the ``fig2`` command; Figure 3's
    runs are those of ``fig3_data`` with ``n_trains`` and ``fig3_hidden`` hidden units.
    ``machine``: a note on how the run folders under ``out`` trained (threads, what ran beside them),
    kept with each run's CPU in its archive (default: none). Returns the folder.
    """
    dest = Path(docs) / "reproduction"
    dest.mkdir(parents=True, exist_ok=True)
    curve_rows, eq_rows, lead_rows, run_rows, specs_used, machines = [], [], [], [], {}, {}
    archive_root, here = dest / ARCHIVE, cpu_name()

    def shown(spec):
        """The run of ``spec`` to show: its folder under ``out`` (archived now), else its archive."""
        live = read_run(run_dir(spec))
        if live is not None:
            live.update(machine=here, machine_note=machine)
        run = newer(live, read_archive(archive_root / run_dir(spec).name), log)
        if run is not None:
            if run is live:
                write_archive(run, archive_root)
            run = dict(run, machine=machine_label(machines, run.get("machine") or "not recorded",
                                                  run.get("machine_note")))
        return run
    for data in datasets:
        panels = tuple(nzs) if nzs is not None else paper.FIG2_NZ.get(data)
        if not panels:
            raise ValueError(f"no default N_z for data set {data!r}: pass nzs")
        runs = {(nz, m): shown(make_spec(data, nz, m, 1, out, **options)) for nz in panels for m in FIG2_METHODS}
        result = render_figure2(data, panels, runs, dest, prefix="fig2_")
        eq_rows += result["equal_budget"]
        lead_rows += result["lead"]
        run_rows += [dict(r, figure="fig2") for r in result["runs"]]
        for (nz, m), run in runs.items():
            if run is None:
                continue
            specs_used[run["name"]] = run["spec"]
            for split in ("train", "test"):
                s, b = curve(run["records"], f"{split}_bound")
                curve_rows += [{"data": data, "n_z": nz, "method": m, "split": split, "samples": int(si),
                                "bound": float(bi)} for si, bi in zip(s, b)]
        log(f"{data}: " + (", ".join(f"N_z {nz} {m} at {compare.fmt_samples(r['samples'])} ({r['status']})"
                                     for (nz, m), r in runs.items() if r is not None) or "no runs yet"))
    write_rows(dest / "fig2_curves.csv", curve_rows, CURVES_COLUMNS)
    write_rows(dest / "fig2_equal_budget.csv", eq_rows,
               ("data", "n_z", "method", "split", "samples", "ours", "paper", "diff", "status", "reached"))
    write_rows(dest / "fig2_lead.csv", lead_rows,
               ("data", "n_z", "samples", "status", "ours", "paper", "diff", "target", "verdict"))
    (dest / "fig2_lead.md").write_text(compare.lead_markdown(lead_rows))

    specs = fig3_specs(n_trains, 1, out, data=fig3_data, **dict(options, hidden=fig3_hidden))
    runs3 = {k: shown(spec) for k, spec in specs.items()}
    for name in ("fig3.png", "fig3_table.md", "fig3_estimates.csv"):
        if (dest / name).exists():
            (dest / name).unlink()              # a Figure 3 of runs that are gone is not shown
    if any(r is not None for r in runs3.values()):
        settings = next((r["spec"] for r in runs3.values() if r is not None and r.get("spec")),
                        next(iter(specs.values())))
        settings = {**dict(FIG3_DEFAULTS), **settings}
        result = render_figure3(fig3_data, n_trains, ("aevb", "wake_sleep", "mcem"), runs3, settings,
                                dest / "fig3.png")
        (dest / "fig3_table.md").write_text(result["table"])
        write_rows(dest / "fig3_estimates.csv", result["estimates"],
                   ("n_train", "method", "split", "samples", "estimator", "log_px"))
        for (n, m), r in runs3.items():
            if r is not None:
                run_rows.append(dict(run_row(fig3_data, 3, m, r), figure="fig3", n_train=n))
                specs_used[r["name"]] = r["spec"]
    write_rows(dest / "runs.csv", run_rows, RUN_COLUMNS)
    (dest / "runs.md").write_text(compare.runs_markdown(run_rows))
    (dest / "collect.json").write_text(json.dumps({
        "out": str(out), "collected_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine, "machines": machines, "collected_on": machine_description(),
        "options": options, "runs": specs_used}, indent=1))
    return dest
