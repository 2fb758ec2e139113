"""The scikit-learn front: :class:`Estimator` builds a registered model and trains it with the Trainer.

>>> est = Estimator("vae", hidden_sizes=(200,), latent_dim=2, epochs=5, random_state=0).fit(X)
>>> Z = est.transform(X)            # posterior means (N, 2)
>>> est.score(X)                    # mean bound per datapoint (nats; higher is better)

``__init__`` only stores its arguments (scikit-learn's convention); :meth:`fit` infers the input
width, builds ``model_`` through the model registry and trains it, and a second ``fit`` starts
again from fresh parameters (``warm_start=True`` or :meth:`partial_fit` continue instead). The
models themselves (``nv.VAE`` and the variants) keep only their array API.
"""
import numpy as np

from .models.conditioning import condition_kwargs
from .models.registry import build_model, canonical_model_name, get_model_class
from .training import Trainer, TrainConfig, mean_bound

__all__ = ["Estimator", "NotFittedError"]

TRAIN_SETTINGS = ("epochs", "max_samples", "batch_size", "n_samples", "optimizer", "lr", "weight_decay",
                  "clip_norm", "eval_every", "eval_size", "binarize", "last_batch")
"""Constructor arguments that are training settings (fields of :class:`numpyvae.TrainConfig`)."""
_DEFAULTS = {name: getattr(TrainConfig(), name) for name in TRAIN_SETTINGS}


class NotFittedError(ValueError, AttributeError):
    """The estimator is used before :meth:`Estimator.fit` (scikit-learn's exception of the same name)."""


class Estimator:
    """A registered numpyvae model as a scikit-learn estimator.

    Parameters
    ----------
    model : str
        A registered model name (``"vae"``, ``"iwae"``, ``"cvae"``, ...; see ``numpyvae.models.MODELS``).
    random_state : int or None
        Seeds the model's initial parameters and the training (None: fresh entropy each fit).
    warm_start : bool
        ``fit`` continues the current model instead of starting again.
    verbose : bool
        Print one line per evaluation.
    **options
        Model options (``hidden_sizes``, ``latent_dim``, ``likelihood``, ``k``, ``dtype``, ...) and
        training settings (``epochs`` = 10, ``batch_size`` = 100, ``optimizer`` = "adam", ``lr``, ...).

    Attributes
    ----------
    model_ : the trained model
    history_ : list of dict
        The Trainer's evaluation records.
    n_features_in_ : int
    """

    def __init__(self, model="vae", *, random_state=None, warm_start=False, verbose=False, **options):
        self.model = model
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self._options = dict(options)
        for key, value in options.items():
            setattr(self, key, value)

    # ------------------------------------------------------------------ parameters
    def get_params(self, deep=True):
        """Every constructor argument by name (scikit-learn's interface)."""
        params = {"model": self.model, "random_state": self.random_state, "warm_start": self.warm_start,
                  "verbose": self.verbose}
        params.update({key: getattr(self, key) for key in self._options})
        return params

    def set_params(self, **params):
        """Set constructor arguments; returns self."""
        for key, value in params.items():
            if key not in ("model", "random_state", "warm_start", "verbose"):
                self._options[key] = value
            setattr(self, key, value)
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if k != "model")
        return f"Estimator({self.model!r}{', ' + args if args else ''})"

    def _split_options(self):
        options = {key: getattr(self, key) for key in self._options}
        settings = {k: v for k, v in options.items() if k in TRAIN_SETTINGS}
        model_options = {k: v for k, v in options.items() if k not in TRAIN_SETTINGS}
        return model_options, settings

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, **fit_params):
        """Build the model for ``X`` (N, D) and train it; returns ``self``.

        ``y`` holds the class labels of a conditional model (ignored otherwise). ``fit_params`` go to
        :class:`numpyvae.training.Trainer` (``x_test``, ``labels_test``, ``checkpoint_path``, ...).
        """
        X = self._check_X(X, reset=not (self.warm_start and hasattr(self, "model_")))
        if not (self.warm_start and hasattr(self, "model_")):
            self._build(X.shape[1])
        return self._train(X, y, **fit_params)

    def partial_fit(self, X, y=None, **fit_params):
        """Train the current model further (building it on the first call); returns ``self``."""
        X = self._check_X(X, reset=not hasattr(self, "model_"))
        if not hasattr(self, "model_"):
            self._build(X.shape[1])
        return self._train(X, y, **fit_params)

    def _build(self, input_dim):
        model_options, _ = self._split_options()
        name = canonical_model_name(self.model)
        rng = np.random.default_rng(self.random_state)
        options = dict(model_options)
        if getattr(get_model_class(name), "needs_labels", False) and "condition_dim" not in options:
            options["condition_dim"] = int(getattr(self, "_n_classes", 10))
        self.model_ = build_model(name, {"input_dim": int(input_dim), **options}, rng=rng)
        self._seed_rng = np.random.default_rng(rng.integers(2 ** 31))
        self.optimizer_ = None

    def _train(self, X, y, x_test=None, labels_test=None, **trainer_options):
        _, settings = self._split_options()
        settings = {k: v for k, v in settings.items() if v is not None or _DEFAULTS[k] is None}
        seed = int(self._seed_rng.integers(2 ** 31))
        labels = None if y is None or not getattr(self.model_, "needs_labels", False) else np.asarray(y)
        trainer = Trainer(self.model_, optimizer=self.optimizer_, progress=self.verbose, seed=seed,
                          **settings, **trainer_options)
        trainer.fit(X, labels, x_test, labels_test)
        self.optimizer_ = trainer.optimizer
        self.history_ = list(getattr(self, "history_", [])) + trainer.history if self.warm_start else trainer.history
        self.n_samples_seen_ = trainer.state["samples"]
        return self

    # ------------------------------------------------------------------ using the model
    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(X) first")

    def _check_X(self, X, reset):
        try:
            X = np.asarray(X, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"X must be a numeric array of shape (N, D): {exc}") from None
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D array of shape (N, D), got shape {X.shape}")
        if reset:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but the estimator was fitted with {self.n_features_in_}")
        return X

    def _condition(self, X, y):
        return condition_kwargs(self.model_, None if y is None else np.asarray(y))

    def transform(self, X, y=None):
        """Posterior means E[z | x] (for a conditional model given ``y``), shape (N, latent), NumPy."""
        self._check_fitted()
        X = self._check_X(X, reset=False)
        out = self.model_.encode(X, **self._condition(X, y))
        out = out[0] if isinstance(out, tuple) else out
        return np.asarray(self.model_.backend.to_numpy(out))

    def fit_transform(self, X, y=None, **fit_params):
        return self.fit(X, y, **fit_params).transform(X, y)

    def inverse_transform(self, Z, y=None):
        """The decoder's mean at latent points ``Z`` (N, latent), shape (N, D), NumPy."""
        self._check_fitted()
        cond = {} if y is None else self._condition(np.zeros((len(Z), 1)), y)
        out = self.model_.decode(np.asarray(Z, dtype=self.model_.dtype), **cond)
        return np.asarray(self.model_.backend.to_numpy(self.model_.decoder.mean(out)))

    def score(self, X, y=None):
        """Mean bound per datapoint of ``X`` (nats; higher is better), with fixed noise (seed 0)."""
        self._check_fitted()
        X = self._check_X(X, reset=False)
        labels = None if y is None or not getattr(self.model_, "needs_labels", False) else np.asarray(y)
        return mean_bound(self.model_, X, np.random.default_rng(0), labels)
