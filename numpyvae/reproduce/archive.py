"""Results that outlive the machine: each collected run's evaluation log and settings, kept with the report.

A run folder (``<out>/runs/<name>/``: checkpoint, log) lives on the machine that trained it. When the
reproduction moves to another machine the folder stays behind, but what it showed must not be lost.
So :func:`numpyvae.reproduce.collect.collect` keeps, for every run it shows,

- ``<docs>/reproduction/archive/<name>/log.csv``: the log's complete rows, as in the run folder;
- ``<docs>/reproduction/archive/<name>/run.json``: what :func:`numpyvae.reproduce.records.read_run`
  read from the checkpoint (settings, step size, budget, progress, status) and the machine it trained on,

and shows the archive of a run whose folder is missing here, or whose folder is behind its archive (a
run started again on a new machine shows its archive until it passes it). The archive is results only:
it holds no parameters, and nothing in it can resume a run; a run stopped short of its budget on
another machine is shown as "stopped".
"""
import json
import os
import platform
from pathlib import Path

from .records import add_wall_times, read_log_rows
from .tables import write_rows

ARCHIVE = "archive"                                     # the folder under <docs>/reproduction/
RUN_KEYS = ("name", "spec", "lr", "budget", "checkpoint_samples", "done", "status", "version", "dtype",
            "machine", "machine_note")
STOPPED = "stopped"                                     # short of its budget, its checkpoint elsewhere


def cpu_name():
    """This machine's CPU model and core count, e.g. "AMD EPYC, 2 cores" (the ``machine`` of its runs)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores"


def _log_columns(records):
    """The columns of ``records`` in the order they first appear (the derived ``wall_s`` left out)."""
    cols = {}
    for r in records:
        cols.update((k, None) for k in r if k != "wall_s")
    return list(cols)


def write_archive(run, root):
    """Keep ``run`` (as :func:`numpyvae.reproduce.records.read_run` returns it, with ``machine`` and
    ``machine_note`` set) under ``<root>/<name>/``. Returns that folder."""
    folder = Path(root) / run["name"]
    folder.mkdir(parents=True, exist_ok=True)
    write_rows(folder / "log.csv", run["records"], _log_columns(run["records"]))
    (folder / "run.json").write_text(json.dumps({k: run.get(k) for k in RUN_KEYS}, indent=1) + "\n")
    return folder


def read_archive(folder):
    """The archived run in ``folder`` as :func:`numpyvae.reproduce.records.read_run` returns a run folder
    (plus ``machine``, ``machine_note`` and ``archived``: True), or None when there is none. A run that
    had not finished is "stopped": its checkpoint is not here to resume."""
    folder = Path(folder)
    records = read_log_rows(folder / "log.csv")
    if not records or not (folder / "run.json").is_file():
        return None
    try:
        meta = json.loads((folder / "run.json").read_text())
    except ValueError as e:
        raise ValueError(f"{folder / 'run.json'} is not valid JSON ({e}): restore it from version control") from None
    run = {k: meta.get(k) for k in RUN_KEYS}
    run.update(name=folder.name, records=add_wall_times(records), samples=records[-1]["samples"], archived=True,
               status="finished" if meta.get("status") == "finished" else STOPPED)
    return run


def newer(live, archived, log=print):
    """The run to show: the run folder here (``live``) unless it is missing or behind its archive."""
    if live is None:
        return archived
    if archived is not None and live["samples"] < archived["samples"]:
        log(f"{live['name']}: the run folder here is at {live['samples']:,} samples, its archive at "
            f"{archived['samples']:,}: showing the archive until the run passes it")
        return archived
    return live
