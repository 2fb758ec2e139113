"""Figures of a trained model, drawn with :mod:`numpyvae.plotting` and written as PNG files.

Each function takes the model and the data it needs, and returns the path written. Figures of a
latent space with more than two dimensions show the two most active ones by default (the largest
mean KL from the prior, :func:`numpyvae.evaluation.most_active_dims`, measured on the data given) and
say which in the title; the axes name the same dimensions (``z_3``, ``z_7``: 0-based, as ``dims``).
"""
import numpy as np

from ..arrays.random import as_generator
from ..evaluation.active_units import most_active_dims
from ..evaluation.bounds import bound_name
from ..models.conditioning import condition_kwargs, condition_size, needs_labels
from ..models.latent import code_width, decoder_mean

__all__ = ["decoder_mean", "sample_figure", "reconstruction_figure", "manifold_figure", "manifold_images",
           "latent_figure", "choose_dims", "curves_figure"]

ACTIVITY_ROWS = 2000
"""Datapoints on which the most active latent dimensions are measured."""


def _host(model, a):
    backend = getattr(model, "backend", None)
    return np.asarray(backend.to_numpy(a) if backend is not None else a)


def _clip01(images):
    return np.clip(images, 0.0, 1.0)


def prior_text(model):
    """Where a model's samples come from, for titles: its ``prior_name`` (a VQ-VAE's categorical prior
    over codes, an autoencoder's fitted Gaussian, ...), else the standard normal prior."""
    return getattr(model, "prior_name", None) or "z ~ N(0, I)"


def sample_figure(model, path, image_shape, n=100, rng=0):
    """A grid of ``n`` decoder means at draws from the model's prior (Kingma & Welling's Figure 5). A
    conditional model draws the classes 0, 1, ..., K-1 in turn (one class per column when n = 10 K)."""
    from .draw import image_grid

    title = f"{n} samples: decoder means at {prior_text(model)}"
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


def choose_dims(model, x=None, labels=None, dims=None):
    """The two latent dimensions a figure shows, and the words that say which (for its title).

    ``dims`` given: those (checked). A 2-D latent space: (0, 1). Otherwise the two most active
    dimensions on the first rows of ``x`` (largest mean KL; the codes' variance for a model without a
    Gaussian posterior), or (0, 1) when no ``x`` is given, as the words then say.

    Returns
    -------
    dims : (int, int)
    words : str
        E.g. ``"latent dims 3, 7 of 20 (the two most active: mean KL 2.1, 1.8 nats)"``; ``""`` for a
        2-D latent space.
    """
    cond = condition_kwargs(model, np.zeros(1, dtype=np.int64)) if needs_labels(model) else {}
    width = code_width(model, **cond)
    if width < 2:
        raise ValueError(f"{type(model).__name__} has no latent space of 2 or more dimensions to draw")
    if dims is not None:
        dims = tuple(int(d) for d in dims)
        if len(dims) != 2 or not (0 <= dims[0] < width and 0 <= dims[1] < width) or dims[0] == dims[1]:
            raise ValueError(f"dims must be two different latent dimensions in [0, {width}), got {dims}")
        return dims, "" if width == 2 and dims == (0, 1) else f"latent dims {dims[0]}, {dims[1]} of {width}"
    if width == 2:
        return (0, 1), ""
    if x is None:
        return (0, 1), f"latent dims 0, 1 of {width} (no data given to find the most active)"
    rows = slice(0, ACTIVITY_ROWS)
    dims, values, statistic = most_active_dims(model, np.asarray(x[rows]), 2,
                                               None if labels is None else np.asarray(labels)[rows])
    unit = " nats" if statistic == "mean KL" else ""
    return dims, (f"latent dims {dims[0]}, {dims[1]} of {width} (the two most active: {statistic} "
                  f"{values[0]:.2g}, {values[1]:.2g}{unit})")


def _axis_labels(dims):
    return tuple(rf"$z_{{{d}}}$" for d in dims)


