"""The reproduction grid as tasks: on a real Dask cluster (a scheduler and two single-threaded worker
processes on 127.0.0.1), in a local process pool, and in this process; the lock of a run folder.

A small synthetic Figure 2 grid (two N_z, AEVB and wake-sleep: four runs) gives the same curves
however it is run: through ``--scheduler``, with a worker killed in the middle of a run, and with
``--jobs 2``, as with ``--jobs 1``.
"""
import csv
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from numpyvae.reproduce import grid, lock  # noqa: E402
from numpyvae.reproduce.cli import main  # noqa: E402
from numpyvae.training.checkpoint import read_checkpoint  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
GRID = ["fig2", "--data", "synthetic", "--nz", "2,3", "--hidden", "8", "--lr", "0.05"]
BUDGET = 100000
RUNS = [f"synthetic-nz{nz}-h8-{m}" for nz in (2, 3) for m in ("aevb", "wake_sleep")]
TIMES = ("wall_time", "eval_time", "wall_s")             # differ between any two runs of the same grid

needs_dask = pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                                reason='needs Dask distributed (pip install "numpyvae[cluster]")')


def _curves(out):
    """Every evaluation of every run of the grid under ``out``, timings left out."""
    with open(Path(out) / "fig2" / "synthetic_curves.csv") as f:
        rows = [{k: v for k, v in r.items() if k not in TIMES} for r in csv.DictReader(f)]
    return sorted(rows, key=lambda r: (r["nz"], r["method"], int(r["samples"])))


def _samples(out, run):
    meta, _ = read_checkpoint(Path(out) / "runs" / run / "checkpoint.npz")
    return meta["trainer"]["state"]["samples"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The grid's curves from a local ``--jobs 1`` run."""
    out = tmp_path_factory.mktemp("jobs1")
    assert main(GRID + ["--budget", str(BUDGET), "--out", str(out)]) == 0
    rows = _curves(out)
    assert {(r["nz"], r["method"]) for r in rows} == {(nz, m) for nz in "23" for m in ("aevb", "wake_sleep")}
    assert max(int(r["samples"]) for r in rows) == BUDGET
    return rows


# ---------------------------------------------------------------------------------------------- a cluster
class Cluster:
    """``dask scheduler`` and ``dask worker --nthreads 1`` processes on 127.0.0.1 (each in its own
    process group, so that a worker can be killed with its nanny)."""

    def __init__(self, folder, n_workers=2):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
                        MPLBACKEND="Agg")
        sched_file = self.folder / "scheduler.json"
        self.scheduler = self._start("scheduler", ["distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                                    "--port", "0", "--no-dashboard", "--scheduler-file",
                                                    str(sched_file)])
        self.workers = []
        try:
            deadline = time.time() + 60
            while not sched_file.exists() and time.time() < deadline:
                time.sleep(0.1)
            self.address = json.loads(sched_file.read_text())["address"]
            for i in range(n_workers):
                self.workers.append(self._start(f"worker{i}", [
                    "distributed.cli.dask_worker", self.address, "--nthreads", "1", "--host", "127.0.0.1",
                    "--no-dashboard", "--local-directory", str(self.folder / f"worker{i}")]))
            import distributed
            with distributed.Client(self.address, timeout="60s", set_as_default=False) as client:
                client.wait_for_workers(n_workers, timeout=60)
        except BaseException:
            self.stop()
            raise

    def _start(self, name, args):
        out = open(self.folder / f"{name}.log", "w")
        return subprocess.Popen([sys.executable, "-m"] + args, stdout=out, stderr=subprocess.STDOUT,
                                env=self.env, cwd=self.folder, start_new_session=True)

    def stop(self):
        procs = self.workers + [self.scheduler]
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    yield c
    c.stop()


