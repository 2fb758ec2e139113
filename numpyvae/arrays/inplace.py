r"""In-place elementwise updates of large arrays, as optimizers need them.

Two things shape how an optimizer step should run:

- **One flat vector.** A model's parameters can live as consecutive pieces of one contiguous array
  (:func:`pack`): ``params[name]`` is then a view into it. When the gradients are laid out the same
  way, an update runs over that one vector (:func:`joined` finds it) instead of parameter by
  parameter, which for the MNIST model turns 10 updates, 8 of them on arrays of a few hundred to
  10,000 numbers dominated by call overhead, into one.
- **Blocks.** An update such as Adam's reads and writes the parameter, the gradient, two state arrays
  and a scratch array several times each. Done one whole array at a time, every pass streams a
  parameter-sized array (1.5 MB for the MNIST model's first layer in float32) through the caches;
  done block by block (:func:`blocks`, 256 KiB per array), the block's arrays stay in the core's
  L2 cache across all the passes, and the passes run at cache speed.

Both fall back to plain NumPy (whole arrays, one at a time) for anything else: CuPy arrays,
non-contiguous arrays, arrays that are not pieces of one vector.

The updates use NumPy's ufuncs alone. Not SciPy's BLAS, whose axpy would fuse y + a x into one
pass: it is a second OpenBLAS with its own thread pool, whose threads compete with NumPy's for the
same cores when BLAS runs multi-threaded. An optimizer asked for more than one thread
(``opt.threads``) hands contiguous pieces of the flat vector to standard-library threads, which run
these blocked updates side by side (:mod:`numpyvae.arrays.parallel`); by default they run in the
calling thread.
"""
import numpy as np

from .backend import array_module

BLOCK_BYTES = 256 * 1024
"""Bytes per array in one block of :func:`blocks`: the five blocks of an Adam update (parameter,
gradient, two state arrays, scratch) take about one 1 MiB L2 cache; smaller blocks pay more in
per-call overhead than they gain."""


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


def pack(arrays, xp=np):
    """Copy ``arrays`` (a dict name -> array, all of one dtype) into one new contiguous vector.

    Returns ``(flat, views)``: ``views[name]`` is ``flat[start:stop].reshape(shape)``, a view, in the
    order of ``arrays``. Writing into a view (``views[name][...] = value``) keeps the layout;
    rebinding a name to another array simply takes that array out of the flat vector.
    """
    dtypes = {a.dtype for a in arrays.values()}
    if len(dtypes) != 1:
        raise ValueError(f"pack needs arrays of one dtype, got {sorted(str(d) for d in dtypes)}")
    flat = xp.empty(sum(int(a.size) for a in arrays.values()), dtype=dtypes.pop())
    views, start = {}, 0
    for name, a in arrays.items():
        view = flat[start:start + a.size].reshape(a.shape)
        view[...] = a
        views[name] = view
        start += a.size
    return flat, views


def joined(arrays):
    """The 1-D array that ``arrays`` (a sequence) are consecutive pieces of, in order, or None.

    True for the views made by :func:`pack` (and by :meth:`numpyvae.arrays.workspace.Workspace.pack`) as
    long as none was replaced: every array C-contiguous, of one dtype, with one common base, each
    starting where the previous one ends.
    """
    arrays = list(arrays)
    if not arrays:
        return None
    base, start, n_pieces = _consecutive_pieces(arrays)
    if n_pieces < len(arrays):
        return None
    return base[start:start + sum(a.size for a in arrays)]


def _consecutive_pieces(arrays):
    """``(base, start, n)``: ``arrays[:n]`` are consecutive pieces of the 1-D array ``base`` from
    index ``start`` on, and ``arrays[n]`` (if any) is the first that is not. ``n = 0`` (and
    ``base = None``) when the first array is no piece of a 1-D NumPy vector at all."""
    first = arrays[0]
    base = first.base if type(first) is np.ndarray else None
    if type(base) is not np.ndarray or base.ndim != 1 or not base.flags.c_contiguous:
        return None, 0, 0
    itemsize = base.itemsize
    start = (first.ctypes.data - base.ctypes.data) // itemsize
    position = start
    for i, a in enumerate(arrays):
        if (type(a) is not np.ndarray or not a.flags.c_contiguous or a.base is not base
                or a.dtype != base.dtype or a.ctypes.data != base.ctypes.data + position * itemsize):
            return base, start, i
        position += a.size
    return base, start, len(arrays)


def check_flat_layout(params, grads, owner="the model"):
    """Check that ``params`` and ``grads`` are each the consecutive pieces of one flat vector.

    What an optimizer needs to update every parameter in one pass (see :func:`joined`): the arrays
    of ``params`` (a dict name -> array), in its order, are consecutive pieces of one contiguous 1-D
    NumPy vector, and so are the gradients ``grads[name]`` taken in the same order, each of its
    parameter's shape. A training engine calls this once on the first step of a model that
    declares ``flat_params``, so that a broken layout is an error instead of a silent slow path.

    Parameters
    ----------
    params, grads : dict of str -> array
    owner : str
        Who the arrays belong to, for the message.

    Returns
    -------
    (params_flat, grads_flat) : the two 1-D vectors.

    Raises
    ------
    ValueError
        Naming the first parameter whose array (or whose gradient) is not the next piece of the
        flat vector, or is missing. CuPy arrays never pass (the one-pass update is NumPy's).
    """
    names = list(params)
    if not names:
        raise ValueError(f"{owner} has no parameters to lay out")
    for name in names:
        if name not in grads:
            raise ValueError(f"{owner}: no gradient for parameter {name!r}")
        if grads[name].shape != params[name].shape:
            raise ValueError(f"{owner}: the gradient of {name!r} has shape {tuple(grads[name].shape)}, "
                             f"the parameter {tuple(params[name].shape)}")
    flats = []
    for what, arrays, hint in (
            ("parameter", [params[n] for n in names],
             "was it rebound instead of written in place, params[name][...] = value?"),
            ("gradient", [grads[n] for n in names],
             "workspace.pack the gradient buffers in params order and write every gradient into its buffer")):
        base, start, n = _consecutive_pieces(arrays)
        if n < len(names):
            where = "the start of a flat vector" if n == 0 else f"the piece after {names[n - 1]!r}"
            raise ValueError(f"{owner}: the {what} of {names[n]!r} is not {where} in one contiguous "
                             f"vector ({hint})")
        flats.append(base[start:start + sum(a.size for a in arrays)])
    return tuple(flats)


class JoinedCache:
    """:func:`joined` of a sequence of arrays, remembered while the same array objects come back.

    Checking the layout costs a pointer lookup per array (tens of microseconds for a model's
    parameters); a training loop passes the same arrays every step, so the answer is kept and
    reused when every array is the very object of the previous call (``is``), as a workspace's
    gradients and a model's parameters are. Holds references to the last arrays it was given.
    """

    def __init__(self):
        self._arrays = ()
        self._result = None

    def __call__(self, arrays):
        arrays = tuple(arrays)
        if len(arrays) != len(self._arrays) or any(a is not b for a, b in zip(arrays, self._arrays)):
            self._arrays, self._result = arrays, joined(arrays)
        return self._result
