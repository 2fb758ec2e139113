"""Every command of ``python -m numpyvae`` end to end, in a subprocess, on small subsets."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from numpyvae.cli import main
from numpyvae.training import load_checkpoint, read_log

REPO = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def cli(*args, timeout=120, check=True):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "numpyvae", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=REPO)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def assert_png(path):
    data = Path(path).read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 2000, path


def mnist_available():
    try:
        from numpyvae.datasets import find_dataset_files

        find_dataset_files("mnist", "test", download=False)
        return True
    except (FileNotFoundError, ValueError):
        return False


needs_mnist = pytest.mark.skipif(not mnist_available(), reason="MNIST files not found (set NUMPYVAE_DATA)")


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    """One small training run shared by the commands that read a trained model."""
    out = tmp_path_factory.mktemp("runs") / "synthetic"
    proc = cli("train", "--data", "synthetic", "--epochs", "3", "--hidden", "16", "--latent", "2",
               "--batch-size", "50", "--lr", "0.01", "--out", out)
    return out, proc


def test_train_writes_checkpoint_log_config_and_every_figure(synthetic_run):
    out, proc = synthetic_run
    assert "run folder" in proc.stdout and "final bound" in proc.stdout
    for name in ("training_curves", "samples", "reconstructions", "manifold", "latent_scatter"):
        assert_png(out / f"{name}.png")
    rows = read_log(out / "log.csv")
    assert [r["samples"] for r in rows] == [0, 1000, 2000, 3000]
    assert rows[-1]["test_bound"] > rows[0]["test_bound"] + 5
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["config"]["hidden_sizes"] == [16] and config["training"]["lr"] == 0.01
    ck = load_checkpoint(out / "checkpoint.npz")
    assert ck.trainer["state"]["samples"] == 3000 and ck.extra["data"]["name"] == "synthetic"
    assert proc.stdout.count("samples ") == 4                          # one line per evaluation, no bar


def test_resume_extends_a_finished_run(synthetic_run, tmp_path):
    out, _ = synthetic_run
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in ("checkpoint.npz", "log.csv"):
        (copy / f).write_bytes((out / f).read_bytes())
    cli("train", "--resume", copy, "--epochs", "4", "--no-figures")
    assert [r["samples"] for r in read_log(copy / "log.csv")] == [0, 1000, 2000, 3000, 4000]


def test_evaluate_prints_elbo_and_importance_sampled_log_px(synthetic_run):
    out, _ = synthetic_run
    result = json.loads(cli("evaluate", out, "--is-samples", "50", "--json").stdout)
    assert result["split"] == "test" and result["n"] == 200
    assert np.isfinite(result["elbo"]) and result["elbo"] < 0
    assert result["log_px"] > result["elbo"] - 0.5                     # the IS estimate is the tighter bound
    text = cli("evaluate", out / "checkpoint.npz", "--split", "train", "--limit", "100", "--is-samples", "10").stdout
    assert "ELBO" in text and "log p(x)" in text and "100 datapoints" in text


def test_sample_reconstruct_manifold_write_pngs(synthetic_run, tmp_path):
    out, _ = synthetic_run
    cli("sample", out, "--n", "16", "--out", tmp_path / "s.png")
    cli("sample", out, "--n", "9", "--binary", "--out", tmp_path / "sb.png")
    cli("reconstruct", out, "--n", "8", "--split", "valid", "--out", tmp_path / "r.png")
    cli("manifold", out, "--n", "6", "--out", tmp_path / "m.png")
    for name in ("s", "sb", "r", "m"):
        assert_png(tmp_path / f"{name}.png")


def test_gradcheck_still_works():
    proc = cli("gradcheck", "--coords", "5")
    assert "all gradients match" in proc.stdout


def test_every_command_has_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    top = capsys.readouterr().out
    for name in ("train", "evaluate", "sample", "reconstruct", "manifold", "gradcheck"):
        assert name in top
        with pytest.raises(SystemExit):
            main([name, "--help"])
        text = capsys.readouterr().out
        assert text.startswith("usage: numpyvae " + name) and len(text) > 400


def test_bad_input_gives_a_clear_message_and_exit_status_2(synthetic_run, tmp_path, capsys):
    out, _ = synthetic_run
    proc = cli("evaluate", tmp_path / "nowhere", check=False)          # the real exit status of the process
    assert proc.returncode == 2 and "no checkpoint" in proc.stderr and "Traceback" not in proc.stderr
    cases = [
        (("train", "--data", "synthetic", "--out", out), "already holds a run"),
        (("train", "--data", "synthetic", "--eval-every", "often", "--out", tmp_path / "x"), "--eval-every"),
        (("train", "--data", "synthetic", "--model", "nope", "--out", tmp_path / "y"), "unknown model 'nope'"),
        (("train", "--data", "synthetic", "--hidden", "8", "--model-option", "sigma", "--out", tmp_path / "w"),
         "KEY=VALUE"),
        (("train", "--data", "mnist", "--data-dir", tmp_path / "missing", "--out", tmp_path / "z"), "data-dir"),
        (("train", "--resume", tmp_path / "nothing"), "no checkpoint"),
        (("manifold", out, "--dims", "0,5"), "dims"),
        (("sample", out, "--image-shape", "7by7"), "--image-shape"),
    ]
    for args, message in cases:
        assert main([str(a) for a in args]) == 2, args
        err = capsys.readouterr().err
        assert message in err, (args, err)
    assert not (tmp_path / "x").exists()


def test_ctrl_c_saves_a_checkpoint_and_the_run_resumes(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    command = [sys.executable, "-m", "numpyvae", "train", "--data", "synthetic", "--epochs", "100000", "--hidden", "16",
               "--latent", "2", "--eval-every", "500", "--no-figures", "--out", str(out)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        deadline = time.time() + 60
        lines = []
        while time.time() < deadline:                                  # wait for training to be under way
            lines.append(proc.stdout.readline())
            if lines[-1].startswith("samples") and "epoch    0.00" not in lines[-1]:
                break
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert f"numpyvae train --resume {out}" in stderr
    saved = load_checkpoint(out / "checkpoint.npz").trainer["state"]
    assert 0 < saved["samples"] < 100000 * 1000
    proc = cli("train", "--resume", out, "--max-samples", str(saved["samples"] + 300), "--no-figures")
    rows = read_log(out / "log.csv")
    assert rows[-1]["samples"] >= saved["samples"] + 300 and "final bound" in proc.stdout


@needs_mnist
def test_train_on_mnist_subset_and_evaluate(tmp_path):
    out = tmp_path / "mnist"
    cli("train", "--limit", "500", "--epochs", "2", "--hidden", "64", "--binarize", "dynamic", "--out", out)
    for name in ("training_curves", "samples", "reconstructions", "manifold", "latent_scatter"):
        assert_png(out / f"{name}.png")
    ck = load_checkpoint(out / "checkpoint.npz")
    assert ck.model.input_dim == 784 and ck.model.latent_dim == 20 and ck.extra["image_shape"] == [28, 28]
    result = json.loads(cli("evaluate", out, "--limit", "50", "--is-samples", "20", "--json").stdout)
    assert result["data"] == "mnist" and result["n"] == 50 and np.isfinite(result["log_px"])


def test_train_takes_k_for_importance_weighted_models(tmp_path):
    out = tmp_path / "iwae"
    cli("train", "--data", "synthetic", "--model", "iwae", "--k", "3", "--epochs", "1", "--hidden", "8",
        "--latent", "2", "--out", str(out))
    assert json.loads((out / "config.json").read_text())["model"]["config"]["k"] == 3
    proc = cli("train", "--data", "synthetic", "--k", "3", "--epochs", "1", "--out", str(tmp_path / "vae"),
               check=False)
    assert proc.returncode == 2 and "model 'vae' has no option 'k'" in proc.stderr
