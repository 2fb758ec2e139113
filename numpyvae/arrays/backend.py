"""Array backends: NumPy by default, CuPy optionally.

The math in :mod:`numpyvae.ops` never imports NumPy directly for array work: it asks
:func:`array_module` for the module that owns its inputs (``xp = array_module(x)``), so the same
code runs on CuPy arrays. A :class:`Backend` is what a model holds: it creates parameter arrays,
draws noise and moves arrays to and from the host.
"""
import os

import numpy as np

BACKEND_NAMES = ("numpy", "cupy")


def array_module(*arrays):
    """Return the array module (``numpy`` or ``cupy``) that owns ``arrays``.

    Plain Python scalars and NumPy arrays give ``numpy``; any CuPy array gives ``cupy``.
    """
    for a in arrays:
        if type(a) is np.ndarray:                                     # the common case, checked first
            continue
        if type(a).__module__.split(".")[0] == "cupy":
            import cupy

            return cupy
    return np


class Backend:
    """Where arrays live and how noise is drawn.

    Parameters
    ----------
    name : {"numpy", "cupy"}
    xp : module
        The array module (``numpy`` or ``cupy``).
    """

    def __init__(self, name, xp):
        self.name = name
        self.xp = xp

    def __repr__(self):
        return f"Backend({self.name!r})"

    def __reduce__(self):
        """Pickle (and ``copy.deepcopy``) by name: the array module itself cannot be pickled, and
        unpickling looks the backend up again (:func:`get_backend`), so a model pickled on one machine
        loads wherever that backend runs."""
        return get_backend, (self.name,)

    def asarray(self, a, dtype=None):
        """Move ``a`` onto this backend (a no-op for arrays already there)."""
        return self.xp.asarray(a, dtype=dtype)

    def to_numpy(self, a):
        """Copy ``a`` to a host NumPy array (a no-op on the NumPy backend)."""
        if self.name == "numpy":
            return np.asarray(a)
        return self.xp.asnumpy(a)

    def standard_normal(self, rng, shape, dtype):
        """Draw N(0, 1) noise of ``shape`` and ``dtype`` on this backend.

        ``rng`` is a ``numpy.random.Generator`` or, on CuPy, a ``cupy.random.Generator``. A device
        generator draws on the device; a NumPy generator draws on the host (so the same seed gives
        the same noise on every backend) and the noise is then copied to the device.
        """
        if type(rng).__module__.split(".")[0] == "cupy":
            return rng.standard_normal(shape, dtype=dtype)
        return self.asarray(rng.standard_normal(shape, dtype=np.dtype(dtype)))


NUMPY = Backend("numpy", np)


def get_backend(name=None):
    """Return the backend called ``name``.

    ``None`` reads the ``NUMPYVAE_BACKEND`` environment variable (default ``"numpy"``). A
    :class:`Backend` instance is returned unchanged.

    Raises
    ------
    ValueError
        For an unknown name.
    RuntimeError
        When CuPy is asked for but is not installed or finds no CUDA device; the message says which.
    """
    if isinstance(name, Backend):
        return name
    if name is None:
        name = os.environ.get("NUMPYVAE_BACKEND", "numpy") or "numpy"
    name = str(name).lower()
    if name == "numpy":
        return NUMPY
    if name == "cupy":
        return _cupy_backend()
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")


def cupy_unavailable_reason():
    """Why the CuPy backend cannot run here, or ``None`` when it can."""
    try:
        import cupy
    except ImportError:
        return 'CuPy is not installed (install it with: pip install "numpyvae[gpu]")'
    except Exception as exc:  # a broken CUDA install can fail at import time
        return f"CuPy failed to import: {exc}"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return f"CuPy is installed but no CUDA device is usable: {exc}"
    if n < 1:
        return "CuPy is installed but no CUDA device was found"
    return None


def _cupy_backend():
    reason = cupy_unavailable_reason()
    if reason is not None:
        raise RuntimeError(f"the 'cupy' backend is unavailable: {reason}")
    import cupy

    return Backend("cupy", cupy)