@needs_dask
def test_scheduler_runs_the_grid_with_the_results_of_a_local_run(reference, cluster, tmp_path, capsys):
    t0 = time.perf_counter()
    assert main(GRID + ["--budget", str(BUDGET), "--out", str(tmp_path), "--scheduler", cluster.address]) == 0
    printed = capsys.readouterr().out
    assert f"Dask scheduler {cluster.address}: 2 workers" in printed
    for run in RUNS:
        assert f"started {run} on " in printed and f"finished {run} ({BUDGET:,} samples" in printed
        assert "one BLAS thread" in (tmp_path / "runs" / run / "worker.log").read_text()
        assert not (tmp_path / "runs" / run / "lock").exists()
    assert len({line.split("(pid ")[1].split(")")[0] for line in printed.splitlines()
                if line.startswith("started ")}) == 2                     # both workers trained runs
    assert _curves(tmp_path) == reference
    print(f"grid on the cluster: {time.perf_counter() - t0:.1f} s")


@needs_dask
def test_a_worker_killed_in_the_middle_of_a_run_leaves_the_results_unchanged(reference, tmp_path_factory,
                                                                                tmp_path, capsys):
    c = Cluster(tmp_path_factory.mktemp("cluster_kill"))
    killed = {}

    def kill_a_worker_mid_run():
        """Kill the worker (with its nanny) that holds the lock of a run whose checkpoint is part-way."""
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            for folder in sorted((tmp_path / "runs").glob("*")):
                try:
                    holder = json.loads((folder / "lock").read_text())
                    samples = _samples(tmp_path, folder.name)
                except (OSError, ValueError):
                    continue
                if 0 < samples < BUDGET // 2:
                    os.killpg(os.getpgid(holder["pid"]), signal.SIGKILL)
                    killed.update(run=folder.name, pid=holder["pid"], samples=samples)
                    return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_a_worker_mid_run, daemon=True)
    try:
        killer.start()
        assert main(GRID + ["--budget", str(BUDGET), "--out", str(tmp_path), "--scheduler", c.address]) == 0
        killer.join(timeout=5)
        printed = capsys.readouterr().out
        assert killed, "no run was caught part-way"
        assert sum(w.poll() is not None for w in c.workers) == 1           # one worker is gone
        log = (tmp_path / "runs" / killed["run"] / "worker.log").read_text()
        assert f"its process {killed['pid']} on this host is gone" in log  # its stale lock was broken
        assert "resuming at" in log
        assert f"finished {killed['run']} ({BUDGET:,} samples" in printed
        assert _curves(tmp_path) == reference
    finally:
        c.stop()


