"""Checkpoints: one ``.npz`` file of arrays with a JSON document inside; no pickle anywhere.

Layout of the archive (read it with ``numpy.load(path)``; nothing needs ``allow_pickle``):

- ``meta.json``: uint8 bytes of a UTF-8 JSON document with the model's registered name and
  constructor configuration (``get_config()``), the state of its random generator, the optimizer's
  name, hyper-parameters and step count, the trainer's settings and progress (random-generator
  state included), free-form ``extra`` information (e.g. which data set was used), and the BLAS
  kernels and threads it trained with (``blas``: :func:`numpyvae.arrays.blas.blas_setting`);
- ``params/<name>``: every array of ``model.params``, in its own dtype;
- ``buffers/<name>``: every array of ``model.buffers``, for models that keep state not trained by
  gradient there (running statistics, fitted priors);
- ``optim/<slot>/<name>``: the optimizer's state arrays (Adam's ``m`` and ``v``, ...);
- ``algorithm/<name>``: the training algorithm's own state (Monte Carlo EM's chains, full VB's
  posterior log-variances), named in ``meta.json`` with the algorithm and its settings.

Loading rebuilds the model from its configuration and overwrites every parameter, so a model
loaded from a checkpoint is bit-for-bit the one saved. Files are written to a temporary name and
renamed (the file and its folder synced to disk before and after), so a crash never leaves a
half-written checkpoint; temporary files left by a write that was killed are removed by the next.
"""
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..arrays.backend import get_backend
from ..arrays.blas import blas_setting
from ..models.registry import build_model, model_name
from ..optim.optimizers import make_optimizer
from .files import atomic_write, atomic_write_text
from .rng_state import rng_from_state, rng_state
from .validation import check_checkpoint

__all__ = ["FORMAT", "FORMAT_VERSION", "Checkpoint", "make_checkpoint", "write_checkpoint",
           "save_checkpoint", "read_checkpoint", "load_checkpoint", "load_model", "restore_state",
           "rng_state", "rng_from_state", "algorithm_arrays", "atomic_write_text", "check_checkpoint"]

