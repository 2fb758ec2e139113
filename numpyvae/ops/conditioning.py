r"""Concatenating a condition vector onto a layer's input (conditional VAE, Sohn et al. 2015).

The condition c has one row per datapoint; the input may carry a leading sample axis (z of shape
(L, B, Z)), over which c is broadcast: [z_l, c] for every sample l.
"""
from ..arrays.backend import array_module
from .registry import register_op


def concat_condition_forward(a, c):
    r"""out = [a, c] along the last axis, c broadcast over a's leading sample axes.

    Shapes: a (..., B, Da), c (B, Dc) -> out (..., B, Da + Dc).
    """
    xp = array_module(a, c)
    c_full = xp.broadcast_to(c, a.shape[:-1] + (c.shape[-1],))        # (..., B, Dc)
    return xp.concatenate([a, c_full.astype(a.dtype, copy=False)], axis=-1), (a.shape[-1], c.ndim)


def concat_condition_backward(dout, cache):
    r"""d/da = dout[..., :Da];  d/dc = dout[..., Da:] summed over the broadcast sample axes.

    Shapes: dout (..., B, Da + Dc) -> da (..., B, Da), dc (B, Dc).
    """
    Da, c_ndim = cache
    da = dout[..., :Da]                                               # (..., B, Da)
    dc = dout[..., Da:]                                               # (..., B, Dc)
    while dc.ndim > c_ndim:
        dc = dc.sum(axis=0)                                           # (B, Dc)
    return da, dc


def _concat_inputs(rng, dtype):
    return [rng.standard_normal((2, 3, 4)).astype(dtype), rng.standard_normal((3, 2)).astype(dtype)]


register_op("concat_condition", concat_condition_forward, concat_condition_backward, _concat_inputs, wrt=(0, 1))
