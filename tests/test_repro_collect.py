"""collect and report: Figure 2 and 3 from run folders as they are (nothing trains), against the paper.

Two kinds of run folders: logs written here with known values under the paper's MNIST run names
(so the comparison with the paper can be checked number by number), and tiny synthetic runs
trained in tmp_path by the figure commands.
"""
import csv
import json
import math

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from numpyvae import plotting  # noqa: E402
from numpyvae.reproduce import paper  # noqa: E402
from numpyvae.reproduce.cli import main  # noqa: E402
from numpyvae.reproduce.archive import cpu_name, read_archive, write_archive  # noqa: E402
from numpyvae.reproduce.records import read_log_rows, read_run  # noqa: E402

FIELDS = ("samples", "epoch", "wall_time", "train_bound", "test_bound", "batch_bound", "eval_time", "eval_points")


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _write_run(out, name, points, budget=None, done=False, checkpoint_samples=None, lr=0.02):
    """A run folder with a log of ``points`` [(samples, train, test)] and, given a budget, a checkpoint
    holding only the metadata that collect reads."""
    d = out / "runs" / name
    d.mkdir(parents=True)
    lines = [",".join(FIELDS)]
    for i, (s, tr, te) in enumerate(points):
        lines.append(f"{s},{s / 50000},{10.0 * (i + 1)},{tr!r},{te!r},{tr - 1},{1.0 * (i + 1)},50000")
    (d / "log.csv").write_text("\n".join(lines) + "\n")
    if budget is not None:
        meta = {"format": "numpyvae-checkpoint", "extra": {"spec": {"data": "mnist", "pilot": 50000}},
                "model": {"config": {"dtype": "float32"}}, "numpyvae_version": "test",
                "trainer": {"config": {"lr": lr, "max_samples": budget},
                            "state": {"samples": checkpoint_samples or points[-1][0], "done": done}}}
        blob = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        with open(d / "checkpoint.npz", "wb") as f:
            np.savez(f, **{"meta.json": blob})
    return d


def _paper(nz, split, samples, method="aevb"):
    return paper.fig2_value("mnist", nz, method, split, samples)


@pytest.fixture
def mnist_runs(tmp_path):
    """Fake MNIST run folders: N_z = 3 in progress at 6.81e6, N_z = 5 finished at 1e8 within 1 nat of the
    paper, N_z = 10 finished 2 nats below, a wake-sleep run for N_z = 3 at 1e6; the others absent."""
    out = tmp_path / "runs_root"
    pts3 = [(1000, -280.0, -279.0), (1000000, -157.4, -157.0), (4641600, -146.0, -145.5), (6813000, -144.0, -143.8)]
    _write_run(out, "mnist-nz3-h500-aevb", pts3, budget=100000000, checkpoint_samples=8100000)
    pts5 = [(1000, -270.0, -269.0), (1000000, -140.0, -139.0), (4641600, -127.0, -127.0),
            (21544300, -120.0, -121.5), (100000000, -116.0, _paper(5, "test", 1e8) + 0.5)]
    _write_run(out, "mnist-nz5-h500-aevb", pts5, budget=100000000, done=True)
    pts10 = [(1000, -270.0, -269.0), (100000000, -101.0, _paper(10, "test", 1e8) - 2.0)]
    _write_run(out, "mnist-nz10-h500-aevb", pts10, budget=100000000, done=True)
    _write_run(out, "mnist-nz3-h500-wake_sleep", [(1000, -290.0, -289.0), (1000000, -160.0, -159.5)])
    return out


