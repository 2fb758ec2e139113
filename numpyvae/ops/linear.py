"""Affine layer y = x W + b and its backward pass.

Derivation: docs/derivations.md#linear
"""
import numpy as np

from ..arrays.backend import array_module
from ..arrays.workspace import as_workspace
from .reductions import sum_first_axis
from .registry import register_op


def linear_forward(x, W, b, out=None):
    r"""y = x W + b.

    Shapes: x (N, I), W (I, O), b (O,) -> y (N, O). ``out``, optional: an (N, O) array to write y
    into (it must not overlap x).
    """
    xp = array_module(x, W)
    y = xp.matmul(x, W, out=out)                                      # (N, O)
    y += b                                                            # (N, O)  our own array
    return y, (x, W)


def linear_backward(dy, cache, out=None, need_dx=True, need_params=True):
    r"""Gradients of y = x W + b.

    dL/dx = dy W^T     (N, I)
    dL/dW = x^T dy     (I, O)
    dL/db = sum_n dy_n (O,)

    ``out``, optional: a tuple ``(dx, dW, db)`` of arrays to write into (an entry may be None).
    ``need_dx=False`` skips the product dy W^T and returns ``dx = None``: the layer that reads the
    data needs no input gradient, and that product costs as much as the forward pass.
    ``need_params=False`` skips x^T dy and the sum and returns ``dW = db = None``: a gradient with
    respect to the input alone (HMC's dU/dz), where x^T dy would cost as much as the forward pass.
    """
    x, W = cache
    xp = array_module(dy)
    dx_out, dW_out, db_out = (None, None, None) if out is None else out
    dx = xp.matmul(dy, W.T, out=dx_out) if need_dx else None         # (N, I)
    if not need_params:
        return dx, None, None
    dW = xp.matmul(x.T, dy, out=dW_out)                               # (I, O)  BLAS reads x.T in place
    db = sum_first_axis(dy, out=db_out)                               # (O,)
    return dx, dW, db


SPARSE_FRACTION = 0.85
""":func:`linear_skip_zero_columns_forward` skips the all-zero columns of x when at most this share of
the columns is used; above it, gathering the used rows of W costs more than the product saves."""


def linear_skip_zero_columns_forward(x, W, b, out=None, workspace=None):
    r"""y = x W + b for data x whose columns are often all zero, reading only the columns that are not.

    With S = {i : x_ni != 0 for some n} (for MNIST: the pixels lit in some image of the minibatch,
    two thirds of them in a batch of 100), every term with i outside S is 0 * W_io = 0, so

        y_no = sum_i x_ni W_io + b_o = sum_{i in S} x_ni W_io + b_o,   i.e.   y = x_S W_S + b

    with x_S = x[:, S] (N, |S|) and W_S = W[S, :] (|S|, O): :func:`linear_forward` without its zero
    terms, equal to it up to rounding (the sum over i is taken in another order). Where S holds more
    than :data:`SPARSE_FRACTION` of the columns (or for CuPy arrays) this is :func:`linear_forward`.
    The pair is exact in the same sense for non-finite W: 0 * inf terms are left out, not NaN.

    Shapes: x (N, I), W (I, O), b (O,) -> y (N, O). ``out``: optional (N, O) array for y;
    ``workspace``: where x_S, W_S (and the backward's dW_S) come from (:mod:`numpyvae.arrays.workspace`).
    Cache: ``(x, W, S, x_S)``, S None on the dense path.
    """
    xp = array_module(x, W)
    N, I = x.shape
    S = np.flatnonzero(x.any(axis=0)) if xp is np else None             # (|S|,) used columns, ascending
    if S is None or S.size > SPARSE_FRACTION * I:
        y, _ = linear_forward(x, W, b, out=out)
        return y, (x, W, None, None)
    ws = as_workspace(workspace)
    k, O = S.size, W.shape[1]
    x_S = ws.empty("skip_zero_columns:x_S", (N * I,), x)[:N * k].reshape(N, k)     # (N, |S|)
    W_S = ws.empty("skip_zero_columns:W_S", (I * O,), W)[:k * O].reshape(k, O)     # (|S|, O)
    np.take(x, S, axis=1, out=x_S, mode="clip")                       # mode clip: no copy of out (S is in range)
    np.take(W, S, axis=0, out=W_S, mode="clip")
    y = np.matmul(x_S, W_S, out=out)                                  # (N, O)
    y += b
    return y, (x, W, S, x_S)


def linear_skip_zero_columns_backward(dy, cache, out=None, need_dx=True, workspace=None, need_params=True):
    r"""Gradients of y = x_S W_S + b (:func:`linear_skip_zero_columns_forward`).

    dL/dW_i = sum_n x_ni dy_n = x_S^T dy  for i in S,   and exactly 0 for i outside S (x_ni = 0, all n)
    dL/db   = sum_n dy_n
    dL/dx   = dy W^T                    (every column: the derivative does not depend on x)

    Arguments as for :func:`linear_backward`; ``workspace`` gives the (|S|, O) scratch for x_S^T dy.
    """
    x, W, S, x_S = cache
    if S is None:
        return linear_backward(dy, (x, W), out=out, need_dx=need_dx, need_params=need_params)
    dx_out, dW_out, db_out = (None, None, None) if out is None else out
    I, O = W.shape
    k = S.size
    dx = np.matmul(dy, W.T, out=dx_out) if need_dx else None          # (N, I)
    if not need_params:
        return dx, None, None
    dW = np.empty((I, O), dtype=dy.dtype) if dW_out is None else dW_out
    dW_S = as_workspace(workspace).empty("skip_zero_columns:dW_S", (I * O,), dy)[:k * O].reshape(k, O)
    np.matmul(x_S.T, dy, out=dW_S)                                    # (|S|, O)  x_S^T dy
    dW[S] = dW_S                                                      # the rows of the used columns
    unused = np.ones(I, dtype=bool)
    unused[S] = False
    dW[unused] = 0.0                                                  # dL/dW_i = 0: x_i is 0 in every row
    db = sum_first_axis(dy, out=db_out)                               # (O,)
    return dx, dW, db


def _linear_inputs(rng, dtype):
    return [rng.standard_normal((5, 4)).astype(dtype),
            rng.standard_normal((4, 3)).astype(dtype),
            rng.standard_normal(3).astype(dtype)]


register_op("linear", linear_forward, linear_backward, _linear_inputs, wrt=(0, 1, 2))


def _sparse_inputs(rng, dtype):
    x = rng.standard_normal((5, 7)).astype(dtype)
    x[:, [1, 4, 5]] = 0.0                                             # all-zero columns: the skipped path
    return [x, rng.standard_normal((7, 3)).astype(dtype), rng.standard_normal(3).astype(dtype)]


register_op("linear_skip_zero_columns", linear_skip_zero_columns_forward, linear_skip_zero_columns_backward,
            _sparse_inputs, wrt=(0, 1, 2))
