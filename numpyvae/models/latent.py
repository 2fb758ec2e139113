"""What the front ends ask of any registered model's latent space: its width and the decoder's mean.

Every registered model has ``embed(x, **condition)`` (one latent point per datapoint: a posterior
mean, a code, a quantised vector) and ``decode(z, **condition)`` (a dict of decoder outputs at such
points, ``{"logits"}`` or ``{"mean", ...}``); these helpers build on the two.
"""
import numpy as np

from ..ops.stable import sigmoid

__all__ = ["decoder_mean", "code_width"]


def _host(model, a):
    backend = getattr(model, "backend", None)
    return np.asarray(backend.to_numpy(a) if backend is not None else a)


def decoder_mean(model, z, **condition):
    """E[x | z] at latent points ``z`` (N, code_width), on the host: ``model.decode_mean(z)`` if the
    model has it, else from what ``model.decode(z)`` returns: sigmoid of ``"logits"``, or ``"mean"``.

    Raises
    ------
    ValueError
        For a model whose decoder output is neither.
    """
    if hasattr(model, "decode_mean"):
        return _host(model, model.decode_mean(z, **condition))
    out = model.decode(z, **condition) if hasattr(model, "decode") else None
    if isinstance(out, dict) and "logits" in out:
        return _host(model, sigmoid(out["logits"]))
    if isinstance(out, dict) and "mean" in out:
        return _host(model, out["mean"])
    raise ValueError(f"{type(model).__name__} has no decoder mean (no decode_mean, and decode(z) gives "
                     f"neither 'logits' nor 'mean')")


def code_width(model, **condition):
    """The width of the latent points ``model.embed`` gives and ``model.decode`` reads (for the
    hierarchical VAE that is z1's, not ``latent_dim``, which counts both layers). Found by embedding
    one all-zero datapoint (valid for every likelihood); ``condition`` for a conditional model."""
    x = np.zeros((1, model.input_dim), dtype=getattr(model, "dtype", np.float64))
    return int(_host(model, model.embed(x, **condition)).shape[-1])
