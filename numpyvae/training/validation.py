"""What a checkpoint must hold: its structure before it is loaded, and a trainer section before a run
resumes from it. Every check raises a ValueError that says what is wrong; the loaders prefix "<path>
is not a valid numpyvae checkpoint"."""
import math

import numpy as np

from ..algorithms import canonical_name
from .config import TrainConfig
from .rng_state import rng_from_state

__all__ = ["check_checkpoint", "check_training_state"]


def _section(meta, key, required=False):
    """``meta[key]``: a dict, or None where the section is optional."""
    if key not in meta and required:
        raise ValueError(f"the {key!r} section is missing")
    value = meta.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"the {key!r} section must be a JSON object, got {type(value).__name__}")
    return value


def _require(section, where, key, kind, what):
    """``section[key]``, which must be an instance of ``kind`` (described as ``what`` in the error)."""
    if key not in section:
        raise ValueError(f"{where} has no {key!r}")
    value = section[key]
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise ValueError(f"{where}: {key!r} must be {what}, got {value!r}")
    return value


def check_checkpoint(meta, arrays):
    """Check the structure of a checkpoint read by :func:`read_checkpoint`: every section of
    ``meta.json`` has its keys and types, every array it names is there (and every array is named),
    and the parameters, optimizer state and algorithm state are finite.

    Raises
    ------
    ValueError
        Saying what is wrong (:func:`load_checkpoint` prefixes "<path> is not a valid numpyvae
        checkpoint").
    """
    model = _section(meta, "model", required=True)
    _require(model, "the model section", "name", str, "a registered model name")
    _require(model, "the model section", "config", dict, "a JSON object of constructor arguments")
    if model.get("rng") is not None:
        rng_from_state(model["rng"])
    params = sorted(k for k in arrays if k.startswith("params/"))
    if not params:
        raise ValueError("it holds no parameter arrays (params/<name>)")
    optimizer = _section(meta, "optimizer")
    listed = set()
    if optimizer is not None:
        _require(optimizer, "the optimizer section", "name", str, "an optimizer name")
        _require(optimizer, "the optimizer section", "hyperparameters", dict, "a JSON object")
        t = _require(optimizer, "the optimizer section", "t", int, "a step count")
        if t < 0:
            raise ValueError(f"the optimizer section: 't' must be >= 0, got {t}")
        slots = _require(optimizer, "the optimizer section", "slots", dict, "a JSON object of slot names")
        for slot, names in slots.items():
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ValueError(f"the optimizer slot {slot!r} must list parameter names, got {names!r}")
            for name in names:
                key = f"optim/{slot}/{name}"
                if key not in arrays:
                    raise ValueError(f"the optimizer slot {slot!r} names {name!r}, but there is no array {key}")
                listed.add(key)
    unlisted = sorted(k for k in arrays if k.startswith("optim/") and k not in listed)
    if unlisted:
        raise ValueError(f"optimizer arrays {unlisted} are not listed in the optimizer section")
    algorithm = _section(meta, "algorithm")
    listed = set()
    if algorithm is not None:
        _require(algorithm, "the algorithm section", "name", str, "an algorithm name")
        _require(algorithm, "the algorithm section", "config", dict, "a JSON object of settings")
        names = _require(algorithm, "the algorithm section", "arrays", list, "a list of array names")
        for name in names:
            key = f"algorithm/{name}"
            if not isinstance(name, str) or key not in arrays:
                raise ValueError(f"the algorithm section names the array {name!r}, but there is no array {key}")
            listed.add(key)
    unlisted = sorted(k for k in arrays if k.startswith("algorithm/") and k not in listed)
    if unlisted:
        raise ValueError(f"algorithm arrays {unlisted} are not listed in the algorithm section")
    for key in ("trainer", "extra"):
        _section(meta, key)
    for key, a in arrays.items():
        if a.dtype.kind not in "biuf":
            raise ValueError(f"array {key} has dtype {a.dtype}, not a number type")
        if a.dtype.kind == "f":
            finite = np.isfinite(a) if not key.startswith("buffers/") else ~np.isnan(a)   # log 0 = -inf is a value
            if not finite.all():
                raise ValueError(f"array {key} holds {int((~finite).sum())} NaN{'' if key.startswith('buffers/') else ' or infinite'} "
                                 f"value(s) (a diverged state is never a good one to resume from)")


_STATE_COUNTS = ("samples", "epoch", "batch", "n_evals", "batch_count", "n_train")
_STATE_NUMBERS = ("wall_time", "batch_sum")


def check_training_state(ckpt):
    """The TrainConfig of a checkpoint's trainer section, after checking that the section can be
    resumed: its settings, its progress counters, its generator states and its history, and that the
    optimizer and the algorithm section are the ones the settings name. A ValueError says what is wrong."""
    trainer = ckpt.trainer
    for key, kind in (("config", dict), ("state", dict), ("history", list)):
        if not isinstance(trainer.get(key), kind):
            raise ValueError(f"the trainer section has no {key!r} {'object' if kind is dict else 'list'}")
    config = TrainConfig.from_dict(trainer["config"])
    state = trainer["state"]
    for key in _STATE_COUNTS:
        v = state.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"the trainer state {key!r} must be an integer >= 0, got {v!r}")
    for key in _STATE_NUMBERS:
        v = state.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"the trainer state {key!r} must be a finite number, got {v!r}")
    next_eval = state.get("next_eval", 0)
    if next_eval is not None and (isinstance(next_eval, bool) or not isinstance(next_eval, int)):
        raise ValueError(f"the trainer state 'next_eval' must be a sample count or null, got {next_eval!r}")
    if not isinstance(state.get("fingerprint"), str):
        raise ValueError(f"the trainer state 'fingerprint' must be a string, got {state.get('fingerprint')!r}")
    if "rng" not in state:
        raise ValueError("the trainer state has no random generator state 'rng'")
    rng_from_state(state["rng"])
    if state.get("epoch_rng") is not None:
        rng_from_state(state["epoch_rng"])
    if not all(isinstance(r, dict) and isinstance(r.get("samples"), int) for r in trainer["history"]):
        raise ValueError("the trainer history must be a list of records, each with its 'samples'")
    if ckpt.optimizer.name != config.optimizer:
        raise ValueError(f"the optimizer state is {ckpt.optimizer.name!r} but the settings name {config.optimizer!r}")
    section = ckpt.meta.get("algorithm")
    if section is not None and canonical_name(section["name"]) != config.algorithm:
        raise ValueError(f"the algorithm section is {section['name']!r} but the settings name {config.algorithm!r}")
    return config
