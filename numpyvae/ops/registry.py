"""The registry of hand-written ops, so that every one is gradient-checked.

Each op module registers its ``<op>_forward`` / ``<op>_backward`` pair once, with a function that
makes valid inputs (avoiding kinks such as relu at 0). ``tests/test_ops_gradcheck.py`` runs the
float64 finite-difference check over every entry, and a meta-test fails when some ``*_forward``
function in the package has no entry here.
"""
from dataclasses import dataclass
from typing import Callable, Tuple


@dataclass(frozen=True)
class OpSpec:
    """One hand-written op.

    Attributes
    ----------
    name : str
        Name of the op, e.g. ``"linear"``.
    forward : callable
        ``forward(*inputs) -> (out, cache)``; ``out`` is an array or a tuple of arrays.
    backward : callable
        ``backward(dout, cache) -> grads``: ``dout`` has the structure of ``out``; ``grads`` is one
        array (a single differentiated input) or a tuple, aligned with ``wrt``.
    make_inputs : callable
        ``make_inputs(rng, dtype) -> list`` of forward's positional inputs.
    wrt : tuple of int
        Positions of the inputs that ``backward`` differentiates, in the order it returns them.
    """

    name: str
    forward: Callable
    backward: Callable
    make_inputs: Callable
    wrt: Tuple[int, ...]


OPS = {}


def register_op(name, forward, backward, make_inputs, wrt):
    """Enrol an op in the finite-difference checks. Returns the :class:`OpSpec`."""
    if name in OPS:
        raise ValueError(f"op {name!r} is registered twice")
    spec = OpSpec(name, forward, backward, make_inputs, tuple(wrt))
    OPS[name] = spec
    return spec
