"""What a command-line run needs besides the loop: data by description, presets, run folders."""
import math
import time
from pathlib import Path

import numpy as np

__all__ = ["DATA_PRESETS", "data_spec", "load_split", "image_shape_of", "default_run_dir", "resolve_checkpoint"]

# Model settings used when a command-line option is not given (Kingma & Welling 2013, section 5:
# 500 hidden units for MNIST, 200 for Frey Faces; Figure 4 shows a 2-D latent space for Frey Faces).
DATA_PRESETS = {
    "mnist": {"hidden_sizes": (500,), "latent_dim": 20, "likelihood": "bernoulli"},
    "fashion_mnist": {"hidden_sizes": (500,), "latent_dim": 20, "likelihood": "bernoulli"},
    "frey": {"hidden_sizes": (200,), "latent_dim": 2, "likelihood": "gaussian_sigmoid"},
    "synthetic": {"hidden_sizes": (32,), "latent_dim": 2, "likelihood": "bernoulli"},
}
_SPLIT_STREAM = {"train": 0, "valid": 1, "test": 2}


def data_spec(name, protocol="kw2013", binarize="none", data_dir=None, limit=None, seed=0):
    """A JSON-friendly description of the data a run uses (stored in its checkpoint)."""
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer, got {limit!r}")
    return {"name": name, "protocol": protocol, "binarize": binarize,
            "data_dir": None if data_dir is None else str(data_dir), "limit": limit, "seed": int(seed)}


def load_split(spec, split, dtype=np.float64):
    """Load one split described by :func:`data_spec`: ``(x (N, D), labels (N,) or None, image_shape)``.

    ``binarize="static"`` draws one fixed sample per split from ``default_rng([seed, split])``;
    ``"dynamic"`` returns the grey values (the trainer draws a fresh sample every epoch).
    ``limit`` keeps the first rows of the split.
    """
    from ..datasets import load_dataset

    binarize = spec["binarize"]
    rng = np.random.default_rng([spec["seed"], _SPLIT_STREAM.get(split, 3)]) if binarize == "static" else None
    ds = load_dataset(spec["name"], split, data_dir=spec.get("data_dir"), protocol=spec["protocol"],
                      binarize=binarize, rng=rng, dtype=dtype)
    x, labels = ds.x, ds.labels
    if spec.get("limit"):
        x = x[:spec["limit"]]
        labels = None if labels is None else labels[:spec["limit"]]
    return x, labels, tuple(ds.image_shape)


def image_shape_of(extra, input_dim):
    """The image shape stored with a run, else a square (or a single row) of ``input_dim`` pixels."""
    shape = (extra or {}).get("image_shape")
    if shape:
        return tuple(shape)
    side = math.isqrt(input_dim)
    return (side, side) if side * side == input_dim else (1, input_dim)


def default_run_dir(data, model, root="runs"):
    """``runs/<data>-<model>-<YYYYmmdd-HHMMSS>``."""
    return Path(root) / f"{data}-{model}-{time.strftime('%Y%m%d-%H%M%S')}"


def resolve_checkpoint(path):
    """A checkpoint file, given the file itself or the run folder that holds ``checkpoint.npz``."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.npz"
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path} (give a .npz file or a run folder holding checkpoint.npz)")
    return path