def test_collect_compares_with_the_paper_at_equal_budget(mnist_runs, tmp_path, monkeypatch):
    drawn = {}
    real = plotting.training_curves

    def spy(curves, path, **kw):
        drawn[path.name] = curves
        return real(curves, path, **kw)
    monkeypatch.setattr(plotting, "training_curves", spy)
    docs = tmp_path / "docs"
    before = {p: p.stat().st_mtime_ns for p in mnist_runs.rglob("*")}
    assert main(["collect", "--out", str(mnist_runs), "--docs", str(docs), "--data", "mnist"]) == 0
    assert {p: p.stat().st_mtime_ns for p in mnist_runs.rglob("*")} == before      # run folders untouched
    repro = docs / "reproduction"

    # fig2_curves.csv: exactly the reference file's columns (less its note), one row per evaluation and split
    with open(repro / "fig2_curves.csv", newline="") as f:
        assert next(csv.reader(f)) == ["data", "n_z", "method", "split", "samples", "bound"]
    rows = _rows(repro / "fig2_curves.csv")
    assert len(rows) == 2 * (4 + 5 + 2 + 2)
    nz5 = [r for r in rows if r["n_z"] == "5" and r["split"] == "test"]
    assert [int(r["samples"]) for r in nz5] == [1000, 1000000, 4641600, 21544300, 100000000]
    assert float(nz5[-1]["bound"]) == pytest.approx(_paper(5, "test", 1e8) + 0.5)

    # every panel is drawn, ours solid/dashed, the paper's dotted in the same colour with the reference values
    for nz in paper.FIG2_NZ["mnist"]:
        assert (repro / f"fig2_mnist_nz{nz}.png").stat().st_size > 0
        curves = drawn[f"fig2_mnist_nz{nz}.png"]
        dotted = [c for c in curves if c.get("style") == ":"]
        assert len(dotted) == 4
        for c in dotted:
            method = "aevb" if "AEVB" in c["label"] else "wake_sleep"
            split = "train" if "train" in c["label"] else "test"
            ref_s, ref_b = paper.fig2_curve("mnist", nz, method, split)
            np.testing.assert_array_equal(c["samples"], ref_s)
            np.testing.assert_array_equal(c["bound"], ref_b)
        ours = [c for c in curves if c.get("style") != ":"]
        for c in ours:
            same = [d for d in dotted if d["label"] == f"paper: {c['label']}"]
            assert same and same[0]["color"] == c["color"]
    assert len([c for c in drawn["fig2_mnist_nz3.png"] if c.get("style") != ":"]) == 4
    assert not [c for c in drawn["fig2_mnist_nz20.png"] if c.get("style") != ":"]      # no run: the paper alone
    assert (repro / "fig2_mnist.png").stat().st_size > 0

    # equal budgets: exact at an evaluation, linear in log samples between two, never extrapolated
    eq = {(int(r["n_z"]), r["method"], r["split"], int(r["samples"])): r for r in _rows(repro / "fig2_equal_budget.csv")}
    r = eq[3, "aevb", "test", 1000000]
    assert float(r["ours"]) == -157.0 and float(r["paper"]) == _paper(3, "test", 1e6)
    assert float(r["diff"]) == pytest.approx(-157.0 - _paper(3, "test", 1e6))
    assert eq[3, "aevb", "test", 10000000]["status"] == "not reached" and eq[3, "aevb", "test", 10000000]["ours"] == ""
    w = (math.log10(1e7) - math.log10(4641600)) / (math.log10(21544300) - math.log10(4641600))
    assert float(eq[5, "aevb", "test", 10000000]["ours"]) == pytest.approx(-127.0 + w * (-121.5 + 127.0))
    assert float(eq[5, "aevb", "train", 10000000]["ours"]) == pytest.approx(-127.0 + w * (-120.0 + 127.0))
    assert float(eq[3, "wake_sleep", "test", 1000000]["diff"]) == pytest.approx(
        -159.5 - _paper(3, "test", 1e6, "wake_sleep"))
    assert eq[3, "wake_sleep", "test", 10000000]["status"] == "not reached"
    assert eq[20, "aevb", "test", 1000000]["status"] == "no run"
    table = (repro / "fig2_mnist_table.md").read_text()
    assert "not reached" in table and "| 3 | 1e6 | -157.4 |" in table

    # the lead: the largest budget both curves share, and the 1e8 target
    lead = {int(r["n_z"]): r for r in _rows(repro / "fig2_lead.csv")}
    assert set(lead) == set(paper.FIG2_NZ["mnist"])
    assert int(lead[3]["samples"]) == 6813000 and lead[3]["status"] == "in progress"
    assert float(lead[3]["paper"]) == pytest.approx(_paper(3, "test", 6813000))
    assert float(lead[3]["diff"]) == pytest.approx(-143.8 - _paper(3, "test", 6813000))
    assert lead[3]["verdict"] == "not at 1e8 yet"
    assert lead[5]["verdict"] == "within target" and lead[5]["status"] == "finished"
    assert lead[10]["verdict"] == "misses by 1.0"
    assert lead[20]["verdict"] == "no run"
    runs = {r["run"]: r for r in _rows(repro / "runs.csv")}
    assert runs["mnist-nz3-h500-aevb"]["checkpoint_samples"] == "8100000"
    assert runs["mnist-nz3-h500-wake_sleep"]["status"] == "unknown"           # no checkpoint
    assert float(runs["mnist-nz5-h500-aevb"]["train_time_s"]) == pytest.approx(50.0 - 5.0)

    # the report leads with that table, and says what falls short with the same numbers
    (docs / "reproduction_limits.md").write_text("### Why\n\n- TODO(maintainers): causes.\n")
    assert main(["report", "--out", str(tmp_path / "nothing"), "--docs", str(docs)]) == 0
    text = (docs / "reproduction.md").read_text()
    first = text.index("## ")
    assert text[first:].startswith("## Figure 2 at a glance")
    assert text.index("| MNIST | 3 | 6.81e6 | in progress | -143.8 |") < text.index("## Figure 2: our curves")
    assert "reproduction/fig2_mnist.png" in text and "reproduction/fig2_curves.csv" in text
    assert "1 of 5 panels within target" in text and "MNIST N_z = 10 misses" in text
    assert "No run yet: MNIST N_z = 20, MNIST N_z = 200" in text
    assert text.index("## Wall time per run") < text.index("## What falls short") < text.index("TODO(maintainers)")


