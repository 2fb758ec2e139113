r"""Elementwise activations, each a forward/backward pair.

Every backward computes dL/dx = dL/dy * f'(x), with f'(x) written in the form that reuses what the
forward already computed (for tanh, 1 - y^2 from the output y).

Every function takes an optional ``out``: an array of the result's shape to write into. It must
not overlap the inputs (a backward's ``out`` must not be ``dy`` nor the cache); this is what lets a
training step reuse its buffers (see :mod:`numpyvae.arrays.workspace`).

Derivation: docs/derivations.md#activations
"""
from ..arrays.backend import array_module
from .registry import register_op
from .stable import sigmoid, softplus


def tanh_forward(x, out=None):
    r"""y = tanh(x).  Shapes: any -> same."""
    xp = array_module(x)
    y = xp.tanh(x, out=out)
    return y, y


def tanh_backward(dy, y, out=None):
    r"""d tanh(x)/dx = 1 - tanh(x)^2 = 1 - y^2."""
    xp = array_module(dy)
    dx = xp.multiply(y, y, out=out)                                   # y^2
    xp.subtract(1.0, dx, out=dx)                                      # 1 - y^2
    dx *= dy                                                          # dy (1 - y^2)
    return dx


def relu_forward(x, out=None):
    r"""y = max(x, 0).  Shapes: any -> same."""
    xp = array_module(x)
    return xp.maximum(x, 0, out=out), x


def relu_backward(dy, x, out=None):
    r"""d relu(x)/dx = 1 if x > 0 else 0 (0 is taken at the kink x = 0)."""
    xp = array_module(dy)
    return xp.multiply(dy, x > 0, out=out)


def softplus_forward(x, out=None):
    r"""y = log(1 + e^x), stably.  Shapes: any -> same."""
    return softplus(x, out=out), x


def softplus_backward(dy, x, out=None):
    r"""d softplus(x)/dx = sigmoid(x)."""
    dx = sigmoid(x, out=out)
    dx *= dy
    return dx


def sigmoid_forward(x, out=None):
    r"""y = 1 / (1 + e^{-x}).  Shapes: any -> same."""
    y = sigmoid(x, out=out)
    return y, y


def sigmoid_backward(dy, y, out=None):
    r"""d sigmoid(x)/dx = y (1 - y)."""
    xp = array_module(dy)
    dx = xp.subtract(1.0, y, out=out)                                 # 1 - y
    dx *= y                                                           # y (1 - y)
    dx *= dy
    return dx


LEAKY_RELU_SLOPE = 0.01


def leaky_relu_forward(x, slope=LEAKY_RELU_SLOPE, out=None):
    r"""y = x if x > 0 else slope * x.  Shapes: any -> same."""
    xp = array_module(x)
    y = xp.multiply(x, slope, out=out)                                # slope x
    xp.copyto(y, x, where=x > 0)                                      # x where x > 0
    return y, (x, slope)


def leaky_relu_backward(dy, cache, out=None):
    r"""d leaky_relu(x)/dx = 1 if x > 0 else slope."""
    x, slope = cache
    xp = array_module(x)
    dx = xp.multiply(dy, slope, out=out)                              # slope dy
    xp.copyto(dx, dy, where=x > 0)                                    # dy where x > 0
    return dx


def elu_forward(x, out=None):
    r"""y = x if x > 0 else e^x - 1 (expm1 of min(x, 0), so no overflow).  Shapes: any -> same."""
    xp = array_module(x)
    y = xp.expm1(xp.minimum(x, 0), out=out)                           # e^min(x,0) - 1
    xp.copyto(y, x, where=x > 0)
    return y, (x, y)


def elu_backward(dy, cache, out=None):
    r"""d elu(x)/dx = 1 if x > 0 else e^x = y + 1."""
    x, y = cache
    xp = array_module(x)
    dx = xp.add(y, 1.0, out=out)                                      # e^x for x <= 0
    xp.copyto(dx, 1.0, where=x > 0)
    dx *= dy
    return dx


def identity_forward(x, out=None):
    r"""y = x (returned as is; ``out`` is ignored)."""
    return x, None


def identity_backward(dy, cache, out=None):
    r"""d x/dx = 1 (``dy`` is returned as is; ``out`` is ignored)."""
    return dy


ACTIVATIONS = {
    "tanh": (tanh_forward, tanh_backward),
    "relu": (relu_forward, relu_backward),
    "softplus": (softplus_forward, softplus_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward),
    "elu": (elu_forward, elu_backward),
    "identity": (identity_forward, identity_backward),
}
"""Activation name -> (forward, backward)."""


def _smooth_inputs(rng, dtype):
    return [rng.standard_normal((4, 6)).astype(dtype) * 2]


def _away_from_kink(rng, dtype):
    # |x| in [0.1, 2]: finite differences of step 1e-6 never cross the kink at 0
    sign = rng.choice([-1.0, 1.0], size=(4, 6))
    return [(sign * rng.uniform(0.1, 2.0, size=(4, 6))).astype(dtype)]


_KINKED = {"relu", "leaky_relu", "elu"}
for _name, (_fwd, _bwd) in ACTIVATIONS.items():
    register_op(_name, _fwd, _bwd, _away_from_kink if _name in _KINKED else _smooth_inputs, wrt=(0,))
