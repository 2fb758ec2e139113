"""CSV files of rows with fixed columns, as the reproduction writes its results and reads them back."""
import csv
from pathlib import Path


def write_rows(path, rows, columns):
    """A CSV with exactly ``columns`` (missing values empty, floats as Python writes them)."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: "" if r.get(k) is None else r[k] for k in columns})


def read_rows(path):
    """A CSV written by :func:`write_rows` as a list of dicts of strings ([] when absent)."""
    if not Path(path).is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
