r"""Elementwise work split over the cores that NumPy's BLAS uses, with standard-library threads.

An optimizer's update of one flat parameter vector is elementwise: the new value of entry i depends
only on entry i of the parameter, the gradient and the state. Cut into contiguous pieces, the
pieces can be updated at the same time, each by its own thread: NumPy's ufuncs release the GIL while
they loop over an array, so two threads run two ufuncs at once, and only the Python between the
calls (a microsecond per call, one call per 256 KiB block) takes turns. The result is bit for bit
that of one thread, because every entry goes through the same operations in the same order.

It is worth it only when the process has the cores, and has them free: with
``OPENBLAS_NUM_THREADS=1``, or pinned to one core, :func:`update_threads` says 1; and inside a
training step the second core is not free by default, because OpenBLAS's idle worker thread
busy-waits there for about 0.1 s after every matrix product (2^28 cycles; the environment variable
``OPENBLAS_THREAD_TIMEOUT`` sets the exponent). Measured on two cores (docs/benchmarks.md), the split
Adam update alone runs a third faster, and inside the step not at all; so optimizers use one thread
unless asked (``opt.threads``).

The worker threads are started once per process, on first use, and wait on an Event between jobs
(a hand-over costs some 20-50 us, measured in ``docs/benchmarks.md``).
"""
import os
import threading

_LOCK = threading.Lock()        # one job on the pool at a time; a second caller runs serially
_POOL = {}                      # "workers" -> _Workers, started on first use


def update_threads():
    """Threads for one elementwise update: as many as NumPy's OpenBLAS runs its products on, at most
    the cores this process may use; 1 where that cannot be asked."""
    from .blas import openblas_num_threads

    blas = openblas_num_threads() or 1
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(blas, cores))


def split(n, parts, align=64):
    """``parts`` contiguous ranges ``(start, stop)`` covering ``range(n)``, of nearly equal size,
    every boundary a multiple of ``align`` (so two threads never write one cache line)."""
    parts = max(1, min(parts, n // align))
    bounds = [0] + [(n * i // parts) // align * align for i in range(1, parts)] + [n]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def run(fn, jobs):
    """Call ``fn(i, job)`` for every ``(i, job)`` of ``enumerate(jobs)``, job 0 in the calling thread
    and the others at the same time on the worker threads; return when all are done.

    An exception in any job is raised here (the first one, after every job has finished). When the
    pool is busy (another thread is running a job on it), the jobs run one after the other here.
    """
    jobs = list(jobs)
    if len(jobs) <= 1 or not _LOCK.acquire(blocking=False):
        for i, job in enumerate(jobs):
            fn(i, job)
        return
    try:
        pool = _POOL.get("workers")
        if pool is None or pool.size < len(jobs) - 1:
            pool = _POOL["workers"] = _Workers(len(jobs) - 1)
        pool.run(fn, jobs)
    finally:
        _LOCK.release()


class _Workers:
    """``size`` daemon threads, each running one job per hand-over."""

    def __init__(self, size):
        self.size = size
        self._go = [threading.Event() for _ in range(size)]
        self._done = [threading.Event() for _ in range(size)]
        self._work = [None] * size
        self._errors = [None] * size
        for k in range(size):
            threading.Thread(target=self._loop, args=(k,), name=f"numpyvae-update-{k + 1}", daemon=True).start()

    def _loop(self, k):
        while True:
            self._go[k].wait()
            self._go[k].clear()
            fn, i, job = self._work[k]
            try:
                fn(i, job)
            except BaseException as exc:                              # handed back to the caller
                self._errors[k] = exc
            self._work[k] = None
            self._done[k].set()

    def run(self, fn, jobs):
        started = []
        for k, (i, job) in enumerate(list(enumerate(jobs))[1:]):
            self._errors[k] = None
            self._work[k] = (fn, i, job)
            self._go[k].set()
            started.append(k)
        first = None
        try:
            fn(0, jobs[0])
        except BaseException as exc:
            first = exc
        for k in started:
            self._done[k].wait()
            self._done[k].clear()
        errors = [first] + [self._errors[k] for k in started]
        for exc in errors:
            if exc is not None:
                raise exc


def _forget_pool():
    """After ``fork`` the child has no worker threads: start new ones when it first needs them."""
    global _LOCK
    _POOL.clear()
    _LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