def test_a_log_being_written_is_read_to_its_last_complete_line(tmp_path):
    d = _write_run(tmp_path, "mnist-nz3-h500-aevb", [(1000, -280.0, -279.0), (1500, -250.0, -249.0)])
    with open(d / "log.csv", "a") as f:
        f.write("2200,0.044,8.8")                                     # no newline yet
    assert [r["samples"] for r in read_log_rows(d / "log.csv")] == [1000, 1500]
    run = read_run(d)
    assert run["samples"] == 1500 and run["status"] == "unknown" and run["lr"] is None
    assert read_run(tmp_path / "runs" / "absent") is None


def test_collect_and_report_from_tiny_synthetic_runs(tmp_path):
    out, docs = str(tmp_path / "out"), tmp_path / "docs"
    common = ["--hidden", "8", "--lr", "0.05", "--out", out]
    assert main(["fig2", "--data", "synthetic", "--nz", "2", "--budget", "2000"] + common) == 0
    assert main(["fig3", "--data", "synthetic", "--n-train", "200", "--budget", "1000", "--ml-points", "5",
                 "--is-samples", "20", "--hmc-samples", "5", "--hmc-burnin", "5", "--ml-evals", "2"] + common) == 0
    assert main(["collect", "--out", out, "--docs", str(docs), "--data", "synthetic", "--nz", "2", "--hidden", "8",
                 "--fig3-data", "synthetic", "--fig3-hidden", "8", "--n-train", "200", "--machine", "a test machine"]) == 0
    repro = docs / "reproduction"
    logs = {m: read_log_rows(tmp_path / "out" / "runs" / f"synthetic-nz2-h8-{m}" / "log.csv")
            for m in ("aevb", "wake_sleep")}
    rows = _rows(repro / "fig2_curves.csv")
    assert len(rows) == 2 * sum(len(v) for v in logs.values())
    aevb_test = [r for r in rows if (r["method"], r["split"]) == ("aevb", "test")]
    assert [int(r["samples"]) for r in aevb_test] == [r["samples"] for r in logs["aevb"]]
    assert [float(r["bound"]) for r in aevb_test] == [r["test_bound"] for r in logs["aevb"]]
    assert (repro / "fig2_synthetic.png").exists() and (repro / "fig2_synthetic_nz2.png").exists()
    assert "| 2 | 1e6 | not reached |" in (repro / "fig2_synthetic_table.md").read_text()
    est = _rows(repro / "fig3_estimates.csv")
    assert {r["method"] for r in est} == {"aevb", "wake_sleep", "mcem"}
    assert {r["estimator"] for r in est if r["method"] == "mcem"} == {"hmc"}
    # the estimates along training: one column per estimated sample count, each cell train / test
    table3 = (repro / "fig3_table.md").read_text().split("along training")[1]
    counts = sorted({int(r["samples"]) for r in est})
    aevb_row = next(line for line in table3.splitlines() if line.startswith("| 200 | AEVB |"))
    hmc = {(int(r["samples"]), r["split"]): float(r["log_px"]) for r in est
           if (r["method"], r["estimator"]) == ("aevb", "hmc")}
    assert aevb_row.strip("| ").split(" | ")[2:] == [f"{hmc[(c, 'train')]:.1f} / {hmc[(c, 'test')]:.1f}"
                                                     for c in counts]
    assert (repro / "fig3.png").exists()
    runs = {r["run"]: r for r in _rows(repro / "runs.csv")}
    assert runs["synthetic-nz2-h8-aevb"]["status"] == "finished" and runs["synthetic-nz2-h8-aevb"]["samples"] == "2000"
    assert {r["figure"] for r in runs.values()} == {"fig2", "fig3"}
    assert json.loads((repro / "collect.json").read_text())["machine"] == "a test machine"
    assert "--machine 'a test machine'" in (repro / "command.txt").read_text()      # quoted: it runs as shown

    assert main(["report", "--out", out, "--docs", str(docs)]) == 0
    text = (docs / "reproduction.md").read_text()
    assert "## Figure 3" in text and "reproduction/fig3.png" in text and "## Monte Carlo EM" in text
    assert f"- {cpu_name()}: a test machine" in text and "synthetic-nz2-h8-wake_sleep" in text

    # fig2 --no-train draws the runs as they are: a larger budget trains nothing and keeps the command
    command = (tmp_path / "out" / "fig2" / "synthetic" / "command.txt").read_text()
    assert main(["fig2", "--data", "synthetic", "--nz", "2", "--budget", "5000", "--no-train"] + common) == 0
    assert read_log_rows(tmp_path / "out" / "runs" / "synthetic-nz2-h8-aevb" / "log.csv")[-1]["samples"] == 2000
    assert (tmp_path / "out" / "fig2" / "synthetic" / "command.txt").read_text() == command


