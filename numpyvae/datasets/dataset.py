"""The Dataset container returned by the loaders."""

from dataclasses import dataclass

import numpy as np

from .binarize import BINARIZE_MODES, bernoulli_binarize

__all__ = ["Dataset"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A split of a data set, flattened, in memory.

    Attributes
    ----------
    x : numpy.ndarray of float, shape (N, D)
        One flattened image per row (row-major), values in [0, 1]. With
        ``binarize="static"`` the values are 0 or 1; with ``binarize="dynamic"`` they are the
        grey values, i.e. the Bernoulli probabilities that :meth:`epoch_view` samples from.
    labels : numpy.ndarray of int64, shape (N,), or None
        Class labels where the data set has them (MNIST, Fashion-MNIST, synthetic).
    image_shape : tuple of int
        (rows, columns) of one image, with rows * columns = D: (28, 28) or (28, 20).
    name : str
        Canonical data-set name, e.g. ``"mnist"``.
    split : str
        ``"train"``, ``"valid"`` or ``"test"``.
    binarize : {"none", "static", "dynamic"}
        How the pixel values are binarized (see :mod:`numpyvae.datasets.binarize`).
    """

    x: np.ndarray
    labels: np.ndarray
    image_shape: tuple
    name: str
    split: str
    binarize: str = "none"

    def __post_init__(self):
        x = self.x
        if not isinstance(x, np.ndarray) or x.ndim != 2 or x.dtype.kind != "f":
            raise ValueError(
                "Dataset.x must be a 2-D floating-point array (N, D), got "
                f"{type(x).__name__} {getattr(x, 'dtype', '')} {getattr(x, 'shape', '')}"
            )
        image_shape = tuple(int(s) for s in self.image_shape)
        if int(np.prod(image_shape)) != x.shape[1]:
            raise ValueError(
                f"image_shape {image_shape} has {int(np.prod(image_shape))} pixels but x has "
                f"D = {x.shape[1]} columns"
            )
        object.__setattr__(self, "image_shape", image_shape)
        if self.labels is not None and (
            not isinstance(self.labels, np.ndarray) or self.labels.shape != (x.shape[0],)
        ):
            raise ValueError(
                f"labels must be None or an array of shape ({x.shape[0]},), got shape "
                f"{getattr(self.labels, 'shape', type(self.labels).__name__)}"
            )
        if self.binarize not in BINARIZE_MODES:
            raise ValueError(
                f"unknown binarize mode {self.binarize!r}; valid: {', '.join(BINARIZE_MODES)}"
            )

    def __len__(self):
        return self.x.shape[0]

    @property
    def n_samples(self):
        """N, the number of images."""
        return self.x.shape[0]

    @property
    def n_features(self):
        """D, the number of pixels per image."""
        return self.x.shape[1]

    def images(self):
        """The images unflattened: a view of ``x`` with shape (N, rows, columns)."""
        return self.x.reshape((-1,) + self.image_shape)

    def epoch_view(self, rng=None):
        """The data to train on for one epoch; call it once per epoch.

        With ``binarize="dynamic"`` a fresh Bernoulli draw of ``x`` (a new array each call);
        otherwise ``x`` itself (no copy, ``rng`` unused).

        Parameters
        ----------
        rng : numpy.random.Generator
            Required with ``binarize="dynamic"``.

        Returns
        -------
        numpy.ndarray, shape (N, D)
        """
        if self.binarize != "dynamic":
            return self.x
        if rng is None:
            raise ValueError(
                "epoch_view needs rng=numpy.random.Generator for binarize='dynamic'"
            )
        return bernoulli_binarize(self.x, rng)                        # (N, D)
