"""Figures of a trained model, drawn with :mod:`numpyvae.plotting` and written as PNG files.

Each function takes the model and the data it needs, and returns the path written.
"""
import numpy as np

from ..ops.stable import sigmoid
from ..arrays.random import as_generator
from ..models.conditioning import condition_kwargs, condition_size, needs_labels

__all__ = ["decoder_mean", "sample_figure", "reconstruction_figure", "manifold_figure", "latent_figure",
           "curves_figure"]


def _host(model, a):
    backend = getattr(model, "backend", None)
    return np.asarray(backend.to_numpy(a) if backend is not None else a)


def decoder_mean(model, z):
    """E[x | z] for latent points z (N, Z), on the host: ``model.decode_mean(z)`` if the model has it,
    else from the parameters ``model.decode(z)`` returns: sigmoid of ``"logits"`` or ``"mean"``.

    Raises
    ------
    ValueError
        For a model whose decoder output is neither.
    """
    if hasattr(model, "decode_mean"):
        return _host(model, model.decode_mean(z))
    out = model.decode(z) if hasattr(model, "decode") else None
    if isinstance(out, dict) and "logits" in out:
        return _host(model, sigmoid(out["logits"]))
    if isinstance(out, dict) and "mean" in out:
        return _host(model, out["mean"])
    raise ValueError(f"{type(model).__name__} has no decoder mean to draw (no decode_mean, and decode(z) gives "
                     f"neither 'logits' nor 'mean')")


def _clip01(images):
    return np.clip(images, 0.0, 1.0)


def sample_figure(model, path, image_shape, n=100, rng=0):
    """A grid of ``n`` decoder means at z ~ N(0, I) (Kingma & Welling's Figure 5). A conditional
    model draws the classes 0, 1, ..., K-1 in turn (one class per column when n = 10 K)."""
    from .draw import image_grid

    title = f"{n} samples: decoder means at z ~ N(0, I)"
    cond = {}
    if needs_labels(model):
        cond = condition_kwargs(model, np.arange(n) % condition_size(model))
        title += ", classes 0, 1, ... in turn"
    images = _host(model, model.sample(n, rng=as_generator(rng), **cond))
    return image_grid(_clip01(images), image_shape, path, title=title)


def reconstruction_figure(model, x, path, image_shape, n=20, labels=None):
    """The first ``n`` rows of ``x`` above their reconstructions E[x | z = mu(x)] (a conditional
    model needs their ``labels``)."""
    from .draw import reconstruction_grid

    x = np.asarray(x[:n])
    cond = condition_kwargs(model, None if labels is None else np.asarray(labels)[:n])
    return reconstruction_grid(x, _clip01(_host(model, model.reconstruct(x, **cond))), image_shape, path, n=n,
                               ncols=min(10, n))


def manifold_figure(model, path, image_shape, n=20, dims=(0, 1)):
    """Kingma & Welling's Figure 4: decoder means over a grid of Gaussian quantiles of two latent
    dimensions (``dims``); the other latent dimensions are held at the prior mean 0."""
    from .draw import manifold_grid

    if needs_labels(model):
        raise ValueError("the manifold of a conditional model depends on the class; it is not drawn")
    Z = getattr(model, "latent_dim", None)
    if not isinstance(Z, (int, np.integer)) or Z < 2:
        raise ValueError(f"{type(model).__name__} has no latent space of 2 or more dimensions to draw")
    Z = int(Z)
    i, j = dims
    if not (0 <= i < Z and 0 <= j < Z and i != j):
        raise ValueError(f"dims must be two different latent dimensions in [0, {Z}), got {dims}")

    def decode(grid):                                                  # grid (n*n, 2)
        z = np.zeros((grid.shape[0], Z), dtype=getattr(model, "dtype", np.float64))
        z[:, i], z[:, j] = grid[:, 0], grid[:, 1]
        return _clip01(decoder_mean(model, z))

    title = "learned manifold" if Z == 2 else f"latent dims {i}, {j} varied, the other {Z - 2} at 0"
    return manifold_grid(decode, image_shape, path, n=n, title=title)


def latent_figure(model, x, labels, path, dims=(0, 1)):
    """Posterior means of ``x`` (two latent dimensions), coloured by label."""
    from .draw import latent_scatter

    out = model.encode(np.asarray(x), **condition_kwargs(model, labels))
    mu = _host(model, out[0] if isinstance(out, tuple) else out)
    if mu.ndim != 2 or mu.shape[1] < 2:
        raise ValueError(f"{type(model).__name__} has no latent codes of 2 or more dimensions to draw")
    return latent_scatter(mu[:, list(dims)] if mu.shape[1] > 2 else mu, labels, path,
                          title="posterior means" + (f" (latent dims {dims[0]}, {dims[1]} of {mu.shape[1]})"
                                                     if mu.shape[1] > 2 else ""))


def curves_figure(history, path, title=None):
    """Kingma & Welling's Figure 2 from a training history: bound vs. training samples evaluated."""
    from .draw import training_curves

    curves = []
    for key, label in (("train_bound", "train"), ("test_bound", "test")):
        points = [(r["samples"], r[key]) for r in history if r["samples"] > 0 and r.get(key) is not None]
        if points:
            s, b = zip(*points)
            curves.append({"label": label, "samples": np.array(s), "bound": np.array(b)})
    if not curves:
        raise ValueError("the history holds no evaluation after the first training step; nothing to plot")
    return training_curves(curves, path, title=title)


def class_samples_figure(model, path, image_shape=(28, 28), n_per_class=10, rng=None, title=None):
    """Write a figure of :func:`numpyvae.models.samples_per_class`: one row per class, the same z in
    every column. Returns the path."""
    from ..models.cvae import samples_per_class
    from .draw import image_grid

    grid = model.backend.to_numpy(samples_per_class(model, n_per_class, rng))   # (C, n, D)
    C = grid.shape[0]
    return image_grid(grid.reshape(C * n_per_class, -1), image_shape, path, nrows=C, title=title)
