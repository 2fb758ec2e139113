"""Weight initialisers for dense layers.

- ``"normal"``: every weight and bias drawn from N(0, scale^2), scale = 0.01 by default
  (Kingma & Welling 2013, section 5: "parameters were initialized by random sampling from N(0, 0.01)").
- ``"glorot"``: W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010); b = 0.
- ``"he"``: W ~ N(0, 2 / fan_in) (He et al. 2015), for relu-like activations; b = 0.
"""
import numpy as np

INITIALIZERS = ("normal", "glorot", "he")


def init_dense(fan_in, fan_out, method, rng, dtype, scale=0.01):
    """Draw the weight (fan_in, fan_out) and bias (fan_out,) of one dense layer, as NumPy arrays.

    Parameters
    ----------
    fan_in, fan_out : int
    method : {"normal", "glorot", "he"}
    rng : numpy.random.Generator
    dtype : numpy dtype
    scale : float
        Standard deviation for ``"normal"``.
    """
    if method == "normal":
        W = scale * rng.standard_normal((fan_in, fan_out))
        b = scale * rng.standard_normal(fan_out)
    elif method == "glorot":
        a = np.sqrt(6.0 / (fan_in + fan_out))
        W = rng.uniform(-a, a, size=(fan_in, fan_out))
        b = np.zeros(fan_out)
    elif method == "he":
        W = np.sqrt(2.0 / fan_in) * rng.standard_normal((fan_in, fan_out))
        b = np.zeros(fan_out)
    else:
        raise ValueError(f"unknown initializer {method!r}; choose one of {', '.join(INITIALIZERS)}")
    return W.astype(dtype), b.astype(dtype)
