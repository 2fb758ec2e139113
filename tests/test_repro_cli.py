"""The figure commands end to end on the tiny built-in data set (real data: see docs/reproduction.md)."""
import csv
import shutil

import pytest

pytest.importorskip("matplotlib")

from numpyvae.reproduce.cli import main  # noqa: E402


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_fig2_writes_figures_tables_and_resumes_to_a_larger_budget(tmp_path, capsys):
    args = ["fig2", "--data", "synthetic", "--nz", "2,3", "--hidden", "8", "--lr", "0.05", "--out", str(tmp_path)]
    assert main(args + ["--budget", "2000"]) == 0
    fig = tmp_path / "fig2"
    for name in ("synthetic.png", "synthetic_nz2.png", "synthetic_nz3.png", "synthetic_table.md"):
        assert (fig / name).stat().st_size > 0
    rows = _rows(fig / "synthetic_curves.csv")
    assert {r["method"] for r in rows} == {"aevb", "wake_sleep"}
    assert max(int(r["samples"]) for r in rows) == 2000
    table = (fig / "synthetic_table.md").read_text()
    assert "| 2 |" in table and "| 3 |" in table
    assert main(args + ["--budget", "3000"]) == 0                        # extends the same runs
    rows = _rows(fig / "synthetic_curves.csv")
    assert max(int(r["samples"]) for r in rows) == 3000
    assert sorted(int(r["samples"]) for r in rows if r["method"] == "aevb" and r["nz"] == "2")[:2] == [1000, 1500]
    assert "fig2 --data synthetic" in (fig / "synthetic" / "command.txt").read_text()


