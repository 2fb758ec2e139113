r"""What a training algorithm is to the training engine, and the registry that builds one by name.

The :class:`numpyvae.training.Trainer` owns the loop (epochs, minibatches, noise, evaluation,
checkpoints, resume, divergence); an *algorithm* owns one step of it. Every algorithm has

- ``name``: its registered name (stored in checkpoints);
- ``model`` and ``optimizer``;
- ``params``: every array the optimizer updates (the model's own ``params``, plus arrays of the
  algorithm's such as full VB's posterior log-variances);
- ``step(x, rng, index=None, **condition) -> loss``: one update from the minibatch ``x`` (B, D),
  drawing its noise from ``rng``; ``index`` (B,) gives the rows of the training set in the minibatch
  (Monte Carlo EM keeps a chain per datapoint); ``condition`` passes ``c=`` to conditional models.
  It returns the minibatch loss (nats per datapoint; lower is better). A non-finite loss is
  reported before any parameter changes wherever the algorithm can tell;
- ``updating``: True while ``step`` is changing state (an interrupt then cannot be undone);
- ``state_arrays() -> dict`` and ``load_state_arrays(arrays)``: state beyond the parameters and the
  optimizer's slots, saved in checkpoints (``{}`` for most);
- ``get_config() -> dict``: JSON-friendly settings that rebuild it with :func:`make_algorithm`.

A new algorithm subclasses :class:`Algorithm` and enrols with :func:`register_algorithm`.
"""

__all__ = ["Algorithm", "register_algorithm", "make_algorithm", "algorithm_names", "canonical_name", "ALIASES"]

_ALGORITHMS = {}
ALIASES = {"aevb": "sgvb", "wake-sleep": "wake_sleep", "ws": "wake_sleep", "full_vb": "fullvb",
           "full-vb": "fullvb"}
"""Other names accepted for the registered algorithms (``aevb``: the paper's name for SGVB training)."""


class Algorithm:
    """Base class: the shared attributes of the interface above.

    Subclasses set ``name`` and implement ``step``; they call :meth:`_update` to apply gradients, so
    that ``updating`` is set while the parameters change.
    """

    name = None
    needs_index = False          # True: step uses ``index`` (rows of the training set)

    def __init__(self, model, optimizer):
        self.model = model
        self.optimizer = optimizer
        self.updating = False

    @property
    def params(self):
        return self.model.params

    def _update(self, params, grads):
        self.updating = True
        self.optimizer.step(params, grads)
        self.updating = False

    def state_arrays(self):
        return {}

    def load_state_arrays(self, arrays):
        if arrays:
            raise ValueError(f"algorithm {self.name!r} keeps no state arrays, got {sorted(arrays)}")

    def get_config(self):
        return {}

    def __repr__(self):
        return f"{type(self).__name__}({type(self.model).__name__}, {type(self.optimizer).__name__})"


def register_algorithm(name, cls=None):
    """Register ``cls`` under ``name``; usable as a decorator."""
    def add(cls):
        key = str(name).lower()
        if key in _ALGORITHMS and _ALGORITHMS[key] is not cls:
            raise ValueError(f"algorithm name {key!r} is already registered for {_ALGORITHMS[key].__name__}")
        _ALGORITHMS[key] = cls
        cls.name = key
        return cls
    return add if cls is None else add(cls)


def canonical_name(name):
    """The registered name for ``name`` or one of its :data:`ALIASES`; a ValueError listing the names."""
    key = ALIASES.get(str(name).lower(), str(name).lower())
    if key not in _ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose one of {', '.join(algorithm_names())}")
    return key


def algorithm_names():
    return tuple(_ALGORITHMS)


def make_algorithm(name, model, optimizer, n_data=None, seed=0, **options):
    """Build algorithm ``name`` around ``model`` and ``optimizer``.

    Parameters
    ----------
    name : str
        A registered name (``"sgvb"``, ``"wake_sleep"``, ``"mcem"``, ``"fullvb"``) or an alias.
    n_data : int, optional
        Training-set size (needed by Monte Carlo EM and full VB).
    seed : int
        Seeds what the algorithm draws at construction (Monte Carlo EM's chain starts).
    **options
        The algorithm's own settings (its ``get_config()``).
    """
    cls = _ALGORITHMS[canonical_name(name)]
    try:
        return cls.build(model, optimizer, n_data=n_data, seed=seed, **options)
    except TypeError as exc:
        raise ValueError(f"cannot build algorithm {name!r} with options {sorted(options)}: {exc}") from None
