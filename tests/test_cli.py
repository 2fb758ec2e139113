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
    assert "all gradients match (" in proc.stdout and "entries, and one random direction" in proc.stdout


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


# ---------------------------------------------------------------- every flag checked, every error a message
@pytest.mark.parametrize("args,message", [
    (("train", "--epoch", "3"), "unrecognized arguments: --epoch 3"),          # no abbreviation is taken
    (("train", "--batch", "7"), "unrecognized arguments: --batch 7"),
    (("evaluate", "run", "--is-sample", "5"), "unrecognized arguments: --is-sample"),
    (("train", "--seed", "-1"), "argument --seed: must be an integer >= 0, got '-1'"),
    (("train", "--batch-size", "0"), "argument --batch-size: must be an integer >= 1, got '0'"),
    (("train", "--batch-size", "2.5"), "argument --batch-size: must be an integer >= 1"),
    (("train", "--samples", "0"), "argument --samples: must be an integer >= 1"),
    (("train", "--epochs", "0"), "argument --epochs: must be an integer >= 1"),
    (("train", "--max-samples", "-10"), "argument --max-samples: must be an integer >= 1"),
    (("train", "--lr", "nan"), "argument --lr: must be a finite number > 0"),
    (("train", "--lr", "0"), "argument --lr: must be a finite number > 0"),
    (("train", "--weight-decay", "-1"), "argument --weight-decay: must be a finite number >= 0"),
    (("train", "--clip-norm", "inf"), "argument --clip-norm: must be a finite number > 0"),
    (("train", "--beta", "nan"), "argument --beta: must be a finite number >= 0"),
    (("train", "--hidden", "16,0"), "argument --hidden: expected comma-separated integers >= 1"),
    (("train", "--latent", "0"), "argument --latent: must be an integer >= 1"),
    (("train", "--k", "0"), "argument --k: must be an integer >= 1"),
    (("train", "--eval-every", "0"), "argument --eval-every: must be 'epoch', 'log' or a positive integer"),
    (("train", "--eval-size", "-1"), "argument --eval-size: must be an integer >= 0"),
    (("train", "--limit", "0"), "argument --limit: must be an integer >= 1"),
    (("evaluate", "run", "--is-samples", "-5"), "argument --is-samples: must be an integer >= 0, got '-5'"),
    (("evaluate", "run", "--elbo-samples", "0"), "argument --elbo-samples: must be an integer >= 1"),
    (("sample", "run", "--n", "0"), "argument --n: must be an integer >= 1"),
    (("sample", "run", "--label", "-1"), "argument --label: must be an integer >= 0"),
    (("sample", "run", "--image-shape", "0x5"), "argument --image-shape: must look like 28x28"),
    (("reconstruct", "run", "--n", "0"), "argument --n: must be an integer >= 1, got '0'"),
    (("manifold", "run", "--n", "-2"), "argument --n: must be an integer >= 1"),
    (("manifold", "run", "--dims", "0,-1"), "argument --dims: expected comma-separated integers >= 0"),
    (("gradcheck", "--coords", "-1"), "argument --coords: must be an integer >= 1, got '-1'"),
    (("gradcheck", "--coords", "0"), "argument --coords: must be an integer >= 1, got '0'"),
    (("gradcheck", "--tol", "nan"), "argument --tol: must be a finite number > 0"),
    (("gradcheck", "--tol", "0"), "argument --tol: must be a finite number > 0"),
    (("gradcheck", "--batch", "0"), "argument --batch: must be an integer >= 1"),
    (("gradcheck", "--input-dim", "0"), "argument --input-dim: must be an integer >= 1"),
])
def test_a_bad_flag_is_named_as_typed_in_one_line(capsys, args, message):
    assert main(list(args)) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "_" not in err.split("error:")[1].split(",")[0], err
    assert len(err.strip().splitlines()) == 1


def test_a_bad_flag_in_a_real_process_exits_2_without_a_traceback():
    proc = cli("train", "--seed", "-1", check=False)
    assert proc.returncode == 2 and "argument --seed" in proc.stderr and "Traceback" not in proc.stderr


