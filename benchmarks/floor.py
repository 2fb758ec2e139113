"""The GEMM floor of one training step: its matrix products timed alone with NumPy's BLAS.

One step's products, per linear layer y = x @ W + b with x (M, K), W (K, N):
forward y = x @ W, weight gradient dW = x.T @ dy, and input gradient dx = dy @ W.T except
for the layer that reads the data.  M is B for encoder layers and L*B for decoder layers.
"""

import time

import numpy as np


def step_gemms(spec, batch_size, n_samples=1):
    """The matrix products of one gradient evaluation.

    Returns
    -------
    list of (label, m, k, n, transposes)
        A product (m, k) @ (k, n); ``transposes`` says which operand is a transposed view
        ("", "a" for x.T @ dy, "b" for dy @ W.T).
    """
    gemms = []
    for prefix, fan_in, fan_out, needs_dx in spec.linear_layers():
        M = batch_size if prefix.startswith("enc.") else n_samples * batch_size
        gemms.append((f"{prefix} forward", M, fan_in, fan_out, ""))
        gemms.append((f"{prefix} dW", fan_in, M, fan_out, "a"))
        if needs_dx:
            gemms.append((f"{prefix} dx", M, fan_out, fan_in, "b"))
    return gemms


def gemm_flops(gemms):
    """Floating-point operations of the products: 2 m k n each."""
    return sum(2 * m * k * n for _, m, k, n, _ in gemms)


def _operands(m, k, n, transposes, dtype, rng):
    if transposes == "a":
        a = rng.standard_normal((k, m)).astype(dtype).T          # x.T of a C-ordered x (M, K)
    else:
        a = rng.standard_normal((m, k)).astype(dtype)
    if transposes == "b":
        b = rng.standard_normal((n, k)).astype(dtype).T          # W.T of a C-ordered W (K_in, N_out)
    else:
        b = rng.standard_normal((k, n)).astype(dtype)
    return a, b, np.empty((m, n), dtype=dtype)


def make_floor_step(spec, batch_size, n_samples, dtype, seed=0):
    """A callable running one step's matrix products back to back, nothing else.

    Timed among the frameworks (same rounds, same noise), its time is the GEMM floor.

    Returns
    -------
    fn : callable
    flops : int
    """
    rng = np.random.default_rng(seed)
    gemms = step_gemms(spec, batch_size, n_samples)
    operands = [_operands(m, k, n, transposes, dtype, rng) for _, m, k, n, transposes in gemms]

    def fn():
        for a, b, out in operands:
            np.matmul(a, b, out=out)

    return fn, gemm_flops(gemms)


ADAM_STREAMS = 7
"""Parameter-sized arrays an Adam step must move at least once: it reads p, g, m, v and writes p, m, v."""

PASS_STREAMS = 3
"""What one in-place pass ``a += b`` over the flat vector moves: it reads a and b and writes a."""


def make_stream_floor(spec, dtype, seed=0):
    """A callable making one in-place pass ``a <- a +/- b`` over two parameter-sized flat vectors.

    Timed among the frameworks, its time t gives the optimizer's streaming floor: an Adam step
    moves at least ADAM_STREAMS parameter-sized arrays through memory, so it cannot take less than
    t * ADAM_STREAMS / PASS_STREAMS at that bandwidth (whatever fuses its arithmetic, as XLA does).

    Returns
    -------
    fn : callable
    n : int
        Parameters in the vector.
    """
    n = sum(int(np.prod(shape)) for shape in spec.param_shapes().values())
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal(n).astype(dtype) for _ in range(2))
    sign = [1]

    def fn():                                                         # add, then subtract: a stays bounded
        (np.add if sign[0] > 0 else np.subtract)(a, b, out=a)
        sign[0] = -sign[0]

    return fn, n


def peak_gflops(dtype, size=1024, repeats=7):
    """NumPy's matmul throughput on square (size, size) products, GFLOP/s (best of repeats)."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size)).astype(dtype) for _ in range(2))
    out = np.empty((size, size), dtype=dtype)
    np.matmul(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


def numpy_blas():
    """NumPy's BLAS as 'name version (kernels: family)', e.g. 'scipy-openblas 0.3.31 (kernels: Haswell)',
    with ', set by OPENBLAS_CORETYPE' when the environment chose the family.

    OpenBLAS picks its kernels from the CPU at load time (OPENBLAS_CORETYPE overrides it); the
    kernel it chose decides the GEMM floor, so it is worth printing.
    """
    import os

    from numpyvae.arrays.blas import openblas_corename

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        text = f"{blas.get('name', '?')} {blas.get('version', '?')}"
    except Exception:
        return "unknown"
    corename = openblas_corename()
    if corename is None:
        return text
    forced = ", set by OPENBLAS_CORETYPE" if os.environ.get("OPENBLAS_CORETYPE") else ""
    return f"{text} (kernels: {corename}{forced})"
