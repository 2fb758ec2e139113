r"""First-order optimizers that update a model's ``params`` dict in place.

All minimise the loss. Each update is written with in-place array operations on blocks of the
parameters (:func:`numpyvae.arrays.inplace.blocks`: 256 KiB pieces, so that the parameter, gradient, state
and scratch pieces of one update stay in the L2 cache across its passes) and one scratch block shared
by all parameters, so a step allocates nothing after the first. When the parameters are the pieces
of one contiguous vector (as a :class:`numpyvae.VAE`'s are) and so are the gradients (as
``loss_and_grads`` returns them), the update runs once over that vector instead of once per
parameter. ``opt.threads = 2`` (or None: as many as NumPy's BLAS uses) cuts that vector into one
contiguous piece per thread, updated side by side on standard-library threads
(:mod:`numpyvae.arrays.parallel`; the result is the same bit for bit). It is off by default: on its
own the split update is a third faster on two cores, but inside a training step OpenBLAS's idle
worker thread spins on the second core for about 0.1 s after every product (2^28 cycles,
``OPENBLAS_THREAD_TIMEOUT``), and the update's second thread gets about half of that core
(docs/benchmarks.md).

Common options:

- ``weight_decay = lambda`` adds lambda * theta to every gradient: the gradient of
  lambda/2 ||theta||^2. For the per-datapoint loss that numpyvae minimises, a prior N(0, I / tau) on the
  parameters of the summed objective corresponds to lambda = tau / N (docs/derivations.md#weight-decay)
  (K&W section 5 use p(theta) = N(0, I) with a small weight, giving MAP estimates).
- ``clip_norm = c`` rescales the whole gradient (all parameters together) to global L2 norm at most c.

Derivation: docs/derivations.md#optimizers
"""
import inspect
import math

import numpy as np

from ..arrays.backend import array_module
from ..arrays.inplace import JoinedCache, blocks, pack, scratch_like
from ..arrays.parallel import run as run_in_threads, split, update_threads
from ..arrays.validation import check_bool, check_interval, check_nonnegative, check_positive

OPTIMIZERS = ("sgd", "adagrad", "rmsprop", "adam")


