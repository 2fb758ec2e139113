"""Model classes by name, so the trainer, the checkpoints and the command line can build any of them.

A model class that the trainer can fit and a checkpoint can restore provides:

- ``params``: dict name -> array, updated in place by the optimizers;
- ``loss_and_grads(x, rng=rng, n_samples=L, **condition) -> (loss, grads)``;
- ``get_config()``: its constructor keyword arguments as JSON-friendly values, so that
  ``cls(**model.get_config())`` rebuilds the same architecture;
- optionally ``elbo(x, rng=rng, n_samples=L, **condition) -> (B,)`` (used to report the bound; models
  without it are reported by minus their loss), ``rng`` (a ``numpy.random.Generator`` whose state
  checkpoints keep), ``buffers`` (dict name -> array of state not trained by gradient, saved by
  checkpoints like ``params``), a per-datapoint ``score`` (used when there is no ``elbo``), and
  ``needs_labels = True`` with ``n_classes`` or ``condition_dim`` for a model conditioned on the
  class label: it then receives ``c=`` one-hot labels (B, n_classes) in every call
  (see :func:`numpyvae.training.evaluate.condition_kwargs`).

A class enrols with the decorator::

    @register_model("iwae")
    class IWAE: ...

and is then available as ``numpyvae train --model iwae`` and to :func:`numpyvae.training.load_model`.
The classes listed in ``numpyvae.models.MODELS`` (when that package exists) are registered under
those names.
"""
import importlib.util


_MODELS = {}


def register_model(name, cls=None):
    """Register ``cls`` under ``name`` (usable as a decorator: ``@register_model("vae")``).

    Raises
    ------
    ValueError
        When ``name`` is already taken by a different class.
    """
    def add(cls):
        key = str(name).lower()
        if key in _MODELS and _MODELS[key] is not cls:
            raise ValueError(f"model name {key!r} is already registered for {_MODELS[key].__name__}")
        _MODELS[key] = cls
        return cls
    return add if cls is None else add(cls)


def model_names():
    """The registered names, in registration order."""
    _ensure_builtin()
    return tuple(_MODELS)


def get_model_class(name):
    """The class registered as ``name``; a ValueError listing the known names otherwise."""
    _ensure_builtin()
    key = str(name).lower()
    if key not in _MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(_MODELS)}")
    return _MODELS[key]


def model_name(model):
    """The registered name of ``model``'s class (the most specific registered class in its MRO)."""
    _ensure_builtin()
    for klass in type(model).__mro__:
        for key, cls in _MODELS.items():
            if cls is klass:
                return key
    raise ValueError(f"{type(model).__name__} is not a registered model class; register it with "
                     f"numpyvae.model_registry.register_model(name, cls)")


def build_model(name, config, **overrides):
    """``get_model_class(name)(**config, **overrides)`` with a clear error for a bad configuration."""
    cls = get_model_class(name)
    kwargs = dict(config)
    kwargs.update(overrides)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"cannot build model {name!r} from configuration {sorted(kwargs)}: {exc}") from None


_builtin_loaded = False


def _ensure_builtin():
    """Register the core VAE and the classes of ``numpyvae.models.MODELS``, once."""
    global _builtin_loaded
    if _builtin_loaded:
        return
    _builtin_loaded = True
    from .vae import VAE

    register_model("vae", VAE)
    if importlib.util.find_spec(__package__ + ".models") is not None:
        from .models import MODELS

        for name, cls in MODELS.items():
            register_model(name, cls)
