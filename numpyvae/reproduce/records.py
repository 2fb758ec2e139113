"""What a run folder holds, read without training: its log, its step size, its budget and progress.

A run folder (``<out>/runs/<name>/``, see :mod:`numpyvae.reproduce.runs`) may belong to a run that is
training right now: its ``log.csv`` can end in a half-written line and its checkpoint is replaced
atomically every few minutes. Everything here only reads, and reads what is complete.
"""
import csv
import io
import json
import math
from pathlib import Path

import numpy as np


def read_log_rows(path):
    """The complete rows of a training log (``log.csv``) as dicts of floats (``samples`` an int; empty
    cells None), in increasing ``samples`` with one row per sample count (the last one written wins).
    A last line without its newline (being written) is left out. A missing file gives []."""
    path = Path(path)
    if not path.is_file():
        return []
    text = path.read_text()
    if text and not text.endswith("\n"):
        text = text[:text.rfind("\n") + 1]                  # the last line is still being written
    rows = {}
    for row in csv.DictReader(io.StringIO(text)):
        try:
            rec = {k: (None if v in ("", None) else float(v)) for k, v in row.items() if k is not None}
            if rec.get("samples") is None:
                continue
            rec["samples"] = int(rec["samples"])
        except ValueError:
            continue
        rows[rec["samples"]] = rec
    return [rows[s] for s in sorted(rows)]


def read_meta(path):
    """The JSON metadata of a checkpoint (``checkpoint.npz``) without loading its arrays; None when
    there is none (yet) or it cannot be read."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            return json.loads(npz["meta.json"].tobytes().decode("utf-8"))
    except Exception:                                          # a damaged or foreign file: no metadata
        return None


def _finite(v):
    return v is not None and math.isfinite(v)


def add_wall_times(records):
    """Set ``wall_s`` (training time so far: ``wall_time`` less ``eval_time``) on each record that has a
    ``wall_time``; returns ``records``."""
    for r in records:
        if _finite(r.get("wall_time")):
            r["wall_s"] = round(r["wall_time"] - (r.get("eval_time") or 0.0), 2)
    return records


def read_run(folder):
    """A run folder as a dict, or None when it has no evaluation yet.

    Keys: ``name``; ``records`` (the log's rows, each with ``wall_s``: training time so far, evaluation
    excluded); ``spec`` (the run's settings, from its checkpoint; None without one); ``lr`` (from the
    checkpoint, else ``lr_selection.json``; None if neither); ``budget`` (the samples it was asked to
    train to), ``checkpoint_samples`` and ``done`` (from the checkpoint; None without one);
    ``samples`` (of the last evaluation); ``status``: "finished", "in progress" (the checkpoint is short
    of its budget: training, or stopped and resumable) or "unknown" (no checkpoint).
    """
    folder = Path(folder)
    records = read_log_rows(folder / "log.csv")
    if not records:
        return None
    add_wall_times(records)
    meta = read_meta(folder / "checkpoint.npz")
    trainer = (meta or {}).get("trainer") or {}
    config, state = trainer.get("config") or {}, trainer.get("state") or {}
    lr = config.get("lr")
    if lr is None and (folder / "lr_selection.json").is_file():
        try:
            lr = json.loads((folder / "lr_selection.json").read_text())["lr"]
        except (ValueError, KeyError):
            lr = None
    budget = config.get("max_samples")
    done = state.get("done") if meta else None
    if meta is None:
        status = "unknown"
    elif done or (budget is not None and records[-1]["samples"] >= budget):
        status = "finished"
    else:
        status = "in progress"
    return {"name": folder.name, "records": records, "spec": ((meta or {}).get("extra") or {}).get("spec"),
            "lr": None if lr is None else float(lr), "budget": budget,
            "checkpoint_samples": state.get("samples"), "done": done, "samples": records[-1]["samples"],
            "status": status, "version": (meta or {}).get("numpyvae_version"),
            "dtype": ((meta or {}).get("model") or {}).get("config", {}).get("dtype")}


def curve(records, key):
    """``(samples, values)`` arrays of the records where ``key`` is a finite number."""
    pts = [(r["samples"], r[key]) for r in records if _finite(r.get(key))]
    return (np.array([p[0] for p in pts], dtype=float), np.array([p[1] for p in pts], dtype=float))
