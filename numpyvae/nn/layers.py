"""Dense layers and multilayer perceptrons built from :mod:`numpyvae.ops`.

A layer object holds only its structure (sizes, names, activation). Its parameters live in the
model's flat ``params`` dict under ``"<name>.W"`` and ``"<name>.b"``, and every call is a pure
function of ``(params, inputs)``: ``forward`` returns ``(out, cache)`` and ``backward(dout, cache)``
returns the input gradient and a dict of parameter gradients. Nothing is stored on ``self``, so a
layer can run several times in one step (as the decoder of a hierarchical model does).

Every method takes an optional ``workspace`` (:class:`numpyvae.arrays.workspace.Workspace`): the arrays it
makes (outputs, gradients) are then taken from it under keys that start with the layer's name,
instead of being allocated. A layer that runs several times in one step needs a separate
``workspace.scope(...)`` for each run.

Derivation: docs/derivations.md#mlp-backward
"""
from .init import init_dense
from ..ops.activations import ACTIVATIONS
from ..ops.linear import (linear_backward, linear_forward, linear_skip_zero_columns_backward,
                          linear_skip_zero_columns_forward)
from ..arrays.validation import check_positive_int
from ..arrays.workspace import as_workspace


class Dense:
    """y = x W + b, with parameters ``<name>.W`` (in_dim, out_dim) and ``<name>.b`` (out_dim,).

    ``skip_zero_columns=True`` (for the layer that reads the data) leaves out the columns of x that are
    zero in every row (:func:`numpyvae.ops.linear.linear_skip_zero_columns_forward`): the same
    numbers up to rounding, fewer operations for sparse data such as MNIST.
    """

    def __init__(self, in_dim, out_dim, name, skip_zero_columns=False):
        self.in_dim = check_positive_int(f"the input width of layer {name!r}", in_dim)
        self.out_dim = check_positive_int(f"the output width of layer {name!r}", out_dim)
        self.name = name
        self.skip_zero_columns = bool(skip_zero_columns)

    def init_params(self, rng, dtype, init="normal", init_scale=0.01):
        W, b = init_dense(self.in_dim, self.out_dim, init, rng, dtype, init_scale)
        return {f"{self.name}.W": W, f"{self.name}.b": b}

    def forward(self, params, x, workspace=None):
        """Shapes: x (N, in_dim) -> y (N, out_dim)."""
        ws = as_workspace(workspace)
        y = ws.empty(f"{self.name}:y", (x.shape[0], self.out_dim), x)
        if self.skip_zero_columns:
            return linear_skip_zero_columns_forward(x, params[f"{self.name}.W"], params[f"{self.name}.b"], out=y,
                                                    workspace=ws.scope(f"{self.name}:"))
        return linear_forward(x, params[f"{self.name}.W"], params[f"{self.name}.b"], out=y)

    def backward(self, dy, cache, workspace=None, need_dx=True, need_params=True):
        """Shapes: dy (N, out_dim) -> dx (N, in_dim), {W: (in_dim, out_dim), b: (out_dim,)}.

        ``need_dx=False`` skips the input gradient (returned as None); ``need_params=False`` skips
        the parameter gradients (an empty dict).
        """
        ws = as_workspace(workspace)
        dx = ws.empty(f"{self.name}:dx", (dy.shape[0], self.in_dim), dy) if need_dx else None
        dW = ws.empty(f"{self.name}.W:grad", (self.in_dim, self.out_dim), dy) if need_params else None
        db = ws.empty(f"{self.name}.b:grad", (self.out_dim,), dy) if need_params else None
        if self.skip_zero_columns:
            dx, dW, db = linear_skip_zero_columns_backward(dy, cache, out=(dx, dW, db), need_dx=need_dx,
                                                           workspace=ws.scope(f"{self.name}:"),
                                                           need_params=need_params)
        else:
            dx, dW, db = linear_backward(dy, cache, out=(dx, dW, db), need_dx=need_dx, need_params=need_params)
        return dx, ({f"{self.name}.W": dW, f"{self.name}.b": db} if need_params else {})


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
    sparse_input : bool
        The first layer skips the columns of its input that are zero in every row (for an MLP that
        reads the data; see :class:`Dense`).
    """

    def __init__(self, sizes, activation, name, sparse_input=False):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        self.sizes = tuple(int(s) for s in sizes)
        self.activation = activation
        self.name = name
        self.layers = [Dense(a, b, f"{name}.{i}", skip_zero_columns=sparse_input and i == 0)
                       for i, (a, b) in enumerate(zip(self.sizes[:-1], self.sizes[1:]))]

    @property
    def out_dim(self):
        return self.sizes[-1]

    def init_params(self, rng, dtype, init="normal", init_scale=0.01):
        params = {}
        for layer in self.layers:
            params.update(layer.init_params(rng, dtype, init, init_scale))
        return params

    def forward(self, params, x, workspace=None):
        """Shapes: x (N, sizes[0]) -> h (N, sizes[-1]). The cache holds one entry per layer."""
        act_forward, _ = ACTIVATIONS[self.activation]
        ws = as_workspace(workspace)
        caches = []
        h = x
        for layer in self.layers:
            a, lin_cache = layer.forward(params, h, ws)               # (N, h_i)  pre-activation
            h, act_cache = act_forward(a, out=ws.empty(f"{layer.name}:h", a.shape, a))   # (N, h_i)
            caches.append((lin_cache, act_cache))
        return h, caches

    def backward(self, dh, caches, workspace=None, need_dx=True, need_params=True):
        """Shapes: dh (N, sizes[-1]) -> dx (N, sizes[0]), grads of every layer's W and b.

        ``need_dx=False`` skips the gradient of the MLP's input (returned as None);
        ``need_params=False`` skips the parameter gradients (an empty dict).
        """
        _, act_backward = ACTIVATIONS[self.activation]
        ws = as_workspace(workspace)
        grads = {}
        for i in reversed(range(len(self.layers))):
            layer, (lin_cache, act_cache) = self.layers[i], caches[i]
            da = act_backward(dh, act_cache, out=ws.empty(f"{layer.name}:da", dh.shape, dh))   # (N, h_i)
            dh, layer_grads = layer.backward(da, lin_cache, ws, need_dx=need_dx or i > 0,       # (N, h_{i-1})
                                             need_params=need_params)
            grads.update(layer_grads)
        return dh, grads
