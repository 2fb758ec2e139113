"""The paper's Figure 2 values: the packaged copy of the reference file, and reading its curves."""
import csv
import math
from pathlib import Path

import pytest

from numpyvae.reproduce import paper

SHARED_REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "kingma_welling_2013_fig2.csv"


def test_packaged_copy_equals_the_shared_reference_file():
    if not SHARED_REFERENCE.is_file():
        pytest.skip(f"no reference file at {SHARED_REFERENCE}")
    with open(SHARED_REFERENCE, newline="") as f:
        shared = list(csv.DictReader(f))
    with open(paper.FIG2_CSV, newline="") as f:
        packaged = list(csv.DictReader(f))
    assert packaged == shared
    assert paper.FIG2_CSV.read_text().splitlines() == SHARED_REFERENCE.read_text().splitlines()


def test_reference_covers_every_panel_and_curve():
    rows = paper.fig2_reference()
    assert tuple(rows[0]) == paper.FIG2_COLUMNS
    for data, nzs in paper.FIG2_NZ.items():
        for nz in nzs:
            for method in ("aevb", "wake_sleep"):
                for split in ("train", "test"):
                    s, b = paper.fig2_curve(data, nz, method, split)
                    assert list(s) == sorted(s) and set(s) <= set(paper.FIG2_BUDGETS)
                    assert s[-1] == 1e8 and len(s) >= 6        # a few early points are absent
    assert {(r["data"], r["n_z"]) for r in rows} == {(d, n) for d, ns in paper.FIG2_NZ.items() for n in ns}
    assert paper.fig2_curve("mnist", 4, "aevb", "test") is None
    assert paper.fig2_curve("synthetic", 2, "aevb", "test") is None


def test_the_values_the_report_relies_on():
    # Frey Face wake-sleep: the test curve ends near 569, the train curve near 579
    for nz in paper.FIG2_NZ["frey"]:
        assert abs(paper.fig2_value("frey", nz, "wake_sleep", "test", 1e8) - 569) < 1
        assert abs(paper.fig2_value("frey", nz, "wake_sleep", "train", 1e8) - 579) < 1
    assert paper.fig2_value("mnist", 3, "aevb", "test", 1e8) == -133.4
    assert paper.fig2_value("frey", 2, "aevb", "train", 1e5) == 239.0


def test_log_interp_is_linear_in_log_samples_and_never_extrapolates():
    s, v = (1e5, 1e6, 1e7), (-200.0, -150.0, -130.0)
    assert paper.log_interp(s, v, 1e6) == -150.0
    assert paper.log_interp(s, v, math.sqrt(1e6 * 1e7)) == pytest.approx(-140.0)
    assert paper.log_interp(s, v, 3e6) == pytest.approx(-150.0 + 20.0 * math.log10(3))
    assert paper.log_interp(s, v, 9.9e4) is None
    assert paper.log_interp(s, v, 1.01e7) is None
    assert paper.log_interp((), (), 1e6) is None
    # the paper's curve between two of its points is the straight line in log x
    a, b = paper.fig2_value("mnist", 20, "aevb", "test", 1e7), paper.fig2_value("mnist", 20, "aevb", "test", 3e7)
    assert paper.fig2_value("mnist", 20, "aevb", "test", math.sqrt(3e14)) == pytest.approx((a + b) / 2)