def test_report_keeps_sections_whose_figure_folders_are_gone(tmp_path):
    out, docs = tmp_path / "out", tmp_path / "docs"
    assert main(["fig5", "--data", "synthetic", "--nz", "2", "--budget", "500", "--hidden", "8", "--lr", "0.05",
                 "--out", str(out)]) == 0
    assert main(["report", "--out", str(out), "--docs", str(docs)]) == 0
    assert "## Figure 5" in (docs / "reproduction.md").read_text()
    assert main(["report", "--out", str(tmp_path / "elsewhere"), "--docs", str(docs)]) == 0
    text = (docs / "reproduction.md").read_text()
    assert "## Figure 5" in text and "figures/reproduction/fig5_synthetic_nz2_samples.png" in text


def test_report_says_when_figure3_is_collected_without_an_mcem_run(tmp_path):
    out, docs = str(tmp_path / "out"), tmp_path / "docs"
    common = ["--hidden", "8", "--lr", "0.05", "--out", out]
    assert main(["fig3", "--data", "synthetic", "--n-train", "200", "--methods", "aevb", "--budget", "1000",
                 "--ml-points", "5", "--is-samples", "20", "--hmc-samples", "5", "--hmc-burnin", "5",
                 "--ml-evals", "1"] + common) == 0
    assert main(["collect", "--out", out, "--docs", str(docs), "--data", "synthetic", "--nz", "2", "--hidden", "8",
                 "--fig3-data", "synthetic", "--fig3-hidden", "8", "--n-train", "200"]) == 0
    assert {r["method"] for r in _rows(docs / "reproduction" / "fig3_estimates.csv")} == {"aevb"}
    assert main(["report", "--out", out, "--docs", str(docs)]) == 0
    mcem = (docs / "reproduction.md").read_text().split("## Monte Carlo EM")[1]
    assert "No Monte Carlo EM run has been collected yet" in mcem
    assert "MCEM rows of the Figure 3 table" not in mcem


