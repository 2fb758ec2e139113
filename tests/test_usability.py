"""What a user asks of the front ends besides the math: messages through logging, a progress line with
elapsed time and an ETA, ``--version``, ``--threads``, model aliases, run folders everywhere, and one
line instead of a traceback when matplotlib is missing."""
import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import numpyvae as nv
from numpyvae.cli.main import main
from numpyvae.training import Progress, Trainer
from numpyvae.training.progress import LOGGER, format_duration

REPO = Path(__file__).resolve().parents[1]


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def small_data(n=60, d=8):
    return np.random.default_rng(0).uniform(size=(n, d))


def test_the_trainer_logs_its_lines(caplog):
    with caplog.at_level(logging.INFO, logger="numpyvae.training"):
        Trainer(nv.VAE(8, (4,), 2, rng=0), epochs=2, batch_size=20, seed=0, progress=True).fit(small_data())
    lines = [r.getMessage() for r in caplog.records if r.name == "numpyvae.training"]
    assert lines[0].startswith("train, test: ELBO per datapoint") and len(lines) == 3 + 1
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "numpyvae.training")


def test_without_logging_set_up_the_lines_go_to_the_stream():
    out = io.StringIO()
    bare = logging.Logger("not-in-the-hierarchy")                        # no handler, no parent
    Progress(stream=out, logger=bare).message("hello")
    assert out.getvalue() == "hello\n"
    bare.addHandler(logging.NullHandler())                               # a NullHandler shows nothing either
    Progress(stream=out, logger=bare).message("again")
    assert out.getvalue() == "hello\nagain\n"
    assert Progress().logger is LOGGER and Progress(stream=out).logger is None


def test_the_live_line_shows_elapsed_time_and_an_eta():
    tty = FakeTerminal()
    Progress(stream=tty, min_interval=0.0).update(1, 3, 10, 10.0, 98.765, elapsed=65.2, remaining=1200)
    text = tty.getvalue()
    assert "loss 98.77" in text and "elapsed 1:05" in text and "ETA 2:00" in text
    assert [format_duration(s) for s in (4.4, 61, 3725, float("nan"))] == ["4 s", "1:01", "1:02:05", "?"]
    tty = FakeTerminal()
    Trainer(nv.VAE(8, (4,), 2, rng=0), epochs=3, batch_size=10, seed=0,
            progress=Progress(stream=tty, min_interval=0.0)).fit(small_data())
    assert "ETA" in tty.getvalue() and "elapsed" in tty.getvalue()
    tty = FakeTerminal()                                                 # no budget, no estimate
    Progress(stream=tty, min_interval=0.0).update(1, 3, 10, 10.0, 1.0, elapsed=5.0, remaining=None)
    assert "ETA" not in tty.getvalue()


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith(f"numpyvae {nv.__version__} (Python ")


def test_threads_limit_the_blas_libraries_while_a_command_runs(capsys):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    assert main(["info", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "BLAS library openblas" in out and "1 thread(s)" in out
    assert [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"] == before
    assert main(["info", "--threads", "0"]) == 2
    assert "threads must be an integer >= 1" in capsys.readouterr().err


def test_threads_without_threadpoolctl_is_one_clear_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)             # import threadpoolctl now fails
    assert main(["info", "--threads", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "numpyvae[threads]" in err[0]
    assert main(["info"]) == 0
    assert "BLAS threads: unknown" in capsys.readouterr().out


def test_every_parser_lists_threads_and_train_lists_the_aliases(capsys):
    from numpyvae.cli.main import COMMANDS

    for name in COMMANDS:
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert "--threads N" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "vq-vae (vqvae, vq_vae)" in text and "fullcov-vae (fullcov, fullcov_vae)" in text


@pytest.fixture(scope="module")
def alias_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "vq"
    assert main(["train", "--data", "synthetic", "--model", "vqvae", "--epochs", "1", "--limit", "200",
                 "--no-figures", "--quiet", "--out", str(out)]) == 0
    return out


def test_an_alias_names_the_registered_model(alias_run):
    config = json.loads((alias_run / "config.json").read_text())
    assert config["model"]["name"] == "vq-vae"


def test_load_model_takes_a_run_folder(alias_run):
    model = nv.load_model(alias_run)
    assert type(model).__name__ == "VQVAE"
    assert nv.load_checkpoint(alias_run).trainer["state"]["samples"] == 200


def test_the_cli_prints_the_trainers_lines_through_logging(tmp_path, capsys):
    assert main(["train", "--data", "synthetic", "--epochs", "1", "--limit", "100", "--no-figures",
                 "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "train, test: ELBO per datapoint" in out and out.count("samples ") == 2
    assert not [h for h in logging.getLogger("numpyvae").handlers if not isinstance(h, logging.NullHandler)]


def test_figure_commands_without_matplotlib_say_so_in_one_line(alias_run, tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from numpyvae.cli.main import main\n"
            f"sys.exit(main(['sample', {str(alias_run)!r}, '--n', '4', '--out', {str(tmp_path / 's.png')!r}]))")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "matplotlib" in lines[0] and "numpyvae[plots]" in lines[0], proc.stderr
