r"""Which compute kernels NumPy's OpenBLAS uses, and whether faster ones would run on this CPU.

NumPy's wheels bundle OpenBLAS, which picks a kernel family from the CPU model once, when the
library loads; the environment variable ``OPENBLAS_CORETYPE``, read at that moment, overrides the
choice. Forcing the AVX2 family ("Haswell") on a CPU with AVX-512 halves the speed of the matrix
products, which are most of a training step: on a 2-core AMD Zen 5 machine whose environment sets
``OPENBLAS_CORETYPE=Haswell``, the products of one step of Kingma & Welling's MNIST model take
4.23 ms in float32 on one thread, against 2.49 ms with the "SkylakeX" (AVX-512) kernels that
OpenBLAS 0.3.31 picks there by itself, and a whole numpyvae step 5.74 against 4.16 ms
(``docs/benchmarks.md``).

numpyvae leaves the choice to the user (the variable affects every library in the process);
``numpyvae info`` prints the kernels in use and says when faster ones would run.
"""
import ctypes
import glob
import os

AVX512_FLAGS = ("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl")
"""CPU flags (as /proc/cpuinfo spells them) that OpenBLAS's SkylakeX kernels use."""

AVX2_FAMILIES = ("Haswell", "Zen")
"""OpenBLAS kernel families that use AVX2 and no AVX-512."""


def cpu_flags(path="/proc/cpuinfo"):
    """The CPU's feature flags (a set of strings), or an empty set where the file cannot be read."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def openblas_corename():
    """The kernel family NumPy's OpenBLAS chose (e.g. ``"Haswell"``): threadpoolctl's answer when it is
    installed (:func:`numpyvae.arrays.threads.blas_libraries`), else asked of NumPy's bundled OpenBLAS
    through its C API; None when neither can tell. Imports NumPy."""
    import numpy as np

    from .threads import blas_libraries

    folder = os.path.dirname(np.__file__) + ".libs"
    for lib in blas_libraries() or ():                                 # NumPy's OpenBLAS, not SciPy's
        if lib["library"] == "openblas" and lib["architecture"] and (lib["path"] or "").startswith(folder):
            return lib["architecture"]
    for lib in sorted(glob.glob(os.path.join(folder, "*openblas*"))):
        try:
            handle = ctypes.CDLL(lib)
        except OSError:
            continue
        for symbol in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                       "openblas_get_corename64_", "openblas_get_corename"):
            fn = getattr(handle, symbol, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                return fn().decode()
    return None


def _openblas_function(names, restype):
    """The first of the C functions ``names`` that NumPy's bundled OpenBLAS exports, or None."""
    import numpy as np

    folder = os.path.dirname(np.__file__) + ".libs"
    for lib in sorted(glob.glob(os.path.join(folder, "*openblas*"))):
        try:
            handle = ctypes.CDLL(lib)
        except OSError:
            continue
        for symbol in names:
            fn = getattr(handle, symbol, None)
            if fn is not None:
                fn.restype = restype
                return fn
    return None


_NUM_THREADS = []


def openblas_num_threads():
    """How many threads NumPy's bundled OpenBLAS runs its matrix products on (``OPENBLAS_NUM_THREADS``,
    else the cores it found), or None when NumPy does not use a bundled OpenBLAS that can be asked.

    The answer is read once (the library is found on the first call) and kept.
    """
    if not _NUM_THREADS:
        fn = _openblas_function(("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                                 "openblas_get_num_threads64_", "openblas_get_num_threads"), ctypes.c_int)
        _NUM_THREADS.append(fn)
    fn = _NUM_THREADS[0]
    return None if fn is None else int(fn())


_CORENAME = []


def blas_setting():
    """The BLAS settings that decide how a float matrix product rounds: ``{"kernels": ..., "threads": ...}``
    (:func:`openblas_corename` and :func:`openblas_num_threads`; None where they cannot be told).

    The same seed gives the same run bit for bit only where these are the same: another kernel family,
    or another thread count, splits a product's sums differently (with the SkylakeX kernels of
    OpenBLAS 0.3.31, a (100, 784) x (784, 500) float32 product on two threads differs from one thread
    by up to 5e-5 in some entries). The kernel family is read once (it is fixed when the library
    loads); the thread count each call (threadpoolctl can change it at any time).
    """
    if not _CORENAME:
        _CORENAME.append(openblas_corename())
    return {"kernels": _CORENAME[0], "threads": openblas_num_threads()}


def blas_change(saved, now):
    """How the BLAS settings ``now`` differ from ``saved`` (each as :func:`blas_setting` returns it), in
    words, or None when they agree or either is not known (a checkpoint of an earlier version)."""
    if not isinstance(saved, dict) or not isinstance(now, dict):
        return None
    keys = [k for k in ("kernels", "threads") if saved.get(k) is not None and now.get(k) is not None]
    if all(saved[k] == now[k] for k in keys):
        return None

    def words(s):
        return f"{s.get('kernels') or 'unknown'} kernels on {s.get('threads') or 'an unknown number of'} thread(s)"
    return (f"the BLAS runs {words(now)} where the checkpoint was saved with {words(saved)}: the matrix "
            "products round differently, so the run goes on as a run of its own, not bit for bit as it "
            "would have with the saved settings")


def faster_coretype(corename, flags):
    """``"SkylakeX"`` when OpenBLAS runs AVX2 kernels (``corename``) on a CPU whose ``flags`` include
    every AVX-512 subset those kernels need; else None."""
    if corename in AVX2_FAMILIES and all(f in flags for f in AVX512_FLAGS):
        return "SkylakeX"
    return None


def describe():
    """Lines that say which kernels run here, why, with how many threads, and what would be faster."""
    import numpy as np

    from .threads import THREADS_HINT, blas_libraries

    corename = openblas_corename()
    flags = cpu_flags()
    lines = [f"numpy {np.__version__}, BLAS kernels: {corename or 'not a bundled OpenBLAS'}"]
    if os.environ.get("OPENBLAS_CORETYPE"):
        lines.append(f"  chosen by OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} in the environment")
    libraries = blas_libraries()
    if libraries is None:
        lines.append(f"BLAS threads: unknown ({THREADS_HINT}); --threads N sets them")
    for lib in libraries or ():
        lines.append(f"BLAS library {lib['library']} {lib['version']}: {lib['threads']} thread(s), {lib['path']}")
    has_avx512 = all(f in flags for f in AVX512_FLAGS)
    lines.append(f"CPU AVX-512 (F, CD, BW, DQ, VL): {'yes' if has_avx512 else 'no' if flags else 'unknown'}")
    faster = faster_coretype(corename, flags)
    if faster:
        how = ("unset OPENBLAS_CORETYPE or set it to " if os.environ.get("OPENBLAS_CORETYPE")
               else "set OPENBLAS_CORETYPE=")
        lines.append(f"Faster matrix products: {how}{faster} before NumPy is imported; "
                     f"OpenBLAS runs AVX2 kernels on this AVX-512 CPU.")
    return lines
