"""Model classes by name, so the trainer, the checkpoints and the command line can build any of them.

A model class that the trainer can fit and a checkpoint can restore provides:

- ``params``: dict name -> array, updated in place by the optimizers;
- ``loss_and_grads(x, eps=None, rng=None, n_samples=L, **condition) -> (loss, grads)``;
- ``bound(x, eps=None, rng=None, n_samples=L, **condition) -> (B,)``: its bound per datapoint
  (higher is better; for a model without a likelihood, minus its loss, named by ``bound_name``);
- ``check_loss(x, eps=None, rng=0, **condition) -> (loss_fn, grads)``: the deterministic loss at
  fixed noise whose exact gradient ``grads`` is, for the float64 gradient check;
- ``get_config()``: its constructor keyword arguments as JSON-friendly values, so that
  ``cls(**model.get_config())`` rebuilds the same architecture;
- optionally ``rng`` (a ``numpy.random.Generator`` whose state checkpoints keep), ``buffers`` (dict
  name -> array of state not trained by gradient), ``supports_workspace`` / ``flat_params`` (the fast
  path of :class:`numpyvae.algorithms.SGVB`), and ``needs_labels = True`` with ``n_classes`` for a
  model conditioned on the class label: it then receives ``c=`` one-hot labels (B, n_classes)
  (see :mod:`numpyvae.models.conditioning`).

A class enrols with the decorator, giving a small configuration for the checks::

    @register_model("iwae", example={"input_dim": 6, "hidden_sizes": (5,), "latent_dim": 2, "k": 3})
    class IWAE: ...

It is then available as ``numpyvae train --model iwae``, to :func:`numpyvae.training.load_model`,
and every registered model is run through the whole-model float64 gradient check and the trainer
battery (train, checkpoint, resume bit-exact, float32) by one test over the registry; a model
registered without an ``example`` fails that test.
"""

__all__ = ["register_model", "model_names", "get_model_class", "model_name", "build_model", "example_config",
           "canonical_model_name", "MODELS", "MODEL_ALIASES"]

MODELS = {}
"""Registered name -> class (the live registry; read it, register through :func:`register_model`)."""
MODEL_ALIASES = {}
"""Other accepted names -> registered name (``beta-vae`` -> ``vae``, ``vqvae`` -> ``vq-vae``, ...)."""
_EXAMPLES = {}


def register_model(name, cls=None, *, example=None, aliases=()):
    """Register ``cls`` under ``name`` (usable as a decorator: ``@register_model("vae", example=...)``).

    Parameters
    ----------
    name : str
    cls : class, optional
    example : dict, optional
        Constructor arguments of a small instance (float64 is added by the checks), used by the
        registry-wide gradient check and trainer battery.
    aliases : sequence of str
        Further names accepted by :func:`get_model_class` and the command line.

    Raises
    ------
    ValueError
        When ``name`` or an alias is already taken by a different class.
    """
    def add(cls):
        key = str(name).lower()
        if key in MODELS and MODELS[key] is not cls:
            raise ValueError(f"model name {key!r} is already registered for {MODELS[key].__name__}")
        for alias in aliases:
            a = str(alias).lower()
            if MODEL_ALIASES.get(a, key) != key or (a in MODELS and MODELS[a] is not cls):
                raise ValueError(f"model alias {a!r} is already taken")
        MODELS[key] = cls
        for alias in aliases:
            MODEL_ALIASES[str(alias).lower()] = key
        if example is not None:
            _EXAMPLES[key] = dict(example)
        return cls
    return add if cls is None else add(cls)


def model_names():
    """The registered names, in registration order."""
    return tuple(MODELS)


def canonical_model_name(name):
    """The registered name for ``name`` or one of its aliases; a ValueError listing the names otherwise."""
    key = str(name).lower()
    key = MODEL_ALIASES.get(key, key)
    if key not in MODELS:
        known = ", ".join(MODELS)
        aliases = ", ".join(f"{a} ({k})" for a, k in MODEL_ALIASES.items())
        raise ValueError(f"unknown model {name!r}; choose one of {known}" + (f"; aliases: {aliases}" if aliases else ""))
    return key


def get_model_class(name):
    """The class registered as ``name`` (or an alias); a ValueError listing the known names otherwise."""
    return MODELS[canonical_model_name(name)]


def example_config(name):
    """The small configuration registered with model ``name`` for the checks, or None."""
    key = canonical_model_name(name)
    return None if key not in _EXAMPLES else dict(_EXAMPLES[key])


def model_name(model):
    """The registered name of ``model``'s class (the most specific registered class in its MRO)."""
    for klass in type(model).__mro__:
        for key, cls in MODELS.items():
            if cls is klass:
                return key
    raise ValueError(f"{type(model).__name__} is not a registered model class; register it with "
                     f"numpyvae.register_model(name, cls)")


def build_model(name, config, **overrides):
    """``get_model_class(name)(**config, **overrides)`` with a clear error for a bad configuration.

    The one model builder: the command line, checkpoints, the estimator and the reproduction all
    build their models here.
    """
    cls = get_model_class(name)
    kwargs = dict(config)
    kwargs.update(overrides)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"cannot build model {name!r} from configuration {sorted(kwargs)}: {exc}") from None