@needs_dask
def test_a_run_that_raises_on_a_worker_is_reported_and_the_others_finish(cluster, tmp_path, capsys, monkeypatch):
    bad = tmp_path / "runs" / RUNS[3]
    bad.mkdir(parents=True)
    (bad / "checkpoint.npz").write_bytes(b"not a checkpoint")
    monkeypatch.setenv("NUMPYVAE_SCHEDULER", cluster.address)           # the address from the environment
    assert main(GRID + ["--budget", "5000", "--out", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert f"failed {RUNS[3]} on " in captured.out
    failure = captured.out.split(f"failed {RUNS[3]} on ")[1]
    assert "Traceback (most recent call last)" in failure and "ValueError" in failure   # the worker's, in full
    assert "1 of 4 runs failed" in captured.err
    for run in RUNS[:3]:
        assert f"finished {run} (5,000 samples" in captured.out
        assert _samples(tmp_path, run) == 5000


def test_scheduler_without_distributed_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)                # as if not installed
    assert main(GRID + ["--budget", "1000", "--out", str(tmp_path), "--scheduler", "tcp://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == grid.INSTALL_HINT and 'pip install "numpyvae[cluster]"' in err
    with pytest.raises(ImportError, match="numpyvae\\[cluster\\]"):
        grid.run_grid([], scheduler="tcp://127.0.0.1:1")


# ---------------------------------------------------------------------------------------------- local pool
def test_jobs_2_runs_the_grid_in_two_worker_processes_with_the_same_results(reference, tmp_path, capsys):
    t0 = time.perf_counter()
    env = {k: os.environ.get(k) for k in grid.BLAS_ENV}
    assert main(GRID + ["--budget", str(BUDGET), "--out", str(tmp_path), "--jobs", "2"]) == 0
    assert {k: os.environ.get(k) for k in grid.BLAS_ENV} == env           # set only while the pool started
    printed = capsys.readouterr().out
    pids = {line.split("(pid ")[1].split(")")[0] for line in printed.splitlines() if line.startswith("started ")}
    assert len(pids) == 2 and str(os.getpid()) not in pids
    for run in RUNS:
        assert f"finished {run} ({BUDGET:,} samples" in printed
        assert "one BLAS thread" in (tmp_path / "runs" / run / "worker.log").read_text()
    assert _curves(tmp_path) == reference
    print(f"grid with --jobs 2: {time.perf_counter() - t0:.1f} s")


def test_jobs_2_reports_a_failing_run_and_finishes_the_others(tmp_path, capsys):
    bad = tmp_path / "runs" / RUNS[0]
    bad.mkdir(parents=True)
    (bad / "checkpoint.npz").write_bytes(b"not a checkpoint")
    assert main(GRID + ["--budget", "3000", "--out", str(tmp_path), "--jobs", "2"]) == 1
    captured = capsys.readouterr()
    assert f"failed {RUNS[0]} on " in captured.out and "Traceback (most recent call last)" in captured.out
    assert "1 of 4 runs failed" in captured.err
    assert all(_samples(tmp_path, run) == 3000 for run in RUNS[1:])


def test_blas_limit_without_threadpoolctl_comes_from_the_environment(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)              # as if not installed
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    with grid._one_blas_thread() as said:
        assert said.startswith("one BLAS thread (") and "OPENBLAS_NUM_THREADS=1" in said
    for k in grid.BLAS_ENV:
        monkeypatch.delenv(k, raising=False)
    with grid._one_blas_thread() as said:
        assert said.startswith("warning: the BLAS may run several threads")


# ---------------------------------------------------------------------------------------------- the lock
def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_held_lock_makes_the_second_task_wait(tmp_path):
    first = lock.RunLock(tmp_path).acquire()
    said, got = [], threading.Event()

    def second():
        with lock.RunLock(tmp_path, log=said.append, poll_s=0.01):
            got.set()

    t = threading.Thread(target=second)
    t.start()
    time.sleep(0.3)
    assert not got.is_set() and said and "waiting for" in said[0]
    first.release()
    t.join(timeout=10)
    assert got.is_set() and not (tmp_path / "lock").exists()


def test_a_stale_lock_is_broken_and_a_held_one_is_not(tmp_path, monkeypatch):
    path = tmp_path / "lock"
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": _dead_pid(), "started": "then"}))
    said = []
    with lock.RunLock(tmp_path, log=said.append, poll_s=0.01) as held:
        assert json.loads(path.read_text())["pid"] == os.getpid() and "is gone" in said[0]
    assert held.text is None and not path.exists()

    old = time.time() - lock.STALE_AFTER_S - 5
    mine = json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                       "process_start": lock.process_start(os.getpid())})
    path.write_text(mine)
    os.utime(path, (old, old))
    assert lock.stale_reason(path, mine) is None                           # a live process's: held, however old
    reused = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "process_start": "1"})
    assert "newer process" in lock.stale_reason(path, reused)              # its id now names another process

    other = json.dumps({"host": "another-host", "pid": 1, "started": "now"})
    path.write_text(other)
    assert lock.stale_reason(path, other) is None                          # another host's, renewed: held
    os.utime(path, (old, old))                                             # not renewed for too long
    assert "not renewed" in lock.stale_reason(path, other)
    with lock.RunLock(tmp_path, poll_s=0.01):
        assert json.loads(path.read_text())["host"] == socket.gethostname()
    monkeypatch.setattr(lock, "HEARTBEAT_S", 0.01)                         # a holder renews its lock
    with lock.RunLock(tmp_path) as held:
        os.utime(path, (old, old))
        time.sleep(0.2)
        assert time.time() - path.stat().st_mtime < 5
