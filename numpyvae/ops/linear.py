"""Affine layer y = x W + b and its backward pass.

Derivation: docs/derivations.md#linear
"""
from ..arrays.backend import array_module
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


def linear_backward(dy, cache, out=None, need_dx=True):
    r"""Gradients of y = x W + b.

    dL/dx = dy W^T     (N, I)
    dL/dW = x^T dy     (I, O)
    dL/db = sum_n dy_n (O,)

    ``out``, optional: a tuple ``(dx, dW, db)`` of arrays to write into (an entry may be None).
    ``need_dx=False`` skips the product dy W^T and returns ``dx = None``: the layer that reads the
    data needs no input gradient, and that product costs as much as the forward pass.
    """
    x, W = cache
    xp = array_module(dy)
    dx_out, dW_out, db_out = (None, None, None) if out is None else out
    dx = xp.matmul(dy, W.T, out=dx_out) if need_dx else None         # (N, I)
    dW = xp.matmul(x.T, dy, out=dW_out)                               # (I, O)  BLAS reads x.T in place
    db = sum_first_axis(dy, out=db_out)                               # (O,)
    return dx, dW, db


def _linear_inputs(rng, dtype):
    return [rng.standard_normal((5, 4)).astype(dtype),
            rng.standard_normal((4, 3)).astype(dtype),
            rng.standard_normal(3).astype(dtype)]


register_op("linear", linear_forward, linear_backward, _linear_inputs, wrt=(0, 1, 2))
