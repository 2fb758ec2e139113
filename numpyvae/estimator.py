"""The scikit-learn front: :class:`Estimator` builds a registered model and trains it with the Trainer.

>>> est = Estimator("vae", hidden_sizes=(200,), latent_dim=2, epochs=5, random_state=0).fit(X)
>>> Z = est.transform(X)            # posterior means (N, 2)
>>> est.score(X)                    # mean bound per datapoint (nats; higher is better)

``__init__`` only stores its arguments (scikit-learn's convention); :meth:`fit` infers the input
width, builds ``model_`` through the model registry and trains it, and a second ``fit`` starts
again from fresh parameters (``warm_start=True`` or :meth:`partial_fit` continue instead). The
models themselves (``nv.VAE`` and the variants) keep only their array API.

It passes scikit-learn's ``check_estimator`` (tests/test_sklearn.py), so ``clone``, ``GridSearchCV``,
``cross_val_score`` (also with ``n_jobs``) and ``Pipeline`` work; scikit-learn itself is never
imported here except inside :meth:`Estimator.__sklearn_tags__`, which only scikit-learn calls.
"""
import numbers
from dataclasses import fields

import numpy as np

from .models.conditioning import condition_kwargs, condition_size, needs_labels
from .models.latent import code_width, decoder_mean
from .models.registry import build_model, canonical_model_name, get_model_class
from .training import Trainer, TrainConfig, mean_bound

__all__ = ["Estimator", "NotFittedError", "TRAIN_SETTINGS"]

TRAIN_SETTINGS = tuple(f.name for f in fields(TrainConfig) if f.name != "seed")
"""Constructor arguments that are training settings: the fields of :class:`numpyvae.TrainConfig`
(its ``seed`` comes from ``random_state``)."""
_CORE = ("model", "random_state", "warm_start", "verbose")


class NotFittedError(ValueError, AttributeError):
    """The estimator is used before :meth:`Estimator.fit` (scikit-learn's exception of the same name)."""


