"""The runs of a figure as tasks: in this process, in local worker processes, or on a Dask cluster.

A task is :func:`run_task` of one run's spec. Its only input is the spec (a JSON-able dict); its
state is the run folder ``<out>/runs/<name>/`` (checkpoint, log, lock), which must lie on a
filesystem that every worker shares; the data are found on each worker as everywhere else
(``NUMPYVAE_DATA``, then the user cache). A task takes the run's lock (:mod:`.lock`), trains or
resumes the run, and returns a small dict (run name, status, error text, where it ran); the figure
functions then read each run's results from its folder (:func:`load_result`). So a task that lands
on a worker after another worker died resumes from the run's checkpoint.

:func:`run_grid` runs the tasks in one of three ways, with one loop over their futures:

- ``scheduler="tcp://host:8786"``: every task is submitted to the Dask distributed cluster there
  (``pip install "numpyvae[cluster]"``); Dask resubmits the tasks of a worker that died.
- ``jobs=N > 1``: N local worker processes of :class:`concurrent.futures.ProcessPoolExecutor`
  (spawn start method).
- ``jobs=1``: one task after another in this process.

One BLAS thread per task. In a worker, a task limits the BLAS with threadpoolctl when it is
installed. Without it, the limit comes from ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` /
``MKL_NUM_THREADS`` = 1, which a BLAS reads once, when NumPy loads: the process pool sets them in
this process's environment while the pool starts its workers (so those inherit them), and a Dask
worker gets them from its nanny (``distributed.nanny.pre-spawn-environ``, Dask's default); a task
whose worker has neither says so in its log. In this process (``jobs=1``) the BLAS is left alone.

Progress: each task announces when it starts (and when it waits for or breaks a run's lock)
through Dask's event topic ``numpyvae-grid`` or a queue of the process pool; the loop prints which
runs started, finished or failed, a failure with its whole traceback. Every run is tried; when any
failed, :class:`GridFailed` is raised after the others finished. Each task also appends its log to
``<run folder>/worker.log``.
"""
import concurrent.futures
import multiprocessing
import os
import socket
import threading
import time
import traceback
import uuid
from contextlib import contextmanager

from ..training.checkpoint import read_checkpoint
from .lock import RunLock
from .runs import checkpoint_path, execute, run_dir, run_name

TOPIC = "numpyvae-grid"
"""Dask event topic on which tasks announce their progress."""
BLAS_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
INSTALL_HINT = '--scheduler needs Dask distributed: pip install "numpyvae[cluster]"'

_queue = None           # in a process-pool worker: where its tasks announce progress (set by _pool_worker)


class GridFailed(RuntimeError):
    """Some runs of a grid failed (after every run was tried); ``results`` holds every task's result."""

    def __init__(self, results):
        self.results = results
        failed = [r["run"] for r in results if r["status"] != "finished"]
        super().__init__(f"{len(failed)} of {len(results)} runs failed: {', '.join(failed)} (errors above)")


# ---------------------------------------------------------------------------------------------- the task
def _saved_samples(spec):
    """Training samples in the run's checkpoint (0 when it has none)."""
    try:
        meta, _ = read_checkpoint(checkpoint_path(spec))
    except FileNotFoundError:
        return 0
    return int(meta["trainer"]["state"]["samples"])


