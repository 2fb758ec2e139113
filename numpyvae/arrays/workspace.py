r"""Arrays kept from one training step to the next.

A training step of a fixed model at a fixed batch size makes the same arrays every time: the
activations, their gradients and the parameter gradients. Allocating them afresh is not free: every
block of 128 KiB or more that glibc hands out is mapped fresh from the system and page-faults on first
touch, and freeing it unmaps it again. A :class:`Workspace` keeps them instead::

    ws = nv.Workspace()
    for x in batches:
        loss, grads = model.loss_and_grads(x, rng=rng, workspace=ws)   # no large allocation after step 1
        opt.step(model.params, grads)

``ws.empty(key, shape, like)`` returns the array stored under ``key`` when it has that shape and
``like``'s dtype and array type, and allocates it (once) otherwise. Its contents are whatever the last
user left there. Everything a computation takes from a workspace is overwritten the next time that
computation runs with the same workspace: gradients returned by ``loss_and_grads(...,
workspace=ws)`` are valid until the next call with ``ws`` (copy them to keep them), and a workspace
serves one model and one call at a time (use :meth:`Workspace.scope` to give a second call of the
same component its own arrays).

Code that takes a workspace also runs without one: :func:`as_workspace` turns ``None`` into
:data:`FRESH`, whose ``empty`` allocates a new array on every call, so one code path serves both.
"""
from .backend import array_module


class Workspace:
    """Named arrays reused across calls of equal shape.

    Examples
    --------
    >>> import numpy as np
    >>> ws = Workspace()
    >>> a = ws.empty("h", (2, 3), like=np.zeros(1, np.float32))
    >>> ws.empty("h", (2, 3), like=np.zeros(1, np.float32)) is a
    True
    >>> ws.empty("h", (4, 3), like=np.zeros(1, np.float32)) is a      # another shape: a new array
    False
    """

    def __init__(self):
        self._arrays = {}
        self._packs = {}

    def empty(self, key, shape, like):
        """The array under ``key`` with ``shape`` and the dtype and array type of ``like``.

        Its contents are undefined (whatever was left in it). Allocated on first use, and again
        whenever the shape, dtype or array type asked for differs from the stored array's.
        """
        a = self._arrays.get(key)
        if a is None or a.shape != shape or a.dtype != like.dtype or type(a) is not type(like):
            a = array_module(like).empty(shape, dtype=like.dtype)
            self._arrays[key] = a
        return a

    def pack(self, shapes, like):
        """Make the arrays ``shapes`` (a dict key -> shape) consecutive pieces of one flat array.

        Later ``empty(key, shape, like)`` calls return these pieces, so whatever is written into them
        lies in one contiguous vector (an optimizer then updates all parameters in one pass over it,
        see :func:`numpyvae.arrays.inplace.joined`). Does nothing when the pieces are already in place.
        """
        keys = tuple(shapes)
        views = self._packs.get(keys)
        if (views is not None and views[0].dtype == like.dtype and type(views[0]) is type(like)
                and all(self._arrays.get(k) is v and v.shape == shapes[k] for k, v in zip(keys, views))):
            return
        xp = array_module(like)
        flat = xp.empty(sum(_size(shape) for shape in shapes.values()), dtype=like.dtype)
        views, start = [], 0
        for key, shape in shapes.items():
            n = _size(shape)
            views.append(flat[start:start + n].reshape(shape))
            start += n
        self._arrays.update(zip(keys, views))
        self._packs[keys] = views

    def scope(self, prefix):
        """A view of this workspace whose keys all start with ``prefix`` (its own set of arrays)."""
        return _Scope(self, prefix)

    def __len__(self):
        return len(self._arrays)

    def __contains__(self, key):
        return key in self._arrays

    @property
    def nbytes(self):
        """Bytes held by all arrays of the workspace."""
        return sum(int(a.nbytes) for a in self._arrays.values())

    def clear(self):
        """Drop every array (they are allocated again on next use)."""
        self._arrays.clear()
        self._packs.clear()

    def __repr__(self):
        return f"Workspace({len(self)} arrays, {self.nbytes / 2**20:.1f} MiB)"


class _Scope:
    """Keys ``prefix + key`` of a parent workspace."""

    def __init__(self, parent, prefix):
        self._parent = parent
        self._prefix = prefix

    def empty(self, key, shape, like):
        return self._parent.empty(self._prefix + key, shape, like)

    def pack(self, shapes, like):
        self._parent.pack({self._prefix + k: s for k, s in shapes.items()}, like)

    def scope(self, prefix):
        return _Scope(self._parent, self._prefix + prefix)


class _Fresh:
    """The workspace of code that was given none: every ``empty`` is a new array."""

    def empty(self, key, shape, like):
        return array_module(like).empty(shape, dtype=like.dtype)

    def pack(self, shapes, like):
        pass

    def scope(self, prefix):
        return self

    def __repr__(self):
        return "FRESH"


def _size(shape):
    n = 1
    for d in shape:
        n *= int(d)
    return n


FRESH = _Fresh()
"""The null workspace: ``FRESH.empty(...)`` always allocates."""


def as_workspace(workspace):
    """``workspace`` itself, or :data:`FRESH` for ``None``. Anything else is refused by name."""
    if workspace is None:
        return FRESH
    if not callable(getattr(workspace, "empty", None)):
        raise ValueError(f"workspace must be a numpyvae.Workspace or None, got {type(workspace).__name__}")
    return workspace
