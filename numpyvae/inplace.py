r"""In-place elementwise updates of large arrays, as optimizers need them.

Two facts about memory shape how an optimizer step should run:

- **Blocks.** An update such as Adam's reads and writes the parameter, the gradient, two state arrays
  and a scratch array several times each. Done one whole array at a time, every pass streams a
  parameter-sized array (1.5 MB for the MNIST model's first layer in float32) through the caches;
  done block by block (:func:`blocks`, 128 KiB per array), the block's five arrays stay in the
  core's L2 cache across all the passes, and the passes run at cache speed.
- **axpy.** ``y += a * x`` in NumPy is two passes and a temporary; BLAS axpy (:func:`axpy`) reads x
  and y and writes y once.

Both fall back to plain NumPy (whole arrays, two passes) for anything else: CuPy arrays,
non-contiguous arrays, mixed dtypes.
"""
import numpy as np

from .backend import array_module

BLOCK_BYTES = 128 * 1024
"""Bytes per array in one block of :func:`blocks`: five such arrays fit in a 1 MiB L2 cache."""

_BLAS_AXPY = {}


def _blas_axpy(dtype):
    """SciPy's BLAS axpy for float32 / float64, imported on first use."""
    if not _BLAS_AXPY:
        from scipy.linalg import blas

        _BLAS_AXPY[np.dtype(np.float32)] = blas.saxpy
        _BLAS_AXPY[np.dtype(np.float64)] = blas.daxpy
    return _BLAS_AXPY.get(dtype)


def axpy(a, x, y):
    r"""y <- y + a x, in place. Returns y.

    One BLAS call when x and y are contiguous 1-D NumPy arrays of the same float32/float64 dtype
    (what :func:`blocks` yields); ``y += a * x`` otherwise.
    """
    if (type(x) is np.ndarray and type(y) is np.ndarray and x.ndim == 1 and y.ndim == 1
            and x.dtype == y.dtype and x.shape == y.shape and x.flags.c_contiguous
            and y.flags.c_contiguous and y.flags.writeable):
        f = _blas_axpy(y.dtype)
        if f is not None:
            f(x, y, a=a)                                              # updates y's memory in place
            return y
    y += a * x
    return y


def blocks(arrays, block_bytes=BLOCK_BYTES):
    """Matching pieces of equally shaped ``arrays``, to update one piece of each at a time.

    For C-contiguous NumPy arrays: 1-D views of at most ``block_bytes`` each (writes to a view reach
    the array). For anything else: the arrays themselves, as one piece.

    Yields
    ------
    tuple of arrays, one per input array.
    """
    arrays = tuple(arrays)
    if not all(type(a) is np.ndarray and a.flags.c_contiguous for a in arrays):
        yield arrays
        return
    flat = [a.reshape(-1) for a in arrays]                            # views: a is contiguous
    n = flat[0].size
    step = max(1, block_bytes // max(a.itemsize for a in arrays))
    if n <= step:
        yield tuple(flat)
        return
    for start in range(0, n, step):
        yield tuple(a[start:start + step] for a in flat)


def scratch_like(pool, key, a):
    """A scratch array of ``a``'s shape and dtype, kept in the dict ``pool`` under ``key``.

    1-D requests share one array per key and dtype (a view of its first ``a.size`` entries is
    returned), so that the blocks of all parameters reuse the same, cache-resident memory.
    """
    xp = array_module(a)
    if a.ndim == 1 and xp is np:
        buf = pool.get((key, a.dtype))
        if buf is None or buf.size < a.size:
            buf = np.empty(max(a.size, BLOCK_BYTES // a.itemsize), dtype=a.dtype)
            pool[(key, a.dtype)] = buf
        return buf[:a.size]
    buf = pool.get((key, a.shape, a.dtype, xp.__name__))
    if buf is None:
        buf = xp.empty_like(a)
        pool[(key, a.shape, a.dtype, xp.__name__)] = buf
    return buf