class Optimizer:
    """Base class: gradient clipping, weight decay, the step counter and state save/restore.

    Subclasses name their state arrays in ``slot_names`` and implement
    ``_update(p, g, *slots, buf)``: one block of the parameter, of the final gradient (already
    clipped and decayed), of each state array (in ``slot_names`` order), and a scratch block ``buf``
    they may overwrite, all of one shape. ``_begin_step()`` runs once per step before the updates.
    """

    name = None
    slot_names = ()

    def __init__(self, lr, weight_decay=0.0, clip_norm=None):
        self.lr = check_positive("lr", lr)
        self.weight_decay = check_nonnegative("weight_decay", weight_decay)
        self.clip_norm = None if clip_norm is None else check_positive("clip_norm (None for no clipping)", clip_norm)
        self.t = 0
        self.slots = {}      # slot name -> {param name -> array}
        self._scratch = {}   # scratch arrays (not part of the state)
        self._joined_params = JoinedCache()
        self._joined_grads = JoinedCache()

    def hyperparameters(self):
        return {"lr": self.lr, "weight_decay": self.weight_decay, "clip_norm": self.clip_norm}

    def __getstate__(self):
        """Pickling and ``copy.deepcopy``: everything but the scratch arrays and the layout caches (a
        copied flat state vector would no longer share memory with the copied views in ``slots``;
        the next step lays the state out again)."""
        state = dict(self.__dict__)
        state["_scratch"] = {}
        state["_joined_params"], state["_joined_grads"] = JoinedCache(), JoinedCache()
        return state

    def step(self, params, grads):
        """Update every array of ``params`` in place from ``grads`` (same keys and shapes)."""
        if set(grads) != set(params):
            missing, extra = set(params) - set(grads), set(grads) - set(params)
            raise ValueError(f"grads and params have different keys: missing {sorted(missing)}, "
                             f"unexpected {sorted(extra)}")
        for name, p in params.items():
            if grads[name].shape != p.shape:
                raise ValueError(f"gradient {name!r} has shape {grads[name].shape}, parameter has {p.shape}")
        scale = self._clip_scale(grads)
        self.t += 1
        self._begin_step()
        for arrays in self._groups(params, grads):
            pieces = self._pieces(arrays[0])
            if len(pieces) == 1:
                self._update_blocks(0, arrays, scale)
            else:                                                     # one piece of the flat vector per core
                run_in_threads(lambda i, piece: self._update_blocks(
                    i, tuple(a[piece[0]:piece[1]] for a in arrays), scale), pieces)

    threads = 1
    """Threads for the update of a flat parameter vector: 1 (default) for the calling thread only, a
    larger number, or None for as many as NumPy's BLAS runs on
    (:func:`numpyvae.arrays.parallel.update_threads`). Set it on an instance (``opt.threads = 2``);
    the result is the same bit for bit. More than one pays where the second core is free during the
    update (not behind OpenBLAS's spinning idle threads; see the module docstring)."""

    PIECE_BYTES = 512 * 1024
    """The smallest piece of the flat vector worth handing to another thread (smaller vectors are
    updated in the calling thread: a hand-over costs tens of microseconds)."""

    def _pieces(self, p):
        """``[(start, stop)]``: the ranges of ``p`` that the threads update, one per thread; one range
        (the whole array) unless ``p`` is a large 1-D NumPy vector and more than one thread is asked."""
        threads = update_threads() if self.threads is None else int(self.threads)
        if threads <= 1 or type(p) is not np.ndarray or p.ndim != 1 or p.nbytes < 2 * self.PIECE_BYTES:
            return [(0, None)]
        return split(p.size, min(threads, p.nbytes // self.PIECE_BYTES))

    def _update_blocks(self, i, arrays, scale):
        """The update of ``arrays = (p, g, *slots)`` (equally shaped), block by block, with the
        scratch blocks of thread ``i``."""
        key = "" if i == 0 else f"#{i}"
        for p_block, g_block, *slot_blocks in blocks(arrays):
            xp = array_module(p_block)
            buf = scratch_like(self._scratch, "buf" + key, p_block)
            if scale != 1.0:
                g_eff = scratch_like(self._scratch, "grad" + key, p_block)
                xp.multiply(g_block, scale, out=g_eff)                # g <- c g        (clipping)
                if self.weight_decay:
                    xp.multiply(p_block, self.weight_decay, out=buf)
                    g_eff += buf                                      # g <- g + lambda theta  (prior)
                g_block = g_eff
            elif self.weight_decay:
                g_eff = scratch_like(self._scratch, "grad" + key, p_block)
                xp.multiply(p_block, self.weight_decay, out=g_eff)
                g_eff += g_block                                      # g <- g + lambda theta  (prior)
                g_block = g_eff
            self._update(p_block, g_block, *slot_blocks, buf)

    def _groups(self, params, grads):
        """What to update: ``[(p, g, *slots)]`` for the whole flat vector when the parameters and
        the gradients are consecutive pieces of one vector each, in the same order (see
        :func:`numpyvae.arrays.inplace.joined`); else one ``(p, g, *slots)`` per parameter."""
        p_flat = self._joined_params(params.values())
        g_flat = self._joined_grads(grads[name] for name in params) if p_flat is not None else None
        if g_flat is None or g_flat.shape != p_flat.shape:
            return [(p, grads[name], *(self._slot(s, name, p) for s in self.slot_names))
                    for name, p in params.items()]
        return [(p_flat, g_flat, *(self._flat_slot(s, params, p_flat) for s in self.slot_names))]

    def _flat_slot(self, slot, params, p_flat):
        """State array ``slot`` as one vector laid out like ``p_flat``; ``self.slots[slot][name]``
        are views into it. State set by :meth:`load_state_dict` is copied in (once)."""
        arrays = self.slots.setdefault(slot, {})
        names = tuple(params)
        cached = self._scratch.get(("flat", slot))
        if (cached is not None and cached[0] == names and cached[2].dtype == p_flat.dtype
                and all(arrays.get(name) is view for name, view in zip(names, cached[1]))):
            return cached[2]
        values = {}
        for name, p in params.items():
            a = arrays.get(name)
            if a is None:
                a = array_module(p).zeros_like(p)
            elif a.shape != p.shape:
                raise ValueError(f"optimizer state {slot!r} of {name!r} has shape {a.shape}, parameter has {p.shape}")
            values[name] = a.astype(p.dtype, copy=False)
        flat, views = pack(values, xp=array_module(p_flat))
        arrays.update(views)
        self._scratch[("flat", slot)] = (names, list(views.values()), flat)
        return flat

    def global_norm(self, grads):
        """|| g ||_2 over all parameters together."""
        return math.sqrt(sum(float((g * g).sum()) for g in grads.values()))

    def _clip_scale(self, grads):
        if self.clip_norm is None:
            return 1.0
        norm = self.global_norm(grads)
        return min(1.0, self.clip_norm / (norm + 1e-12))

    def _slot(self, slot, name, p):
        """The optimizer's state array ``slot`` for parameter ``name``, zero-initialised."""
        arrays = self.slots.setdefault(slot, {})
        a = arrays.get(name)
        if a is None:
            a = array_module(p).zeros_like(p)
            arrays[name] = a
        return a

    def _begin_step(self):
        """Per-step scalars (after ``t`` is incremented); nothing by default."""

    def _update(self, p, g, *slots_and_buf):
        raise NotImplementedError

    # ------------------------------------------------------------------ state
    def state_dict(self):
        """Everything needed to resume: name, hyper-parameters, step count and slot arrays."""
        return {"name": self.name, "hyperparameters": self.hyperparameters(), "t": self.t,
                "slots": {s: dict(a) for s, a in self.slots.items()}}

    def load_state_dict(self, state):
        """Set the step count and the state arrays from :meth:`state_dict` (checked, not trusted:
        a ValueError names what is wrong)."""
        if not isinstance(state, dict):
            raise ValueError(f"optimizer state must be a dict, got {type(state).__name__}")
        if state.get("name") != self.name:
            raise ValueError(f"optimizer state is for {state.get('name')!r}, not {self.name!r}")
        t = state.get("t")
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise ValueError(f"optimizer step count t must be an integer >= 0, got {t!r}")
        slots = state.get("slots")
        if not isinstance(slots, dict) or not all(isinstance(a, dict) for a in slots.values()):
            raise ValueError(f"optimizer slots must map each slot name to a dict of arrays, got {slots!r}")
        known = set(self.slot_names) | set(self._legacy_slots)
        unknown = sorted(set(slots) - known)
        if unknown:
            raise ValueError(f"{self.name} keeps no optimizer state {unknown}; its state arrays are "
                             f"{sorted(self.slot_names) or 'none'}")
        self.t = t
        self.slots = {s: dict(a) for s, a in slots.items()}

    _legacy_slots = ()
    """Slot names of states saved by earlier versions that :meth:`load_state_dict` still reads."""


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional (Nesterov) momentum.

    v <- momentum * v + g;   theta <- theta - lr * v       (momentum = 0: theta <- theta - lr g)
    Nesterov: theta <- theta - lr * (g + momentum * v).
    """

    name = "sgd"

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, clip_norm=None):
        super().__init__(lr, weight_decay, clip_norm)
        self.momentum = check_interval("momentum", momentum, 0, 1)
        self.nesterov = check_bool("nesterov", nesterov)
        self.slot_names = ("velocity",) if self.momentum else ()

    def hyperparameters(self):
        return {**super().hyperparameters(), "momentum": self.momentum, "nesterov": self.nesterov}

    def _update(self, p, g, *slots_and_buf):
        xp = array_module(p)
        if self.momentum == 0:
            (buf,) = slots_and_buf
            xp.multiply(g, self.lr, out=buf)
            p -= buf                                                  # theta <- theta - lr g
            return
        v, buf = slots_and_buf
        v *= self.momentum
        v += g                                                        # v <- mu v + g
        if self.nesterov:
            xp.multiply(v, self.momentum, out=buf)
            buf += g                                                  # g + mu v
        else:
            buf[...] = v
        buf *= self.lr
        p -= buf                                                      # theta <- theta - lr (g + mu v) or lr v


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al. 2011), the optimizer of Kingma & Welling 2013.

    h <- h + g^2;   theta <- theta - lr * g / (sqrt(h) + eps)
    """

    name = "adagrad"
    slot_names = ("sum_sq",)

    def __init__(self, lr=0.01, eps=1e-8, weight_decay=0.0, clip_norm=None):
        super().__init__(lr, weight_decay, clip_norm)
        self.eps = check_positive("eps", eps)                          # > 0: g / (sqrt(h) + eps) is 0/0 at h = 0 otherwise

    def hyperparameters(self):
        return {**super().hyperparameters(), "eps": self.eps}

    def _update(self, p, g, h, buf):
        xp = array_module(p)
        xp.square(g, out=buf)                                         # g^2 (one read of g)
        h += buf                                                      # h <- h + g^2
        xp.sqrt(h, out=buf)
        buf += self.eps
        xp.divide(g, buf, out=buf)                                    # g / (sqrt(h) + eps)
        buf *= self.lr
        p -= buf                                                      # theta <- theta - lr g / (sqrt(h) + eps)


class RMSProp(Optimizer):
    r"""RMSProp (Tieleman & Hinton 2012).

    v <- rho v + (1 - rho) g^2;   theta <- theta - lr * g / (sqrt(v) + eps)
    """

    name = "rmsprop"
    slot_names = ("mean_sq",)

    def __init__(self, lr=1e-3, rho=0.9, eps=1e-8, weight_decay=0.0, clip_norm=None):
        super().__init__(lr, weight_decay, clip_norm)
        self.rho = check_interval("rho", rho, 0, 1)
        self.eps = check_positive("eps", eps)

    def hyperparameters(self):
        return {**super().hyperparameters(), "rho": self.rho, "eps": self.eps}

    def _update(self, p, g, v, buf):
        xp = array_module(p)
        xp.square(g, out=buf)                                         # g^2 (one read of g)
        buf *= 1.0 - self.rho
        v *= self.rho
        v += buf                                                      # v <- rho v + (1 - rho) g^2
        xp.sqrt(v, out=buf)
        buf += self.eps
        xp.divide(g, buf, out=buf)                                    # g / (sqrt(v) + eps)
        buf *= self.lr
        p -= buf


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015).

    m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
    theta <- theta - lr * m_hat / (sqrt(v_hat) + eps),   m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)

    The state holds the two moments without their constant factors, as discounted sums
        m_sum = sum_i b1^(t-i) g_i = m / (1 - b1),     v_sum = sum_i b2^(t-i) g_i^2 = v / (1 - b2),
    and the constant factors join the bias corrections in two scalars (the rearrangement of Kingma &
    Ba, section 2), so a step makes the fewest passes over the arrays:
        m_sum <- b1 m_sum + g;   v_sum <- b2 v_sum + g^2
        theta <- theta - a_t m_sum / (sqrt(v_sum) + e_t)
    where c_t = sqrt((1 - b2) / (1 - b2^t)) makes sqrt(v_hat) = c_t sqrt(v_sum), and
        a_t = lr (1 - b1) / ((1 - b1^t) c_t),   e_t = eps / c_t.
    ``load_state_dict`` also takes a state with the moments ``"m"`` and ``"v"`` themselves.
    """

    name = "adam"
    slot_names = ("m_sum", "v_sum")
    _legacy_slots = ("m", "v")

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, clip_norm=None):
        super().__init__(lr, weight_decay, clip_norm)
        self.beta1 = check_interval("beta1", beta1, 0, 1)
        self.beta2 = check_interval("beta2", beta2, 0, 1)
        self.eps = check_positive("eps", eps)

    def hyperparameters(self):
        return {**super().hyperparameters(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self._sums_from_moments()

    def _sums_from_moments(self):
        """Turn slots ``"m"`` and ``"v"`` (the moments themselves, as a state saved by an earlier
        version holds them) into ``m_sum = m / (1 - b1)`` and ``v_sum = v / (1 - b2)``."""
        if "m" in self.slots or "v" in self.slots:
            m, v = self.slots.pop("m", {}), self.slots.pop("v", {})
            self.slots.setdefault("m_sum", {}).update({k: a / (1.0 - self.beta1) for k, a in m.items()})
            self.slots.setdefault("v_sum", {}).update({k: a / (1.0 - self.beta2) for k, a in v.items()})

    def _begin_step(self):
        self._sums_from_moments()                                     # also for slots set directly
        c_t = math.sqrt((1.0 - self.beta2) / (1.0 - self.beta2 ** self.t))
        self._a_t = self.lr * (1.0 - self.beta1) / ((1.0 - self.beta1 ** self.t) * c_t)
        self._e_t = self.eps / c_t

    def _update(self, p, g, m_sum, v_sum, buf):
        xp = array_module(p)
        m_sum *= self.beta1
        m_sum += g                                                    # m_sum <- b1 m_sum + g
        xp.square(g, out=buf)                                         # g^2 (one read of g)
        v_sum *= self.beta2
        v_sum += buf                                                  # v_sum <- b2 v_sum + g^2
        xp.sqrt(v_sum, out=buf)
        buf += self._e_t                                              # sqrt(v_sum) + e_t
        xp.divide(m_sum, buf, out=buf)
        buf *= self._a_t
        p -= buf                                                      # theta <- theta - a_t m_sum / (sqrt(v_sum) + e_t)


_CLASSES = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSProp, "adam": Adam}


def make_optimizer(name, **kwargs):
    """Build an optimizer by name (``"sgd"``, ``"adagrad"``, ``"rmsprop"``, ``"adam"``).

    Raises
    ------
    ValueError
        For an unknown name, an unknown setting (naming the settings the optimizer has) or a bad value.
    """
    if not isinstance(name, str) or name not in _CLASSES:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    cls = _CLASSES[name]
    known = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(kwargs) - set(known))
    if unknown:
        raise ValueError(f"unknown setting(s) {unknown} for optimizer {name!r}; its settings are {known}")
    return cls(**kwargs)