# ------------------------------------------------------------------------------ the archive: runs on other machines
_SHOWN = ("fig2_curves.csv", "fig2_equal_budget.csv", "fig2_mnist_table.md")


def test_collect_keeps_the_runs_whose_folders_are_on_another_machine(mnist_runs, tmp_path):
    docs = tmp_path / "docs"
    assert main(["collect", "--out", str(mnist_runs), "--docs", str(docs), "--data", "mnist",
                 "--machine", "first machine, one thread per run"]) == 0
    repro = docs / "reproduction"
    first = {name: (repro / name).read_text() for name in _SHOWN}
    archived = sorted(p.name for p in (repro / "archive").iterdir())
    assert archived == ["mnist-nz10-h500-aevb", "mnist-nz3-h500-aevb", "mnist-nz3-h500-wake_sleep",
                        "mnist-nz5-h500-aevb"]
    # a new machine: the run folders are gone, the collected results are not
    assert main(["collect", "--out", str(tmp_path / "new-machine"), "--docs", str(docs), "--data", "mnist"]) == 0
    now = {name: (repro / name).read_text() for name in _SHOWN}
    first["fig2_mnist_table.md"] = first["fig2_mnist_table.md"].replace("in progress", "stopped").replace(
        "unknown", "stopped")                                              # only their status changes
    assert now == first
    runs = {r["run"]: r for r in _rows(repro / "runs.csv")}
    assert runs["mnist-nz5-h500-aevb"]["status"] == "finished"
    assert runs["mnist-nz3-h500-aevb"]["status"] == "stopped"              # short of its budget, checkpoint elsewhere
    assert runs["mnist-nz3-h500-aevb"]["checkpoint_samples"] == "8100000"
    assert float(runs["mnist-nz5-h500-aevb"]["train_time_s"]) == pytest.approx(50.0 - 5.0)
    assert {r["machine"] for r in runs.values()} == {cpu_name()}
    lead = {int(r["n_z"]): r for r in _rows(repro / "fig2_lead.csv")}
    assert lead[3]["status"] == "stopped" and lead[5]["verdict"] == "within target"
    machines = json.loads((repro / "collect.json").read_text())["machines"]
    assert machines == {cpu_name(): "first machine, one thread per run"}
    assert main(["report", "--out", str(tmp_path / "nothing"), "--docs", str(docs)]) == 0
    assert f"- {cpu_name()}: first machine, one thread per run" in (docs / "reproduction.md").read_text()