@contextmanager
def _one_blas_thread():
    """Limit the BLAS to one thread where threadpoolctl can; yields a line that says how."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        values = {k: os.environ.get(k) for k in BLAS_ENV}
        said = ", ".join(f"{k}={v}" for k, v in values.items() if v is not None) or "no thread variables"
        if values["OPENBLAS_NUM_THREADS"] == "1" or values["OMP_NUM_THREADS"] == "1":
            yield f"one BLAS thread ({said} when NumPy loaded)"
        else:
            yield (f"warning: the BLAS may run several threads ({said}; install threadpoolctl, or start "
                   "Dask workers through a nanny, which sets them)")
        return
    with threadpool_limits(limits=1):
        yield "one BLAS thread (threadpoolctl)"


def _announcer():
    """Where a task in a worker announces its progress: the pool's queue, Dask's event log, or nowhere."""
    if _queue is not None:
        return _queue.put
    try:
        from distributed import get_worker                  # imported only when a worker runs us
        worker = get_worker()
    except (ImportError, ValueError):
        return lambda msg: None
    return lambda msg: worker.log_event(TOPIC, msg)


def run_task(spec, announce=None, echo=None, one_thread=True):
    """Train or resume the run of ``spec`` under its lock; never raises for a failure of the run.

    Parameters
    ----------
    spec : dict
        The run (:func:`numpyvae.reproduce.runs.make_spec`).
    announce : callable(dict), optional
        Receives the task's progress messages; default: the channel of the worker it runs in.
    echo : callable(str), optional
        Also receives every line of the run's log (``worker.log`` always does).
    one_thread : bool
        Limit the BLAS to one thread (see the module's notes).

    Returns
    -------
    dict
        ``run`` (name), ``status`` ("finished" or "failed"), ``error`` (the traceback text, or
        None), ``host``, ``pid``, ``samples`` (trained so far), ``seconds`` (this task's time).
    """
    announce = announce or _announcer()
    host, pid, t0 = socket.gethostname(), os.getpid(), time.perf_counter()
    result = {"run": run_name(spec), "status": "failed", "error": None, "host": host, "pid": pid,
              "samples": None, "seconds": 0.0}

    def tell(event, text=""):
        announce({"run": result["run"], "event": event, "text": text, "host": host, "pid": pid})

    logfile = None
    try:
        folder = run_dir(spec)
        folder.mkdir(parents=True, exist_ok=True)
        logfile = open(folder / "worker.log", "a", buffering=1)

        def write(text):
            logfile.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {host}:{pid} {text}\n")

        def log(text):                                   # the run's own lines
            write(text)
            if echo is not None:
                echo(text)

        def note(text):                                  # the lock's: waiting, breaking
            write(text)
            tell("note", text)

        with RunLock(folder, log=note), (_one_blas_thread() if one_thread else _no_limit()) as blas:
            saved = _saved_samples(spec)
            if saved >= spec["budget"]:
                start = f"already at {saved:,} samples"
            elif saved:
                start = f"resuming at {saved:,} samples"
            else:
                start = "from the start"
            write(f"started {result['run']}: {start}; {blas}")
            tell("started", f"{start}; {blas}")
            records = execute(spec, log=log)[1]
        result.update(status="finished", samples=int(records[-1]["samples"]))
        write(f"finished {result['run']} at {result['samples']:,} samples")
    except Exception:
        result["error"] = traceback.format_exc()
        if logfile is not None:
            logfile.write(result["error"])
    finally:
        if logfile is not None:
            logfile.close()
    result["seconds"] = round(time.perf_counter() - t0, 3)
    return result


@contextmanager
def _no_limit():
    yield "the BLAS threads as they are (in-process run)"


def load_result(spec):
    """The finished run of ``spec`` read from its folder: (algorithm, records, x_train, x_test,
    image_shape), as :func:`~numpyvae.reproduce.runs.execute` returns them. Trains nothing: a run
    short of its budget raises RuntimeError."""
    with RunLock(run_dir(spec)):
        saved = _saved_samples(spec)
        if saved < spec["budget"]:
            raise RuntimeError(f"{run_dir(spec)} holds {saved:,} of its {spec['budget']:,} samples: "
                               "train it first (run_grid)")
        return execute(spec, log=lambda *_: None)


# ---------------------------------------------------------------------------------------------- runners
def _show(msg, log):
    """Print a task's progress message."""
    where = f"{msg['host']} (pid {msg['pid']})"
    if msg["event"] == "started":
        log(f"started {msg['run']} on {where}: {msg['text']}")
    else:
        log(f"{msg['run']} on {where}: {msg['text']}")


class _Serial:
    """``jobs=1``: each task runs in this process when the loop asks for its result, in order."""

    def __init__(self, log):
        self.log, self.queue = log, []

    def submit(self, spec):
        future = concurrent.futures.Future()
        self.queue.append((future, spec))
        return future

    def as_completed(self, futures):
        for future, spec in self.queue:
            future.set_result(run_task(spec, announce=lambda msg: _show(msg, self.log), echo=self.log,
                                       one_thread=False))
            yield future


@contextmanager
def _serial(log):
    runner = _Serial(log)
    yield runner.submit, runner.as_completed


def _pool_worker(queue):
    """Initializer of a process-pool worker: its tasks announce progress on ``queue``."""
    global _queue
    _queue = queue


def _relay(queue, log):
    """Print the progress messages of the pool's tasks until ``None`` arrives."""
    for msg in iter(queue.get, None):
        _show(msg, log)


@contextmanager
def _process_pool(jobs, log):
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    relay = threading.Thread(target=_relay, args=(queue, log), daemon=True)
    relay.start()
    saved = {k: os.environ.get(k) for k in BLAS_ENV}
    os.environ.update(BLAS_ENV)                     # inherited by the workers, read when NumPy loads there
    try:
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_pool_worker,
                                                    initargs=(queue,)) as pool:
            yield (lambda spec: pool.submit(run_task, spec)), concurrent.futures.as_completed
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        queue.put(None)
        relay.join(timeout=10)


@contextmanager
def _dask(address, log):
    try:
        import distributed
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    client = distributed.Client(address, set_as_default=False, timeout="60s")
    try:
        client.subscribe_topic(TOPIC, lambda event: _show(event[1], log))
        n_workers = len(client.scheduler_info().get("workers", {}))
        log(f"Dask scheduler {address}: {n_workers} workers")

        def submit(spec):
            return client.submit(run_task, spec, key=f"{run_name(spec)}-{uuid.uuid4().hex[:8]}")
        yield submit, (lambda futures: distributed.as_completed(futures, loop=client.loop))
    finally:
        try:
            client.unsubscribe_topic(TOPIC)
        finally:
            client.close()


def _outcome(future, spec):
    """A task's result; a task that could not run at all (its worker died too often, the pool broke,
    the worker could not import it) becomes a failed result with that exception's traceback."""
    try:
        return future.result()
    except Exception as exc:
        return {"run": run_name(spec), "status": "failed", "host": None, "pid": None, "samples": None,
                "seconds": None, "error": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))}


