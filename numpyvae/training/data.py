"""The data of a training run: checks of the arrays given to :meth:`numpyvae.Trainer.fit`, a digest
that recognises them on resume, and the fixed sets the bound is evaluated on."""
import hashlib

import numpy as np

from ..datasets.binarize import bernoulli_binarize

__all__ = ["host_array", "fingerprint", "EvaluationSets"]


def host_array(x, name, dtype, labels=None):
    """Check a data set and return it as a host array of ``dtype`` (no copy when it already is)."""
    try:
        x = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} could not be read as a numeric array: {exc}") from None
    if x.dtype.kind not in "biuf" or x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty numeric array of shape (N, D), got {x.dtype} {x.shape}")
    x = x.astype(dtype, copy=False)
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains {int((~np.isfinite(x)).sum())} NaN or infinite value(s)")
    if labels is not None and np.shape(labels) != (x.shape[0],):
        raise ValueError(f"labels for {name} must have shape ({x.shape[0]},), got {np.shape(labels)}")
    return x


def fingerprint(x):
    """A short digest of the first rows of the training data (to catch resuming on other data)."""
    return hashlib.sha1(np.ascontiguousarray(x[:256]).tobytes()).hexdigest()[:16]


class EvaluationSets:
    """The train and test sets of the periodic evaluations.

    With ``eval_size`` smaller than a set, the periodic evaluations use a fixed random subset of it
    (drawn from ``default_rng([seed, 1 or 2])``) and the final one every row. With ``dynamic``
    binarisation the grey values are binarised by one fixed draw per set and subset
    (``default_rng([seed, 1 or 2, full])``), the same at every evaluation point.
    """

    def __init__(self, x, labels, x_test, labels_test, eval_size, seed, dynamic=False):
        self.seed, self.dynamic = seed, dynamic
        self._sets, self._cache = {}, {}
        for key, data, lab, stream in (("train", x, labels, 1), ("test", x_test, labels_test, 2)):
            if data is None:
                continue
            rows = None
            if eval_size is not None and eval_size < data.shape[0]:
                rows = np.sort(np.random.default_rng([seed, stream]).permutation(data.shape[0])[:eval_size])
            self._sets[key] = (data, None if lab is None else np.asarray(lab), rows, stream)

    @property
    def names(self):
        return tuple(self._sets)

    def data(self, key, full):
        """``(x, labels)`` of set ``key``: its subset, or every row when ``full`` (the final evaluation)."""
        data, lab, rows, stream = self._sets[key]
        if rows is None:
            full = True
        if (key, full) in self._cache:
            return self._cache[key, full]
        if not full:
            data, lab = data[rows], None if lab is None else lab[rows]
        if self.dynamic:                                                # one fixed draw, the same every time
            data = bernoulli_binarize(data, np.random.default_rng([self.seed, stream, int(full)]))
        if not full:                                                    # the subset is used at every point
            self._cache[key, full] = (data, lab)
        return data, lab