def test_runs_on_one_cpu_under_different_notes_are_listed_apart(mnist_runs, tmp_path):
    """A later machine of the same CPU kind (other kernels, threads): its runs name their own note."""
    docs, later = tmp_path / "docs", tmp_path / "later"
    assert main(["collect", "--out", str(mnist_runs), "--docs", str(docs), "--data", "mnist",
                 "--machine", "kernels A, one thread per run"]) == 0
    _write_run(later, "mnist-nz20-h500-aevb", [(1000, -265.0, -264.0), (1000000, -120.0, -119.5)], budget=100000000)
    assert main(["collect", "--out", str(later), "--docs", str(docs), "--data", "mnist",
                 "--machine", "kernels B, two threads"]) == 0
    repro = docs / "reproduction"
    machines = json.loads((repro / "collect.json").read_text())["machines"]
    assert machines == {cpu_name(): "kernels A, one thread per run", f"{cpu_name()} (2)": "kernels B, two threads"}
    runs = {r["run"]: r["machine"] for r in _rows(repro / "runs.csv")}
    assert runs.pop("mnist-nz20-h500-aevb") == f"{cpu_name()} (2)"
    assert set(runs.values()) == {cpu_name()} and len(runs) == 4
    assert read_archive(repro / "archive" / "mnist-nz20-h500-aevb")["machine"] == cpu_name()  # the CPU, as read
    assert main(["report", "--out", str(tmp_path / "nothing"), "--docs", str(docs)]) == 0
    text = (docs / "reproduction.md").read_text()
    assert f"- {cpu_name()}: kernels A, one thread per run" in text
    assert f"- {cpu_name()} (2): kernels B, two threads" in text
    assert f"| {cpu_name()} (2) |" in (repro / "runs.md").read_text()


def test_a_run_started_again_shows_its_archive_until_it_passes_it(mnist_runs, tmp_path, capsys):
    docs, again = tmp_path / "docs", tmp_path / "again"
    assert main(["collect", "--out", str(mnist_runs), "--docs", str(docs), "--data", "mnist"]) == 0
    repro = docs / "reproduction"

    def shown_nz3():
        return [(int(r["samples"]), float(r["bound"])) for r in _rows(repro / "fig2_curves.csv")
                if (r["n_z"], r["method"], r["split"]) == ("3", "aevb", "test")]
    before = shown_nz3()
    assert before[-1] == (6813000, -143.8)
    _write_run(again, "mnist-nz3-h500-aevb", [(1000, -281.0, -280.0), (1000000, -158.0, -157.9)], budget=100000000)
    assert main(["collect", "--out", str(again), "--docs", str(docs), "--data", "mnist"]) == 0
    assert shown_nz3() == before
    assert "showing the archive until the run passes it" in capsys.readouterr().out
    assert read_archive(repro / "archive" / "mnist-nz3-h500-aevb")["samples"] == 6813000   # not overwritten
    # once the new run has passed its archive it is shown, and archived in its place
    (again / "runs" / "mnist-nz3-h500-aevb" / "log.csv").unlink()
    (again / "runs" / "mnist-nz3-h500-aevb" / "checkpoint.npz").unlink()
    (again / "runs" / "mnist-nz3-h500-aevb").rmdir()
    _write_run(again, "mnist-nz3-h500-aevb", [(1000, -281.0, -280.0), (10000000, -140.0, -139.9)], budget=100000000)
    assert main(["collect", "--out", str(again), "--docs", str(docs), "--data", "mnist"]) == 0
    assert shown_nz3() == [(1000, -280.0), (10000000, -139.9)]
    arch = read_archive(repro / "archive" / "mnist-nz3-h500-aevb")
    assert arch["samples"] == 10000000 and arch["status"] == "stopped"


def test_an_archived_run_reads_back_as_it_was_written(tmp_path):
    d = _write_run(tmp_path, "mnist-nz5-h500-aevb", [(1000, -270.123456789012, -269.5), (2000, 0.1 + 0.2, -1e-300)],
                   budget=2000, done=True)
    run = dict(read_run(d), machine="m", machine_note=None)
    back = read_archive(write_archive(run, tmp_path / "archive"))
    assert back["records"] == run["records"]                               # floats exactly, wall_s included
    for k in ("lr", "budget", "checkpoint_samples", "done", "status", "version", "dtype", "samples", "machine"):
        assert back[k] == run[k], k
    assert back["archived"] is True and read_archive(tmp_path / "archive" / "absent") is None
    (tmp_path / "archive" / "mnist-nz5-h500-aevb" / "run.json").write_text("{not json")
    with pytest.raises(ValueError, match="run.json is not valid JSON"):
        read_archive(tmp_path / "archive" / "mnist-nz5-h500-aevb")
