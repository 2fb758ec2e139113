r"""Elementwise activations, each a forward/backward pair.

Every backward computes dL/dx = dL/dy * f'(x), with f'(x) written in the form that reuses what the
forward already computed (for tanh, 1 - y^2 from the output y).
"""
from ..backend import array_module
from .registry import register_op
from .stable import sigmoid, softplus


def tanh_forward(x):
    r"""y = tanh(x).  Shapes: any -> same."""
    xp = array_module(x)
    y = xp.tanh(x)
    return y, y


def tanh_backward(dy, y):
    r"""d tanh(x)/dx = 1 - tanh(x)^2 = 1 - y^2."""
    return dy * (1.0 - y * y)


def relu_forward(x):
    r"""y = max(x, 0).  Shapes: any -> same."""
    xp = array_module(x)
    return xp.maximum(x, 0), x


def relu_backward(dy, x):
    r"""d relu(x)/dx = 1 if x > 0 else 0 (0 is taken at the kink x = 0)."""
    return dy * (x > 0)


def softplus_forward(x):
    r"""y = log(1 + e^x), stably.  Shapes: any -> same."""
    return softplus(x), x


def softplus_backward(dy, x):
    r"""d softplus(x)/dx = sigmoid(x)."""
    return dy * sigmoid(x)


def sigmoid_forward(x):
    r"""y = 1 / (1 + e^{-x}).  Shapes: any -> same."""
    y = sigmoid(x)
    return y, y


def sigmoid_backward(dy, y):
    r"""d sigmoid(x)/dx = y (1 - y)."""
    return dy * y * (1.0 - y)


LEAKY_RELU_SLOPE = 0.01


def leaky_relu_forward(x, slope=LEAKY_RELU_SLOPE):
    r"""y = x if x > 0 else slope * x.  Shapes: any -> same."""
    xp = array_module(x)
    return xp.where(x > 0, x, slope * x), (x, slope)


def leaky_relu_backward(dy, cache):
    r"""d leaky_relu(x)/dx = 1 if x > 0 else slope."""
    x, slope = cache
    xp = array_module(x)
    return dy * xp.where(x > 0, 1.0, slope)


def elu_forward(x):
    r"""y = x if x > 0 else e^x - 1 (expm1 of min(x, 0), so no overflow).  Shapes: any -> same."""
    xp = array_module(x)
    y = xp.where(x > 0, x, xp.expm1(xp.minimum(x, 0)))
    return y, (x, y)


def elu_backward(dy, cache):
    r"""d elu(x)/dx = 1 if x > 0 else e^x = y + 1."""
    x, y = cache
    xp = array_module(x)
    return dy * xp.where(x > 0, 1.0, y + 1.0)


def identity_forward(x):
    r"""y = x."""
    return x, None


def identity_backward(dy, cache):
    r"""d x/dx = 1."""
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
