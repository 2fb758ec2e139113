"""Registering a model for the length of one test only, so that test models never leak into the
registry that tests/test_registry.py runs its battery over."""
import contextlib

from numpyvae.models import registry
from numpyvae.models.registry import MODEL_ALIASES, MODELS, register_model


@contextlib.contextmanager
def temporarily_registered(name, cls, **kwargs):
    """``register_model(name, cls, **kwargs)`` for the duration of the block; the registry is put back."""
    saved = [(live, dict(live)) for live in (MODELS, MODEL_ALIASES, registry._EXAMPLES)]
    try:
        register_model(name, cls, **kwargs)
        yield cls
    finally:
        for live, old in saved:
            live.clear()
            live.update(old)