FORMAT = "numpyvae-checkpoint"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns.

    Attributes
    ----------
    model : the restored model
    optimizer : the restored optimizer, or None when none was saved
    trainer : dict or None
        The trainer's settings and progress (see :class:`numpyvae.training.Trainer`).
    extra : dict
        Free-form information saved with the checkpoint.
    meta : dict
        The whole JSON document.
    algorithm_arrays : dict
        The training algorithm's saved state arrays (``{}`` for SGVB), for
        :meth:`numpyvae.algorithms.Algorithm.load_state_arrays`.
    """

    model: object
    optimizer: object
    trainer: dict
    extra: dict
    meta: dict
    algorithm_arrays: dict = None


def _host(model, a):
    backend = getattr(model, "backend", None)
    return np.array(backend.to_numpy(a) if backend is not None else a, copy=True)


def make_checkpoint(model, optimizer=None, trainer=None, extra=None, algorithm=None):
    """Copy everything a checkpoint holds into host memory: ``(meta, arrays)``.

    ``algorithm`` (a :mod:`numpyvae.algorithms` object) adds its name, settings and state arrays.

    The copy is independent of the model, so it can be kept as a "last good" snapshot and written
    or restored later (see :func:`write_checkpoint`, :func:`restore_state`).
    """
    arrays = {f"params/{name}": _host(model, p) for name, p in model.params.items()}
    for name, b in (getattr(model, "buffers", None) or {}).items():
        arrays[f"buffers/{name}"] = _host(model, b)
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "model": {"name": model_name(model), "config": model.get_config(),
                  "rng": rng_state(model.rng) if isinstance(getattr(model, "rng", None), np.random.Generator)
                  else None},
        "optimizer": None, "trainer": trainer, "extra": dict(extra or {}), "algorithm": None,
    }
    if algorithm is not None:
        state = algorithm.state_arrays()
        meta["algorithm"] = {"name": algorithm.name, "config": algorithm.get_config(), "arrays": sorted(state)}
        for name, a in state.items():
            arrays[f"algorithm/{name}"] = _host(model, a)
    if optimizer is not None:
        state = optimizer.state_dict()
        slots = {}
        for slot, named in state["slots"].items():
            slots[slot] = sorted(named)
            for name, a in named.items():
                arrays[f"optim/{slot}/{name}"] = _host(model, a)
        meta["optimizer"] = {"name": state["name"], "hyperparameters": state["hyperparameters"],
                             "t": state["t"], "slots": slots}
    from .._version import __version__

    meta["numpyvae_version"] = __version__
    meta["blas"] = blas_setting()                     # how its products rounded (numpyvae.arrays.blas)
    return meta, arrays


def write_checkpoint(path, meta, arrays):
    """Write ``(meta, arrays)`` from :func:`make_checkpoint` to ``path`` atomically; returns the Path."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"checkpoint files end in .npz, got {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = np.frombuffer(json.dumps(meta, allow_nan=False).encode("utf-8"), dtype=np.uint8)
    return atomic_write(path, lambda f: np.savez(f, **{"meta.json": blob}, **arrays))


def save_checkpoint(path, model, optimizer=None, trainer=None, extra=None):
    """Save ``model`` (and optionally its optimizer, trainer progress and extra info) to ``path``.

    Parameters
    ----------
    path : str or Path
        A ``.npz`` file.
    model : registered model (see :mod:`numpyvae.models.registry`)
    optimizer : numpyvae.optim.Optimizer, optional
    trainer : dict, optional
        JSON-friendly trainer state.
    extra : dict, optional
        JSON-friendly information to keep with the model.

    Returns
    -------
    pathlib.Path
    """
    return write_checkpoint(path, *make_checkpoint(model, optimizer, trainer, extra))


# ---------------------------------------------------------------------- reading
def read_checkpoint(path):
    """Read ``(meta, arrays)`` from a checkpoint file, checking that it is one.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        The file is not a numpyvae checkpoint, is damaged, or comes from a newer format version.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a readable numpyvae checkpoint (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = list(npz.files)
            meta_bytes = npz["meta.json"].tobytes() if "meta.json" in names else None
            arrays = {k: npz[k] for k in names if k != "meta.json"}
        meta = None if meta_bytes is None else json.loads(meta_bytes.decode("utf-8"))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not a readable numpyvae checkpoint: {exc}") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path} is not a numpyvae checkpoint (no meta.json inside)")
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not a numpyvae checkpoint (format {meta.get('format')!r})")
    version = meta.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"{path} is not a valid numpyvae checkpoint: format_version {version!r} is not an integer")
    if version > FORMAT_VERSION:
        raise ValueError(f"{path} uses checkpoint format {meta['format_version']}, newer than this version "
                         f"of numpyvae reads ({FORMAT_VERSION}); upgrade numpyvae")
    return meta, arrays


def _to_model(model, value):
    """A fresh copy of host array ``value`` on the model's backend."""
    backend = getattr(model, "backend", None)
    value = np.array(value, copy=True)
    return backend.asarray(value) if backend is not None else value


def restore_state(model, optimizer, meta, arrays, algorithm=None):
    """Overwrite ``model.params`` (and the optimizer's state, if both are given) from a checkpoint.

    Buffers (``model.buffers``) saved in the checkpoint are set as well, and the state arrays of
    ``algorithm`` when one is given.

    Raises
    ------
    ValueError
        When the checkpoint's parameters do not match the model's names, shapes or dtypes.
    """
    names = {k[len("params/"):] for k in arrays if k.startswith("params/")}
    if names != set(model.params):
        raise ValueError(f"checkpoint parameters {sorted(names)} do not match the model's {sorted(model.params)}")
    for name, old in model.params.items():
        value = arrays[f"params/{name}"]
        if tuple(old.shape) != value.shape or np.dtype(old.dtype) != value.dtype:
            raise ValueError(f"parameter {name!r} is {value.shape} {value.dtype} in the checkpoint but "
                             f"{tuple(old.shape)} {np.dtype(old.dtype)} in the model")
    for name, p in model.params.items():
        p[...] = _to_model(model, arrays[f"params/{name}"])                # in place: views stay valid
    buffers = {k[len("buffers/"):]: v for k, v in arrays.items() if k.startswith("buffers/")}
    if buffers:
        if not isinstance(getattr(model, "buffers", None), dict):
            raise ValueError(f"the checkpoint has buffers {sorted(buffers)} but {type(model).__name__} keeps none")
        for name, value in buffers.items():
            model.buffers[name] = _to_model(model, value)
    rng = meta["model"].get("rng")
    if rng is not None and hasattr(model, "rng"):
        model.rng = rng_from_state(rng)
    if optimizer is not None and meta.get("optimizer") is not None:
        om = meta["optimizer"]
        shapes = {name: tuple(p.shape) for name, p in model.params.items()}
        shapes.update({k[len("algorithm/"):]: v.shape for k, v in arrays.items() if k.startswith("algorithm/")})
        for slot, names_ in om["slots"].items():                       # the model's and the algorithm's arrays
            for name in names_:
                if name not in shapes:
                    raise ValueError(f"the optimizer slot {slot!r} holds state for {name!r}, which is not a "
                                     f"parameter of the model nor an array of the algorithm")
                shape = arrays[f"optim/{slot}/{name}"].shape
                if shape != shapes[name]:
                    raise ValueError(f"the optimizer state {slot!r} of {name!r} has shape {shape}, the array "
                                     f"itself {shapes[name]}")
        slots = {slot: {name: _to_model(model, arrays[f"optim/{slot}/{name}"]) for name in names_}
                 for slot, names_ in om["slots"].items()}
        optimizer.load_state_dict({"name": om["name"], "t": om["t"], "slots": slots})
    if algorithm is not None:
        algorithm.load_state_arrays(algorithm_arrays(arrays))


def algorithm_arrays(arrays):
    """The ``algorithm/<name>`` arrays of a checkpoint, by name (host copies)."""
    return {k[len("algorithm/"):]: np.array(v, copy=True) for k, v in arrays.items() if k.startswith("algorithm/")}


def load_checkpoint(path, backend=None):
    """Load a checkpoint (a ``.npz`` file, or a run folder holding ``checkpoint.npz``, as every command
    of the command line takes): the model, its optimizer and the saved trainer state.

    Checkpoints hold host arrays, so one written on any backend loads on any other: ``backend``
    (``"numpy"``, ``"cupy"``; default ``NUMPYVAE_BACKEND``, else NumPy) says where the model is built.

    Returns
    -------
    Checkpoint

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        "<path> is not a valid numpyvae checkpoint: <what is wrong>" for a file whose content is
        damaged or edited: a missing section or key, an array that is not there, an unknown model or
        optimizer setting, a garbled generator state, NaN or infinite parameters (see
        :func:`check_checkpoint`); or unreadable, or of a newer format (see :func:`read_checkpoint`).
    """
    if Path(path).is_dir():                                            # a run folder
        path = Path(path) / "checkpoint.npz"
    meta, arrays = read_checkpoint(path)
    if backend is not None:
        get_backend(backend)                                           # its own error, before the file's
    overrides = {} if backend is None else {"backend": backend}
    try:
        check_checkpoint(meta, arrays)
        model = build_model(meta["model"]["name"], meta["model"]["config"], **overrides)
        optimizer = None
        if meta.get("optimizer") is not None:
            om = meta["optimizer"]
            optimizer = make_optimizer(om["name"], **om["hyperparameters"])
        restore_state(model, optimizer, meta, arrays)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:   # whatever an edited file can cause
        detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ValueError(f"{path} is not a valid numpyvae checkpoint: {detail}") from None
    return Checkpoint(model=model, optimizer=optimizer, trainer=meta.get("trainer"),
                      extra=meta.get("extra") or {}, meta=meta, algorithm_arrays=algorithm_arrays(arrays))


def load_model(path, backend=None):
    """Load only the model from a checkpoint file or a run folder (see :func:`load_checkpoint`)."""
    return load_checkpoint(path, backend=backend).model
