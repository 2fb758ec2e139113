"""The committed report is the one its committed files give.

``docs/reproduction.md`` is written by ``python -m numpyvae.reproduce report`` from
``docs/reproduction/`` (tables, curves, figures, archive) and ``docs/reproduction_limits.md``. An edit
to those files without running ``report`` again leaves the page behind them; this test finds that.
"""
import shutil
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from numpyvae.reproduce.report import write_report  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_committed_report_is_what_report_writes_from_the_committed_files(tmp_path):
    if not (DOCS / "reproduction" / "collect.json").exists():
        pytest.skip("no collected reproduction in this checkout")
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    write_report(tmp_path / "no-figure-output", docs)
    written = (docs / "reproduction.md").read_text().splitlines()
    committed = (DOCS / "reproduction.md").read_text().splitlines()
    differing = [i + 1 for i, (a, b) in enumerate(zip(written, committed)) if a != b]
    assert (len(written), differing[:5]) == (len(committed), []), (
        "docs/reproduction.md is not what `python -m numpyvae.reproduce report --docs docs` writes now: "
        "run it and commit the page")
