r"""Vector-quantisation ops (van den Oord, Vinyals & Kavukcuoglu 2017, "Neural Discrete
Representation Learning").

- :func:`nearest_code` is the quantiser k(z) = argmin_k ||z - e_k||^2. It is piecewise constant, so it
  has no gradient and no backward; the VQ-VAE routes gradients around it (straight-through).
- :func:`gather_rows_forward` looks up the chosen code vectors, e = E[k]; its backward scatter-adds
  into the codebook rows.
- :func:`squared_error_forward` is ||a - b||^2 summed per datapoint: the codebook and commitment
  losses, and the squared-error reconstruction loss of the plain autoencoder.
"""
from ..arrays.backend import array_module
from .registry import register_op


def nearest_code(z, codebook):
    r"""Index of the nearest code vector: k = argmin_k ||z - e_k||^2 (ties: the lowest k).

    Computed as argmin_k (||e_k||^2 - 2 z . e_k), dropping ||z||^2, which does not depend on k.
    Shapes: z (..., d), codebook (K, d) -> indices (...) of integers in [0, K).
    """
    xp = array_module(z, codebook)
    scores = xp.sum(codebook * codebook, axis=1) - 2.0 * xp.matmul(z, codebook.T)  # (..., K)
    return xp.argmin(scores, axis=-1)


def gather_rows_forward(table, indices):
    r"""out[n] = table[indices[n]]: rows of ``table`` picked by integer ``indices``.

    Shapes: table (K, d), indices (...) integers in [0, K) -> out (..., d).
    """
    xp = array_module(table)
    idx = xp.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise ValueError(f"indices must be integers, got dtype {idx.dtype}")
    return table[idx], (idx, table.shape[0])


def gather_rows_backward(dout, cache):
    r"""d/dtable_k = sum over the n with indices[n] = k of dout[n] (a scatter-add).

    Written as onehot^T dout with onehot_nk = [indices[n] = k], so repeated indices accumulate.
    Shapes: dout (..., d) -> dtable (K, d).
    """
    idx, K = cache
    xp = array_module(dout)
    flat = idx.reshape(-1)                                            # (N,)
    onehot = (flat[:, None] == xp.arange(K)).astype(dout.dtype)       # (N, K)
    return xp.matmul(onehot.T, dout.reshape(flat.shape[0], -1))       # (K, d)


def squared_error_forward(a, b):
    r"""se_n = sum_j (a_nj - b_nj)^2: squared Euclidean distance per datapoint, summed over every axis
    after the first.

    Shapes: a (B, ...), b (B, ...) (same shape) -> se (B,).
    """
    xp = array_module(a, b)
    diff = a - b                                                      # (B, ...)
    axes = tuple(range(1, diff.ndim))
    return xp.sum(diff * diff, axis=axes), diff


def squared_error_backward(dse, diff):
    r"""d se_n / d a_n = 2 (a_n - b_n);   d se_n / d b_n = -2 (a_n - b_n).

    Shapes: dse (B,) -> da (B, ...), db (B, ...).
    """
    g = dse.reshape(dse.shape + (1,) * (diff.ndim - 1))               # (B, 1, ...)
    da = 2.0 * g * diff                                               # (B, ...)
    return da, -da


def _gather_inputs(rng, dtype):
    # indices as a nested list: the op checker casts arrays to float64, lists pass through.
    # Repeated indices exercise the accumulation of the scatter-add; row 4 is never picked.
    return [rng.standard_normal((5, 3)).astype(dtype), [[0, 2, 2], [3, 0, 1]]]


def _squared_error_inputs(rng, dtype):
    return [rng.standard_normal((4, 2, 3)).astype(dtype), rng.standard_normal((4, 2, 3)).astype(dtype)]


register_op("gather_rows", gather_rows_forward, gather_rows_backward, _gather_inputs, wrt=(0,))
register_op("squared_error", squared_error_forward, squared_error_backward, _squared_error_inputs, wrt=(0, 1))