def test_run_level_mistakes_name_the_flag(synthetic_run, tmp_path, capsys):
    out, _ = synthetic_run
    cases = [
        (("sample", out, "--label", "3"), "--label picks the class of a conditional model, but VAE is not"),
        (("sample", out, "--image-shape", "7x7"), "--image-shape 7x7 holds 49 pixels"),
        (("manifold", out, "--dims", "1,1"), "--dims takes two different latent dimensions"),
        (("train", "--data", "mnist", "--data-dir", tmp_path, "--out", tmp_path / "m"),
         "lacks the MNIST files"),                                      # an explicit folder is a pin
        (("train", "--data", "synthetic", "--protocol", "official", "--eval-split", "valid", "--out", tmp_path / "p"),
         "needs --protocol kw2013"),
        (("evaluate", out, "--split", "valid", "--protocol", "official"), "needs --protocol kw2013"),
    ]
    for args, message in cases:
        assert main([str(a) for a in args]) == 2, args
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (args, err)


def _copy_run(src, dst):
    dst.mkdir()
    for f in ("checkpoint.npz", "log.csv"):
        (dst / f).write_bytes((src / f).read_bytes())
    return dst


def test_resume_refuses_the_settings_it_would_ignore(synthetic_run, tmp_path, capsys):
    out, _ = synthetic_run
    run = _copy_run(out, tmp_path / "run")
    before = (run / "checkpoint.npz").read_bytes()
    args = ["train", "--resume", str(run), "--hidden", "32", "--latent", "5", "--batch-size", "7",
            "--optimizer", "sgd", "--epochs", "4"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--hidden, --latent, --batch-size and --optimizer cannot be given with it" in err
    assert "--epochs" in err.split("it takes")[1] and "Traceback" not in err
    assert (run / "checkpoint.npz").read_bytes() == before                   # nothing was run
    for flags in (["--seed", "3"], ["--out", str(tmp_path / "elsewhere")], ["--data", "mnist"], ["--batch-size", "100"]):
        assert main(["train", "--resume", str(run), *flags]) == 2, flags     # even a value equal to the default
        assert flags[0] in capsys.readouterr().err
    # what a resumed run does take: a budget, the evaluation schedule, where the data is now
    assert main(["train", "--resume", str(run), "--epochs", "4", "--eval-every", "500", "--data-dir", str(tmp_path),
                 "--no-figures", "--quiet"]) == 0
    assert [r["samples"] for r in read_log(run / "log.csv")] == [0, 1000, 2000, 3000, 3500, 4000]


def test_ctrl_c_while_the_data_loads_is_a_short_message_and_status_130(monkeypatch, tmp_path, capsys):
    from numpyvae.training import runs

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runs, "load_split", interrupted)
    assert main(["train", "--data", "synthetic", "--out", str(tmp_path / "r")]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "numpyvae train: interrupted" and not (tmp_path / "r").exists()


def test_divergence_prints_only_its_message_and_has_its_own_status(tmp_path):
    out = tmp_path / "diverged"
    proc = cli("train", "--data", "synthetic", "--epochs", "3", "--hidden", "16", "--optimizer", "sgd", "--lr", "50",
               "--no-figures", "--out", out, check=False)
    assert proc.returncode == 3, proc.stderr
    assert "training diverged" in proc.stderr and "last good checkpoint" in proc.stderr
    assert "Warning" not in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert load_checkpoint(out / "checkpoint.npz").trainer["state"]["samples"] == 0   # the last good state


@pytest.mark.parametrize("edit,command", [
    (lambda meta: meta.pop("model"), "evaluate"),
    (lambda meta: meta["optimizer"]["hyperparameters"].update(betas=[0.9, 0.99]), "train"),
    (lambda meta: meta["trainer"]["state"]["rng"].update(state="garbled"), "train"),
    (lambda meta: meta["algorithm"].update(arrays=["chains"]), "sample"),
])
def test_every_checkpoint_error_is_a_message(synthetic_run, tmp_path, capsys, edit, command):
    out, _ = synthetic_run
    run = _copy_run(out, tmp_path / "run")
    with np.load(run / "checkpoint.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays.pop("meta.json").tobytes().decode())
    edit(meta)
    np.savez(run / "checkpoint.npz", **{"meta.json": np.frombuffer(json.dumps(meta).encode(), np.uint8)}, **arrays)
    args = ["train", "--resume", str(run)] if command == "train" else [command, str(run)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "is not a valid numpyvae checkpoint" in err and "Traceback" not in err
