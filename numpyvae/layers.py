"""Dense layers and multilayer perceptrons built from :mod:`numpyvae.ops`.

A layer object holds only its structure (sizes, names, activation). Its parameters live in the
model's flat ``params`` dict under ``"<name>.W"`` and ``"<name>.b"``, and every call is a pure
function of ``(params, inputs)``: ``forward`` returns ``(out, cache)`` and ``backward(dout, cache)``
returns the input gradient and a dict of parameter gradients. Nothing is stored on ``self``, so a
layer can run several times in one step (as the decoder of a hierarchical model does).
"""
from .init import init_dense
from .ops.activations import ACTIVATIONS
from .ops.linear import linear_backward, linear_forward


class Dense:
    """y = x W + b, with parameters ``<name>.W`` (in_dim, out_dim) and ``<name>.b`` (out_dim,)."""

    def __init__(self, in_dim, out_dim, name):
        self.in_dim = int(in_dim)
        self.out_dim = int(out_dim)
        self.name = name

    def init_params(self, rng, dtype, init="normal", init_scale=0.01):
        W, b = init_dense(self.in_dim, self.out_dim, init, rng, dtype, init_scale)
        return {f"{self.name}.W": W, f"{self.name}.b": b}

    def forward(self, params, x):
        """Shapes: x (N, in_dim) -> y (N, out_dim)."""
        return linear_forward(x, params[f"{self.name}.W"], params[f"{self.name}.b"])

    def backward(self, dy, cache):
        """Shapes: dy (N, out_dim) -> dx (N, in_dim), {W: (in_dim, out_dim), b: (out_dim,)}."""
        dx, dW, db = linear_backward(dy, cache)
        return dx, {f"{self.name}.W": dW, f"{self.name}.b": db}


class MLP:
    """h = f(... f(f(x W_0 + b_0) W_1 + b_1) ...): dense layers, each followed by ``activation``.

    Parameters
    ----------
    sizes : sequence of int
        ``(in_dim, h_0, ..., h_{n-1})``; with one entry the MLP is the identity (no hidden layers).
    activation : str
        A key of :data:`numpyvae.ops.activations.ACTIVATIONS`.
    name : str
        Prefix of the parameter names: layer i owns ``"<name>.<i>.W"`` and ``"<name>.<i>.b"``.
    """

    def __init__(self, sizes, activation, name):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        self.sizes = tuple(int(s) for s in sizes)
        self.activation = activation
        self.name = name
        self.layers = [Dense(a, b, f"{name}.{i}") for i, (a, b) in enumerate(zip(self.sizes[:-1], self.sizes[1:]))]

    @property
    def out_dim(self):
        return self.sizes[-1]

    def init_params(self, rng, dtype, init="normal", init_scale=0.01):
        params = {}
        for layer in self.layers:
            params.update(layer.init_params(rng, dtype, init, init_scale))
        return params

    def forward(self, params, x):
        """Shapes: x (N, sizes[0]) -> h (N, sizes[-1]). The cache holds one entry per layer."""
        act_forward, _ = ACTIVATIONS[self.activation]
        caches = []
        h = x
        for layer in self.layers:
            a, lin_cache = layer.forward(params, h)                   # (N, h_i)  pre-activation
            h, act_cache = act_forward(a)                             # (N, h_i)
            caches.append((lin_cache, act_cache))
        return h, caches

    def backward(self, dh, caches):
        """Shapes: dh (N, sizes[-1]) -> dx (N, sizes[0]), grads of every layer's W and b."""
        _, act_backward = ACTIVATIONS[self.activation]
        grads = {}
        for layer, (lin_cache, act_cache) in zip(reversed(self.layers), reversed(caches)):
            da = act_backward(dh, act_cache)                          # (N, h_i)
            dh, layer_grads = layer.backward(da, lin_cache)           # (N, h_{i-1})
            grads.update(layer_grads)
        return dh, grads