def run_grid(specs, jobs=1, scheduler=None, log=print):
    """Run the task of every spec, printing which runs start, finish or fail.

    Parameters
    ----------
    specs : list of dict
        The runs (:func:`numpyvae.reproduce.runs.make_spec`).
    jobs : int
        Local worker processes (1: in this process). Ignored with ``scheduler``.
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:8786``) to submit the tasks to.
    log : callable(str)
        Where progress goes.

    Returns
    -------
    list of dict
        The results of :func:`run_task`, in the order of ``specs``.

    Raises
    ------
    GridFailed
        After every task ended, when any run failed.
    """
    if scheduler:
        runner = _dask(scheduler, log)
    elif jobs > 1 and len(specs) > 1:
        runner = _process_pool(min(jobs, len(specs)), log)
    else:
        runner = _serial(log)
    results = [None] * len(specs)
    with runner as (submit, as_completed):
        # a worker elsewhere resolves a relative --out in its own folder: send the absolute path
        futures = {submit(dict(spec, out=os.path.abspath(spec["out"]))): i for i, spec in enumerate(specs)}
        for future in as_completed(futures):
            i = futures[future]
            r = results[i] = _outcome(future, specs[i])
            if r["status"] == "finished":
                log(f"finished {r['run']} ({r['samples']:,} samples, {r['seconds']:.1f} s on {r['host']})")
            else:
                where = f" on {r['host']} (pid {r['pid']})" if r["host"] else ""
                log(f"failed {r['run']}{where}:\n{r['error'].rstrip()}")
    failed = [r for r in results if r["status"] != "finished"]
    log(f"{len(specs) - len(failed)} of {len(specs)} runs finished" + (f", {len(failed)} failed" if failed else ""))
    if failed:
        raise GridFailed(results)
    return results