class Estimator:
    """A registered numpyvae model as a scikit-learn estimator (a transformer into latent space).

    Parameters
    ----------
    model : str
        A registered model name or alias (``"vae"``, ``"iwae"``, ``"cvae"``, ``"vqvae"``, ...; see
        ``numpyvae.models.MODELS`` and ``MODEL_ALIASES``).
    random_state : int, numpy.random.Generator or None
        Seeds the model's initial parameters and the training (None: fresh entropy each fit).
    warm_start : bool
        ``fit`` continues the current model (and optimizer) instead of starting again.
    verbose : bool
        Print one line per evaluation.
    **options
        Model options (``hidden_sizes``, ``latent_dim``, ``likelihood``, ``k``, ``dtype``, ...; the
        registered class's constructor arguments, except ``input_dim``, which ``fit`` reads from the
        data, and ``rng``, which ``random_state`` replaces) and training settings (the fields of
        :class:`numpyvae.TrainConfig`: ``epochs`` = 10, ``batch_size`` = 100, ``optimizer`` = "adam",
        ``lr``, ...). They are read and set like the named parameters (``est.epochs``,
        ``est.set_params(epochs=5)``, ``get_params()``) and checked when ``fit`` builds the model.

    Attributes
    ----------
    model_ : the trained model
    optimizer_ : numpyvae.optim.Optimizer
        Its state, for ``warm_start`` and :meth:`partial_fit`.
    history_ : list of dict
        The Trainer's evaluation records (see :mod:`numpyvae.training.log`).
    n_features_in_ : int
    n_samples_seen_ : int
        Training samples evaluated in the last fit (all of them with ``warm_start``).

    Notes
    -----
    A conditional model (``"cvae"``) takes its integer class labels 0..K-1 as ``y`` in ``fit``,
    ``transform``, ``inverse_transform`` and ``score``; K is the ``condition_dim`` option, else
    ``max(y) + 1`` at the first fit. The default Bernoulli likelihood wants data in [0, 1]; for other
    data pass ``likelihood="gaussian"`` (``loss="squared_error"`` for the autoencoder).
    """

    def __init__(self, model="vae", *, random_state=None, warm_start=False, verbose=False, **options):
        self._options = dict(options)
        self.model = model
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    # ------------------------------------------------------------------ parameters
    def __getattr__(self, name):                  # only called when normal lookup fails: the options
        options = self.__dict__.get("_options", {})
        if not name.startswith("_") and name in options:
            return options[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name, value):
        """Public names that are neither the named parameters nor learned state (``name_``) are options."""
        if name.startswith("_") or name.endswith("_") or name in _CORE:
            object.__setattr__(self, name, value)
        else:
            self._options[name] = value

    def get_params(self, deep=True):
        """Every constructor argument by name (scikit-learn's interface; ``deep`` changes nothing)."""
        params = {name: getattr(self, name) for name in _CORE}
        params.update(self._options)
        return params

    def set_params(self, **params):
        """Set constructor arguments (named or options); returns self."""
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if k != "model")
        return f"Estimator({self.model!r}{', ' + args if args else ''})"

    def __sklearn_tags__(self):
        """scikit-learn's description of the estimator (only scikit-learn calls this, so only here is it
        imported): a transformer, labels required by a conditional model, no NaN, the output in the
        model's dtype."""
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        try:
            dtype = np.dtype(self._options.get("dtype", np.float64)).name
        except TypeError:
            dtype = "float64"
        return Tags(estimator_type=None, target_tags=TargetTags(required=self._conditional()),
                    transformer_tags=TransformerTags(preserves_dtype=[dtype]),
                    input_tags=InputTags(allow_nan=False))

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def _conditional(self):
        try:
            return bool(getattr(get_model_class(self.model), "needs_labels", False))
        except ValueError:                        # an unknown name: fit says so
            return False

    def _split_options(self):
        settings = {k: v for k, v in self._options.items() if k in TRAIN_SETTINGS}
        model_options = {k: v for k, v in self._options.items() if k not in TRAIN_SETTINGS}
        for key in ("input_dim", "rng", "seed"):
            if key in model_options:
                instead = {"input_dim": "it is read from the data", "rng": "use random_state",
                           "seed": "use random_state"}[key]
                raise ValueError(f"{key!r} is not an option of the Estimator: {instead}")
        return model_options, settings

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, **fit_params):
        """Build the model for ``X`` (N, D) and train it; returns ``self``.

        ``y`` holds the class labels of a conditional model (ignored otherwise). ``fit_params`` go to
        :class:`numpyvae.training.Trainer` (``x_test``, ``labels_test``, ``checkpoint_path``, ...).
        """
        keep = self.warm_start and hasattr(self, "model_")
        X = self._check_X(X, reset=not keep)
        labels = self._labels(y, len(X), required=True)
        if not keep:
            self._build(X.shape[1], labels)
            self.history_, self.n_samples_seen_ = [], 0
        return self._train(X, labels, **fit_params)

    def partial_fit(self, X, y=None, **fit_params):
        """Train the current model for one more epoch on ``X`` (building it on the first call);
        returns ``self``."""
        first = not hasattr(self, "model_")
        X = self._check_X(X, reset=first)
        labels = self._labels(y, len(X), required=True)
        if first:
            self._build(X.shape[1], labels)
            self.history_, self.n_samples_seen_ = [], 0
        return self._train(X, labels, epochs=1, max_samples=None, **fit_params)

    def _build(self, input_dim, labels):
        model_options, _ = self._split_options()
        name = canonical_model_name(self.model)
        rng = _generator(self.random_state)
        options = dict(model_options)
        if getattr(get_model_class(name), "needs_labels", False) and "condition_dim" not in options:
            options["condition_dim"] = int(labels.max()) + 1
        self.model_ = build_model(name, {"input_dim": int(input_dim), **options}, rng=rng)
        self._seed_rng = np.random.default_rng(rng.integers(2 ** 31))
        self.optimizer_ = None

    def _train(self, X, labels, x_test=None, labels_test=None, **trainer_options):
        _, settings = self._split_options()
        settings.update({k: trainer_options.pop(k) for k in list(trainer_options) if k in TRAIN_SETTINGS})
        seed = int(self._seed_rng.integers(2 ** 31))
        trainer = Trainer(self.model_, optimizer=self.optimizer_, progress=bool(self.verbose), seed=seed,
                          **settings, **trainer_options)
        trainer.fit(X, labels, x_test, labels_test)
        self.optimizer_ = trainer.optimizer
        self.history_ = self.history_ + trainer.history
        self.n_samples_seen_ += trainer.state["samples"]
        return self

    # ------------------------------------------------------------------ input checks
    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(X) first")

    def _check_X(self, X, reset, name="X"):
        """``X`` as a finite 2-D float array; its width is recorded (``reset``) or checked."""
        if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
            raise TypeError(f"sparse input is not supported: {name} must be a dense array (use {name}.toarray())")
        try:
            X = np.asarray(X)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be a numeric array of shape (N, D): {exc}") from None
        if X.dtype.kind == "c":
            raise ValueError(f"Complex data not supported: {name} must be real")
        if X.dtype.kind not in "biuf":
            try:
                X = X.astype(np.float64)
            except TypeError as exc:                                    # an entry that is no number at all
                raise TypeError(f"{name} must be a numeric array of shape (N, D): {exc}") from None
            except ValueError as exc:                                   # a string that reads as no number
                raise ValueError(f"{name} must be a numeric array of shape (N, D): {exc}") from None
        if X.ndim != 2:
            raise ValueError(f"Expected a 2-D array of shape (N, D) for {name}, got shape {X.shape}. Reshape your "
                             f"data: {name}.reshape(-1, 1) for a single feature, {name}.reshape(1, -1) for a "
                             f"single sample")
        if X.shape[0] == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
        if X.shape[1] == 0:
            raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")
        X = X.astype(self._dtype(), copy=False)
        if not np.isfinite(X).all():
            raise ValueError(f"Input {name} contains NaN or infinity")
        if reset:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input")
        return X

    def _dtype(self):
        model = self.__dict__.get("model_")
        if model is not None:
            return np.dtype(model.dtype)
        try:
            return np.dtype(self._options.get("dtype", np.float64))
        except TypeError:
            return np.dtype(np.float64)

    def _labels(self, y, n, required):
        """The class labels of a conditional model as an int array (N,), None otherwise."""
        model = self.__dict__.get("model_")
        conditional = needs_labels(model) if model is not None else self._conditional()
        if not conditional:
            return None
        if y is None:
            if not required:
                return None
            raise ValueError(f"model {self.model!r} is conditioned on class labels: it requires y to be passed, "
                             f"but the target y is None")
        labels = np.asarray(y)
        if labels.shape != (n,):
            raise ValueError(f"y must hold one label per row of X, shape ({n},), got {labels.shape}")
        if labels.dtype.kind == "f" and np.all(np.isfinite(labels)) and np.all(labels == np.round(labels)):
            labels = labels.astype(np.int64)
        if labels.dtype.kind not in "iu" or (labels.size and labels.min() < 0):
            raise ValueError(f"y must hold integer class labels 0, 1, ..., K-1, got dtype {labels.dtype}")
        if model is not None and labels.size and labels.max() >= condition_size(model):
            raise ValueError(f"y holds label {labels.max()}, but the model was built for "
                             f"{condition_size(model)} classes (0..{condition_size(model) - 1})")
        return labels

    # ------------------------------------------------------------------ using the model
    def transform(self, X, y=None):
        """Each row's point in latent space, ``model_.embed``: the posterior mean E[z | x] (given ``y``
        for a conditional model), the code of an autoencoder, the quantised vector of a VQ-VAE.
        Shape (N, latent), a NumPy array in the model's dtype."""
        self._check_fitted()
        X = self._check_X(X, reset=False)
        cond = condition_kwargs(self.model_, self._labels(y, len(X), required=True))
        return np.asarray(self.model_.backend.to_numpy(self.model_.embed(X, **cond)))

    def fit_transform(self, X, y=None, **fit_params):
        return self.fit(X, y, **fit_params).transform(X, y)

    def inverse_transform(self, Z, y=None):
        """The decoder's mean at latent points ``Z`` (N, latent), shape (N, D), NumPy."""
        self._check_fitted()
        Z = np.asarray(Z, dtype=self.model_.dtype)
        width = code_width(self.model_, **condition_kwargs(self.model_, self._zero_label()))
        if Z.ndim != 2 or Z.shape[1] != width:
            raise ValueError(f"Z must have shape (N, {width}) (the width transform gives), got {Z.shape}")
        cond = condition_kwargs(self.model_, self._labels(y, len(Z), required=True))
        return decoder_mean(self.model_, Z, **cond)

    def score(self, X, y=None):
        """Mean bound per datapoint of ``X`` (nats; higher is better), with fixed noise (seed 0): the
        ELBO, an importance-weighted bound, or what the model's ``bound_name`` says."""
        self._check_fitted()
        X = self._check_X(X, reset=False)
        return mean_bound(self.model_, X, np.random.default_rng(0), self._labels(y, len(X), required=True))

    def get_feature_names_out(self, input_features=None):
        """Names of the latent coordinates ``transform`` gives: ``estimator0``, ``estimator1``, ..."""
        self._check_fitted()
        if input_features is not None and len(input_features) != self.n_features_in_:
            raise ValueError(f"input_features should have length equal to the number of features "
                             f"({self.n_features_in_}), got {len(input_features)}")
        width = code_width(self.model_, **condition_kwargs(self.model_, self._zero_label()))
        return np.asarray([f"estimator{i}" for i in range(width)], dtype=object)

    def _zero_label(self):
        return np.zeros(1, dtype=np.int64) if needs_labels(self.model_) else None


def _generator(random_state):
    """A Generator from scikit-learn's kinds of ``random_state``: None, an int, a Generator or a legacy
    ``RandomState`` (which is advanced, as scikit-learn does)."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2 ** 31))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return np.random.default_rng(int(random_state))
    return np.random.default_rng(random_state)
