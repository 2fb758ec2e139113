"""The training log: one record per evaluation, written as CSV or JSON lines.

Columns: ``samples`` (training samples evaluated so far), ``epoch`` (fractional), ``wall_time``
(seconds of training, evaluation included, summed over every resumed part), ``train_bound`` and
``test_bound`` (mean ELBO per datapoint on the evaluation subsets, on the whole sets in the final
record; empty when not computed) and
``batch_bound`` (minus the mean minibatch loss of the steps since the previous record: the mean
minibatch ELBO for SGVB), ``eval_time`` (seconds spent evaluating, included in ``wall_time``).
Values recorded by a custom evaluator (the reproduction's marginal-likelihood estimates, ...)
follow as further columns; the file is rewritten with a wider header when a record brings a new one.
"""
import csv
import json
import math
from pathlib import Path

from .files import atomic_write_text

__all__ = ["LOG_FIELDS", "TrainingLog", "read_log"]

LOG_FIELDS = ("samples", "epoch", "wall_time", "train_bound", "test_bound", "batch_bound", "eval_time")


def _format(value):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return repr(value) if isinstance(value, float) else str(value)


class TrainingLog:
    """Writes records to ``path`` (``.csv`` or ``.jsonl``), the whole file at each record.

    Every write goes through a synced temporary file and a rename, so the file always holds whole
    records, never a torn last line. Creating a log rewrites the file with ``records`` (the history
    so far, e.g. from a checkpoint), so a resumed run's log never holds records past its checkpoint.
    """

    def __init__(self, path, records=()):
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in (".csv", ".jsonl"):
            raise ValueError(f"log file must end in .csv or .jsonl, got {self.path.name!r}")
        self.format = suffix[1:]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.records = [dict(r) for r in records]
        self.fields = _fields(self.records)
        self._rewrite()

    def _rewrite(self):
        head = ",".join(self.fields) + "\n" if self.format == "csv" else ""
        atomic_write_text(self.path, head + "".join(self._line(record) for record in self.records))

    def _line(self, record):
        if self.format == "csv":
            return ",".join(_format(record.get(k)) for k in self.fields) + "\n"
        return json.dumps({k: record.get(k) for k in self.fields if k in LOG_FIELDS or k in record}) + "\n"

    def write(self, record):
        self.records.append(dict(record))
        self.fields = _fields(self.records)                          # a new column widens the header
        self._rewrite()


def _fields(records):
    fields = list(LOG_FIELDS)
    for r in records:
        fields += [k for k in r if k not in fields and _loggable(r[k])]
    return tuple(fields)


def _loggable(value):
    return value is None or isinstance(value, (int, float, str))


def read_log(path):
    """Read a log written by :class:`TrainingLog`: a list of dicts (missing values are None).

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        When the file is not a training log.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no training log at {path}")
    records = []
    if path.suffix.lower() == ".jsonl":
        for i, line in enumerate(path.read_text().splitlines()):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}: line {i + 1} is not JSON ({exc})") from None
        return records
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or "samples" not in reader.fieldnames:
            raise ValueError(f"{path} is not a training log (no 'samples' column)")
        for row in reader:
            rec = {}
            for k, v in row.items():
                if v in ("", None):
                    rec[k] = None
                elif k == "samples":
                    rec[k] = int(v)
                else:
                    rec[k] = float(v)
            records.append(rec)
    return records