def manifold_images(model, n=20, dims=(0, 1)):
    """Decoder means over the n x n grid of Gaussian quantiles (:func:`numpyvae.plotting.draw.latent_grid`)
    of latent dimensions ``dims``, the others at the prior mean 0: array (n*n, D) in [0, 1]."""
    from .draw import latent_grid

    grid = latent_grid(n)                                              # (n*n, 2)
    z = np.zeros((grid.shape[0], code_width(model)), dtype=getattr(model, "dtype", np.float64))  # (n*n, Z)
    z[:, dims[0]], z[:, dims[1]] = grid[:, 0], grid[:, 1]
    return _clip01(decoder_mean(model, z))


def manifold_figure(model, path, image_shape, n=20, dims=None, x=None):
    """Kingma & Welling's Figure 4: decoder means over a grid of Gaussian quantiles of two latent
    dimensions, the other latent dimensions at the prior mean 0.

    ``dims`` default: the two most active on ``x`` (:func:`choose_dims`); the title and the axes say
    which. The hierarchical VAE's grid lies in z1, the space its decoder reads.

    Raises
    ------
    ValueError
        For a conditional model (its manifold depends on the class) and a VQ-VAE (its decoder reads
        codebook vectors, a discrete set, not a Gaussian latent space).
    """
    from .draw import manifold_grid

    if needs_labels(model):
        raise ValueError("the manifold of a conditional model depends on the class; it is not drawn")
    if hasattr(model, "decode_codes"):
        raise ValueError(f"{type(model).__name__} decodes a discrete codebook; there is no Gaussian latent "
                         f"space to draw a manifold of")
    dims, words = choose_dims(model, x, dims=dims)
    title = "learned manifold" + (f": {words}, the other {code_width(model) - 2} at 0" if words else "")
    images = manifold_images(model, n, dims)
    return manifold_grid(lambda grid: images, image_shape, path, n=n, title=title, axis_labels=_axis_labels(dims))


def latent_figure(model, x, labels, path, dims=None):
    """Each datapoint's point in latent space (``model.embed``: posterior means, or codes), coloured
    by label; for more than two dimensions the two most active on ``x`` unless ``dims`` are given."""
    from .draw import latent_scatter

    x = np.asarray(x)
    cond = condition_kwargs(model, labels)
    points = _host(model, model.embed(x, **cond))
    if points.ndim != 2 or points.shape[1] < 2:
        raise ValueError(f"{type(model).__name__} has no latent codes of 2 or more dimensions to draw")
    dims, words = choose_dims(model, x, labels if needs_labels(model) else None, dims)
    first = model.encode(x[:1], **{k: v[:1] for k, v in cond.items()})
    what = "posterior means" if isinstance(first, tuple) else "codes"     # (mu, spread) or a code
    return latent_scatter(points[:, list(dims)], labels, path, title=what + (f", {words}" if words else ""),
                          axis_labels=_axis_labels(dims))


def curves_figure(history, path, title=None, model=None):
    """Kingma & Welling's Figure 2 from a training history: bound vs. training samples evaluated.
    Given the ``model``, the y-axis names its bound (:func:`numpyvae.evaluation.bound_name`)."""
    from .draw import _YLABEL, training_curves

    curves = []
    for key, label in (("train_bound", "train"), ("test_bound", "test")):
        points = [(r["samples"], r[key]) for r in history if r["samples"] > 0 and r.get(key) is not None]
        if points:
            s, b = zip(*points)
            curves.append({"label": label, "samples": np.array(s), "bound": np.array(b)})
    if not curves:
        raise ValueError("the history holds no evaluation after the first training step; nothing to plot")
    ylabel = _YLABEL if model is None or bound_name(model) == "ELBO" else f"{bound_name(model)} per datapoint"
    return training_curves(curves, path, title=title, ylabel=ylabel)


def class_samples_figure(model, path, image_shape=(28, 28), n_per_class=10, rng=None, title=None):
    """Write a figure of :func:`numpyvae.models.samples_per_class`: one row per class, the same z in
    every column. Returns the path."""
    from ..models.cvae import samples_per_class
    from .draw import image_grid

    grid = model.backend.to_numpy(samples_per_class(model, n_per_class, rng))   # (C, n, D)
    C = grid.shape[0]
    return image_grid(grid.reshape(C * n_per_class, -1), image_shape, path, nrows=C, title=title)
