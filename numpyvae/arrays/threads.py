"""The BLAS libraries behind NumPy and how many threads their matrix products use, and a way to set it.

`threadpoolctl <https://github.com/joblib/threadpoolctl>`_ (the optional extra ``numpyvae[threads]``)
finds every BLAS library loaded in the process (NumPy's bundled OpenBLAS, MKL, ...) and reads or
sets its thread count at any time. The environment variables ``OPENBLAS_NUM_THREADS`` and
``OMP_NUM_THREADS`` act only if they are set before NumPy is imported, too late for the command
line's ``--threads``, which therefore needs threadpoolctl. Without it, :mod:`numpyvae.arrays.blas`
still asks NumPy's bundled OpenBLAS directly which kernels it runs.
"""
import contextlib

from .validation import check_positive_int

__all__ = ["blas_libraries", "limit_blas_threads", "THREADS_HINT"]

THREADS_HINT = 'install threadpoolctl to set or read BLAS threads: pip install "numpyvae[threads]"'


def blas_libraries():
    """One dict per BLAS library loaded in the process, with ``"library"`` (e.g. ``"openblas"``),
    ``"version"``, ``"threads"``, ``"architecture"`` (OpenBLAS's kernel family, e.g. ``"SkylakeX"``,
    or None) and ``"path"``; None when threadpoolctl is not installed. Imports NumPy."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    import numpy  # noqa: F401  (loads NumPy's BLAS, so that it is found)

    return [{"library": info.get("internal_api"), "version": info.get("version"),
             "threads": info.get("num_threads"), "architecture": info.get("architecture"),
             "path": info.get("filepath")}
            for info in threadpool_info() if info.get("user_api") == "blas"]


@contextlib.contextmanager
def limit_blas_threads(n):
    """Run the ``with`` block with every BLAS library limited to ``n`` threads (None: unchanged);
    the previous counts are restored after it.

    Raises
    ------
    ValueError
        For ``n`` that is not a positive integer.
    RuntimeError
        When threadpoolctl is not installed (the message says how to install it).
    """
    if n is None:
        yield
        return
    n = check_positive_int("threads", n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise RuntimeError(f"cannot set {n} BLAS thread(s): {THREADS_HINT}") from None
    with threadpool_limits(limits=n, user_api="blas"):
        yield
