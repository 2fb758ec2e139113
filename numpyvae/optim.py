r"""First-order optimizers that update a model's ``params`` dict in place.

All minimise the loss. Each update is written with in-place array operations and one scratch
buffer per parameter, so a step allocates nothing after the first.

Common options:

- ``weight_decay = lambda`` adds lambda * theta to every gradient: the gradient of
  lambda/2 ||theta||^2, i.e. of -log p(theta) for a Gaussian prior N(0, I / lambda) on the parameters
  (K&W section 5 use p(theta) = N(0, I) with a small weight, giving MAP estimates).
- ``clip_norm = c`` rescales the whole gradient (all parameters together) to global L2 norm at most c.
"""
import math

from .backend import array_module

OPTIMIZERS = ("sgd", "adagrad", "rmsprop", "adam")


class Optimizer:
    """Base class: gradient clipping, weight decay, the step counter and state save/restore.

    Subclasses implement ``_update(name, p, g, buf)`` where ``g`` is the final gradient (already
    clipped and decayed) and ``buf`` a scratch array of ``p``'s shape they may overwrite.
    """

    name = None
    slot_names = ()

    def __init__(self, lr, weight_decay=0.0, clip_norm=None):
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        if not (math.isfinite(weight_decay) and weight_decay >= 0):
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        if clip_norm is not None and not (math.isfinite(clip_norm) and clip_norm > 0):
            raise ValueError(f"clip_norm must be a positive number or None, got {clip_norm!r}")
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.clip_norm = None if clip_norm is None else float(clip_norm)
        self.t = 0
        self.slots = {}      # slot name -> {param name -> array}
        self._scratch = {}   # param name -> scratch array (not part of the state)

    def hyperparameters(self):
        return {"lr": self.lr, "weight_decay": self.weight_decay, "clip_norm": self.clip_norm}

    def step(self, params, grads):
        """Update every array of ``params`` in place from ``grads`` (same keys and shapes)."""
        if set(grads) != set(params):
            missing, extra = set(params) - set(grads), set(grads) - set(params)
            raise ValueError(f"grads and params have different keys: missing {sorted(missing)}, "
                             f"unexpected {sorted(extra)}")
        scale = self._clip_scale(grads)
        self.t += 1
        for name, p in params.items():
            g = grads[name]
            if g.shape != p.shape:
                raise ValueError(f"gradient {name!r} has shape {g.shape}, parameter has {p.shape}")
            if scale != 1.0 or self.weight_decay:
                g_eff = self._buffer(name + "/grad", p)
                array_module(p).multiply(g, scale, out=g_eff)         # g <- c g        (clipping)
                if self.weight_decay:
                    g_eff += self.weight_decay * p                    # g <- g + lambda theta  (prior)
                g = g_eff
            self._update(name, p, g, self._buffer(name, p))

    def global_norm(self, grads):
        """|| g ||_2 over all parameters together."""
        return math.sqrt(sum(float((g * g).sum()) for g in grads.values()))

    def _clip_scale(self, grads):
        if self.clip_norm is None:
            return 1.0
        norm = self.global_norm(grads)
        return min(1.0, self.clip_norm / (norm + 1e-12))

    def _buffer(self, name, p):
        buf = self._scratch.get(name)
        if buf is None or buf.shape != p.shape or buf.dtype != p.dtype:
            buf = array_module(p).empty_like(p)
            self._scratch[name] = buf
        return buf

    def _slot(self, slot, name, p):
        """The optimizer's state array ``slot`` for parameter ``name``, zero-initialised."""
        arrays = self.slots.setdefault(slot, {})
        a = arrays.get(name)
        if a is None:
            a = array_module(p).zeros_like(p)
            arrays[name] = a
        return a

    def _update(self, name, p, g, buf):
        raise NotImplementedError

    # ------------------------------------------------------------------ state
    def state_dict(self):
        """Everything needed to resume: name, hyper-parameters, step count and slot arrays."""
        return {"name": self.name, "hyperparameters": self.hyperparameters(), "t": self.t,
                "slots": {s: dict(a) for s, a in self.slots.items()}}

    def load_state_dict(self, state):
        if state.get("name") != self.name:
            raise ValueError(f"optimizer state is for {state.get('name')!r}, not {self.name!r}")
        self.t = int(state["t"])
        self.slots = {s: dict(a) for s, a in state["slots"].items()}


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional (Nesterov) momentum.

    v <- momentum * v + g;   theta <- theta - lr * v       (momentum = 0: theta <- theta - lr g)
    Nesterov: theta <- theta - lr * (g + momentum * v).
    """

    name = "sgd"
    slot_names = ("velocity",)

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, clip_norm=None):
        super().__init__(lr, weight_decay, clip_norm)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def hyperparameters(self):
        return {**super().hyperparameters(), "momentum": self.momentum, "nesterov": self.nesterov}

    def _update(self, name, p, g, buf):
        if self.momentum == 0:
            p -= self.lr * g
            return
        v = self._slot("velocity", name, p)
        v *= self.momentum
        v += g                                                        # v <- mu v + g
        if self.nesterov:
            array_module(p).multiply(v, self.momentum, out=buf)
            buf += g                                                  # g + mu v
            buf *= self.lr
            p -= buf
        else:
            buf[...] = v
            buf *= self.lr
            p -= buf                                                  # theta <- theta - lr v


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al. 2011), the optimizer of Kingma & Welling 2013.

    h <- h + g^2;   theta <- theta - lr * g / (sqrt(h) + eps)
    """

    name = "adagrad"
    slot_names = ("sum_sq",)

    def __init__(self, lr=0.01, eps=1e-8, weight_decay=0.0, clip_norm=None):
        super().__init__(lr, weight_decay, clip_norm)
        self.eps = float(eps)

    def hyperparameters(self):
        return {**super().hyperparameters(), "eps": self.eps}

    def _update(self, name, p, g, buf):
        xp = array_module(p)
        h = self._slot("sum_sq", name, p)
        xp.multiply(g, g, out=buf)
        h += buf                                                      # h <- h + g^2
        xp.sqrt(h, out=buf)
        buf += self.eps
        xp.divide(g, buf, out=buf)
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
        if not 0 <= rho < 1:
            raise ValueError(f"rho must be in [0, 1), got {rho!r}")
        self.rho = float(rho)
        self.eps = float(eps)

    def hyperparameters(self):
        return {**super().hyperparameters(), "rho": self.rho, "eps": self.eps}

    def _update(self, name, p, g, buf):
        xp = array_module(p)
        v = self._slot("mean_sq", name, p)
        xp.multiply(g, g, out=buf)
        buf *= 1.0 - self.rho
        v *= self.rho
        v += buf                                                      # v <- rho v + (1 - rho) g^2
        xp.sqrt(v, out=buf)
        buf += self.eps
        xp.divide(g, buf, out=buf)
        buf *= self.lr
        p -= buf


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015).

    m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
    theta <- theta - lr * m_hat / (sqrt(v_hat) + eps),   m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)

    Implemented in the equivalent form (Kingma & Ba, section 2) that folds the bias corrections
    into two scalars, so the update touches each array a minimal number of times:
    theta <- theta - lr_t * m / (sqrt(v) + eps_t),  lr_t = lr sqrt(1 - b2^t) / (1 - b1^t),
    eps_t = eps sqrt(1 - b2^t).
    """

    name = "adam"
    slot_names = ("m", "v")

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, clip_norm=None):
        super().__init__(lr, weight_decay, clip_norm)
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"beta1 and beta2 must be in [0, 1), got {beta1!r}, {beta2!r}")
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.eps = float(eps)

    def hyperparameters(self):
        return {**super().hyperparameters(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def _update(self, name, p, g, buf):
        xp = array_module(p)
        b1, b2, t = self.beta1, self.beta2, self.t
        m = self._slot("m", name, p)
        v = self._slot("v", name, p)
        xp.multiply(g, 1.0 - b1, out=buf)
        m *= b1
        m += buf                                                      # m <- b1 m + (1 - b1) g
        xp.multiply(g, g, out=buf)
        buf *= 1.0 - b2
        v *= b2
        v += buf                                                      # v <- b2 v + (1 - b2) g^2
        correction = math.sqrt(1.0 - b2 ** t)
        lr_t = self.lr * correction / (1.0 - b1 ** t)
        xp.sqrt(v, out=buf)
        buf += self.eps * correction                                  # sqrt(v) + eps_t
        xp.divide(m, buf, out=buf)
        buf *= lr_t
        p -= buf                                                      # theta <- theta - lr_t m / (sqrt(v) + eps_t)


_CLASSES = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSProp, "adam": Adam}


def make_optimizer(name, **kwargs):
    """Build an optimizer by name (``"sgd"``, ``"adagrad"``, ``"rmsprop"``, ``"adam"``)."""
    if name not in _CLASSES:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return _CLASSES[name](**kwargs)