def test_a_run_resumed_with_other_blas_settings_notes_it_in_its_log(tmp_path, capsys):
    from numpyvae.training.checkpoint import read_checkpoint, write_checkpoint

    args = ["fig2", "--data", "synthetic", "--nz", "2", "--methods", "aevb", "--hidden", "8", "--lr", "0.05",
            "--out", str(tmp_path)]
    assert main(args + ["--budget", "2000"]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert "note: the BLAS" not in (run / "worker.log").read_text() + capsys.readouterr().out
    meta, arrays = read_checkpoint(run / "checkpoint.npz")
    write_checkpoint(run / "checkpoint.npz", dict(meta, blas={"kernels": "Prescott", "threads": 7}), arrays)
    assert main(args + ["--budget", "3000"]) == 0
    said = capsys.readouterr()
    note = "note: the BLAS runs"
    assert note in said.out and "saved with Prescott kernels on 7 thread(s)" in said.out
    assert note in (run / "worker.log").read_text()
    assert "RuntimeWarning" not in said.err                             # said once, in the run's log
    assert max(int(r["samples"]) for r in _rows(run / "log.csv")) == 3000


def test_fig3_fig4_fig5_fullvb_and_report(tmp_path):
    out = str(tmp_path / "out")
    common = ["--hidden", "8", "--lr", "0.05", "--out", out]
    assert main(["fig3", "--data", "synthetic", "--n-train", "200", "--budget", "1000", "--ml-points", "5",
                 "--is-samples", "20", "--hmc-samples", "5", "--hmc-burnin", "5", "--ml-evals", "2"] + common) == 0
    rows = _rows(tmp_path / "out" / "fig3" / "curves.csv")
    assert {r["method"] for r in rows} == {"aevb", "wake_sleep", "mcem"}
    assert all(r["test_ml_hmc"] for r in rows)
    assert all(r["test_ml_is"] for r in rows if r["method"] != "mcem")
    assert main(["fig4", "--data", "synthetic", "--budget", "500"] + common) == 0
    assert (tmp_path / "out" / "fig4" / "synthetic_manifold.png").exists()
    assert main(["fig5", "--data", "synthetic", "--nz", "2,3", "--budget", "500"] + common) == 0
    assert (tmp_path / "out" / "fig5" / "synthetic_nz3_samples.png").exists()
    assert main(["fullvb", "--data", "synthetic", "--nz", "2", "--budget", "500"] + common) == 0
    assert main(["ae", "--data", "synthetic", "--nz", "2", "--budget", "500"] + common) == 0
    ae_table = (tmp_path / "out" / "ae" / "synthetic_table.md").read_text()
    assert "| 2 |" in ae_table and "AE -log p(x given xhat)" in ae_table
    assert (tmp_path / "out" / "ae" / "synthetic_nz2_reconstructions.png").exists()
    docs = tmp_path / "docs"
    assert main(["report", "--out", out, "--docs", str(docs)]) == 0
    text = (docs / "reproduction.md").read_text()
    assert "## Figure 3" in text and "Full VB" in text and "figures/reproduction/fig3_fig3.png" in text
    assert (docs / "figures" / "reproduction" / "fig3_fig3.png").exists()


def test_bad_arguments_are_refused(capsys):
    assert main(["fig2", "--budget", "lots"]) == 2
    assert "number of samples" in capsys.readouterr().err
    assert main(["fig2", "--data", "synthetic", "--budget", "1000"]) == 2       # no default N_z for it


@pytest.mark.parametrize("args,message", [
    (["fig2", "--bud", "1000"], "unrecognized arguments: --bud"),              # no abbreviations
    (["fig3", "--is-sam", "10"], "unrecognized arguments: --is-sam"),
    (["fig2", "--seed", "-1"], "argument --seed: must be an integer >= 0, got '-1'"),
    (["fig2", "--nz", "0,3"], "argument --nz: must be an integer >= 1, got '0'"),
    (["fig3", "--hmc-burnin", "-5"], "argument --hmc-burnin: must be an integer >= 0"),
    (["fig3", "--is-samples", "1.5"], "argument --is-samples: must be an integer >= 1"),
    (["fullvb", "--nz", "0"], "argument --nz: must be an integer >= 1"),
    (["fig2", "--methods", "aevb,mcem"], "argument --methods: expected methods of Figure 2 (aevb, wake_sleep)"),
    (["fig2", "--init-scale", "0"], "argument --init-scale: must be a finite number > 0, got '0'"),
    (["fig2", "--weight-decay", "-0.1"], "argument --weight-decay: the weight decay must be a finite number >= 0"),
    (["fig2", "--weight-decay", "tau"], "argument --weight-decay: expected '1/N' or a number >= 0, got 'tau'"),
])
def test_every_flag_is_checked_where_it_is_parsed(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err



@pytest.mark.parametrize("exc,status", [(ValueError("no such folder"), 2), (OSError("disk full"), 2),
                                        (KeyboardInterrupt(), 130)])
def test_errors_outside_the_runs_are_one_line_messages(monkeypatch, capsys, exc, status):
    """Whatever a figure command raises besides a failed run becomes a message and an exit status."""
    from numpyvae.reproduce import cli, figures
    from numpyvae.training import TrainingDiverged

    def boom(*args, **kwargs):
        raise exc

    monkeypatch.setattr(figures, "figure2", boom)
    assert cli.main(["fig2", "--data", "synthetic", "--nz", "2", "--out", "/tmp/unused"]) == status
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().count("\n") == 0
    monkeypatch.setattr(figures, "figure2", lambda *a, **k: (_ for _ in ()).throw(TrainingDiverged("diverged")))
    assert cli.main(["fig2", "--data", "synthetic", "--nz", "2", "--out", "/tmp/unused"]) == 3


def test_weight_decay_flag_trains_a_separate_run_with_that_prior(tmp_path):
    import json

    import numpy as np

    args = ["fig2", "--data", "synthetic", "--nz", "2", "--hidden", "8", "--lr", "0.05", "--out", str(tmp_path),
            "--budget", "1000"]
    assert main(args) == 0 and main(args + ["--weight-decay", "0"]) == 0
    runs = tmp_path / "runs"
    assert {p.name for p in runs.iterdir()} >= {"synthetic-nz2-h8-aevb", "synthetic-nz2-h8-aevb-wd0"}

    def decay(name):
        meta = json.loads(np.load(runs / name / "checkpoint.npz")["meta.json"].tobytes().decode())
        return meta["optimizer"]["hyperparameters"]["weight_decay"]

    assert decay("synthetic-nz2-h8-aevb-wd0") == 0.0
    assert decay("synthetic-nz2-h8-aevb") > 0.0                          # 1/N, the default


def test_init_scale_flag_trains_a_separate_run_from_that_initialisation(tmp_path):
    import json

    import numpy as np

    args = ["fig2", "--data", "synthetic", "--nz", "2", "--hidden", "8", "--lr", "0.05", "--out", str(tmp_path),
            "--budget", "1000", "--init-scale", "0.3", "--methods", "aevb"]
    assert main(args) == 0
    assert not (tmp_path / "runs" / "synthetic-nz2-h8-wake_sleep-init0.3").exists()    # only the method asked
    path = tmp_path / "runs" / "synthetic-nz2-h8-aevb-init0.3" / "checkpoint.npz"
    meta = json.loads(np.load(path)["meta.json"].tobytes().decode())
    assert meta["model"]["config"]["init_scale"] == 0.3
    assert not (tmp_path / "runs" / "synthetic-nz2-h8-aevb").exists()


def test_variants_tables_every_run_with_its_settings_at_equal_budget(tmp_path):
    base = ["fig2", "--data", "synthetic", "--nz", "2", "--hidden", "8", "--lr", "0.05", "--budget", "1000",
            "--methods", "aevb"]
    assert main(base + ["--out", str(tmp_path / "a")]) == 0
    assert main(base + ["--out", str(tmp_path / "b"), "--seed", "3", "--weight-decay", "0"]) == 0
    assert main(["fig3", "--data", "synthetic", "--n-train", "200", "--methods", "aevb", "--budget", "1000",   # a
                 "--lr", "0.05", "--ml-points", "5", "--hmc-burnin", "4", "--hmc-samples", "3", "--is-samples", "5",
                 "--ml-evals", "1", "--out", str(tmp_path / "a")]) == 0          # Figure 3 run beside them
    docs = tmp_path / "docs"
    assert main(["variants", "--out", str(tmp_path / "a"), "--out", str(tmp_path / "b"), "--docs", str(docs),
                 "--budgets", "1000"]) == 0
    rows = {r["folder"]: r for r in _rows(docs / "reproduction" / "variants.csv")}
    a, b = rows["a/synthetic-nz2-h8-aevb"], rows["b/synthetic-nz2-h8-aevb-seed3-wd0"]
    assert (a["seed"], a["weight_decay"], b["seed"], b["weight_decay"]) == ("0", "1/N", "3", "0.0")
    logged = {r["samples"]: r for r in _rows(tmp_path / "b" / "runs" / "synthetic-nz2-h8-aevb-seed3-wd0" / "log.csv")}
    assert float(b["test"]) == pytest.approx(float(logged["1000"]["test_bound"]))
    assert float(a["test"]) != float(b["test"])
    assert not [f for f in rows if "-ml" in f]                      # Figure 3 runs are not Figure 2 variants
    assert "| synthetic | 2 | aevb | 3 |" in (docs / "reproduction" / "variants.md").read_text()
    assert main(["report", "--out", str(tmp_path / "a"), "--docs", str(docs)]) == 0       # the page includes it
    page = (docs / "reproduction.md").read_text()
    assert "Runs that change one setting" in page and "| synthetic | 2 | aevb | 3 |" in page
    assert main(["variants", "--out", str(tmp_path / "nowhere"), "--docs", str(docs)]) == 2
    # on another machine, where the run folders are gone: both runs are shown from the archive
    first = (docs / "reproduction" / "variants.csv").read_text()
    shutil.rmtree(tmp_path / "a" / "runs")
    (tmp_path / "a" / "runs").mkdir()
    assert main(["variants", "--out", str(tmp_path / "a"), "--docs", str(docs), "--budgets", "1000"]) == 0
    assert (docs / "reproduction" / "variants.csv").read_text() == first
    assert "archive/variants/" in (docs / "reproduction" / "variants.md").read_text()
