"""Affine layer y = x W + b and its backward pass."""
from ..backend import array_module
from .registry import register_op


def linear_forward(x, W, b):
    r"""y = x W + b.

    Shapes: x (N, I), W (I, O), b (O,) -> y (N, O).
    """
    xp = array_module(x, W)
    y = xp.matmul(x, W)                                               # (N, O)
    y += b                                                            # (N, O)  our own array
    return y, (x, W)


def linear_backward(dy, cache):
    r"""Gradients of y = x W + b.

    dL/dx = dy W^T     (N, I)
    dL/dW = x^T dy     (I, O)
    dL/db = sum_n dy_n (O,)
    """
    x, W = cache
    xp = array_module(dy)
    dx = xp.matmul(dy, W.T)                                           # (N, I)
    dW = xp.matmul(x.T, dy)                                           # (I, O)
    db = dy.sum(axis=0)                                               # (O,)
    return dx, dW, db


def _linear_inputs(rng, dtype):
    return [rng.standard_normal((5, 4)).astype(dtype),
            rng.standard_normal((4, 3)).astype(dtype),
            rng.standard_normal(3).astype(dtype)]


register_op("linear", linear_forward, linear_backward, _linear_inputs, wrt=(0, 1, 2))
