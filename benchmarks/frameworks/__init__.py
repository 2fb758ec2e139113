"""The benchmarked implementations, each behind one interface.

Every module exposes ``NAME``, ``loss_and_grads(spec, params, x, eps) -> (loss, grads)`` and
``make_trainer(spec, params, x, eps, adam, **options) -> Trainer``.  A *row* is one timed
variant of a module (PyTorch appears twice: default Adam and ``Adam(fused=True)``; numpyvae too:
with Adam, as every other row, and with the reproduction's Adagrad, checked against its own
textbook reference).
"""

import importlib

# row label -> (module name, make_trainer options, time the gradient alone too)
ROWS = {
    "numpyvae": ("numpyvae_vae", {}, True),
    "numpyvae Adagrad": ("numpyvae_vae", {"optimizer": "adagrad"}, False),
    "torch": ("torch_vae", {}, True),
    "torch fused-Adam": ("torch_vae", {"fused": True}, False),
    "jax jit": ("jax_vae", {}, True),
    "autograd": ("autograd_vae", {}, True),
}


def load(module_name):
    """Import one implementation module; returns (module, None) or (None, reason)."""
    try:
        return importlib.import_module(f"{__name__}.{module_name}"), None
    except ImportError as err:
        return None, f"{type(err).__name__}: {err}"
