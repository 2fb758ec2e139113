"""The scikit-learn-like front of the models: ``fit``, ``transform``, ``score``.

``VAE(...).fit(X)`` trains with minibatch SGVB and returns the model; ``transform(X)`` gives the
posterior means; ``score(X)`` the mean ELBO per datapoint (higher is better). ``sample(n)`` and
``reconstruct(X)`` are the models' own methods. Any model class that follows the interface of
:mod:`numpyvae.model_registry` and inherits :class:`EstimatorMixin` gets these methods.
"""
import numpy as np

__all__ = ["EstimatorMixin"]


def _host(model, a):
    backend = getattr(model, "backend", None)
    return np.asarray(backend.to_numpy(a) if backend is not None else a)


class EstimatorMixin:
    """``fit`` / ``transform`` / ``score`` for a model with ``params`` and ``loss_and_grads``.

    Attributes set by :meth:`fit`
    -----------------------------
    history_ : list of dict
        One record per evaluation (samples seen, wall time, train / validation bound).
    optimizer_ : numpyvae.optim.Optimizer
        The optimizer, with its state (call ``fit`` again to train from scratch with a new one).
    n_samples_seen_ : int
        Training samples evaluated.
    """

    def fit(self, X, y=None, *, validation_data=None, checkpoint_path=None, log_path=None, verbose=False,
            callback=None, **settings):
        """Train the model on ``X`` (N, D) with minibatch SGVB; returns ``self``.

        Parameters
        ----------
        X : array (N, D)
        y : int array (N,), optional
            Class labels; used only by conditional models.
        validation_data : (X_val, y_val) or X_val, optional
            Held-out data whose bound is recorded in ``history_`` as ``test_bound``.
        checkpoint_path, log_path : str or Path, optional
            See :class:`numpyvae.training.Trainer`.
        verbose : bool
            Print one line per evaluation (and a live progress line on a terminal).
        callback : callable, optional
            ``callback(trainer, record)`` after every evaluation.
        **settings
            Fields of :class:`numpyvae.training.TrainConfig`: ``epochs`` (default 10),
            ``max_samples``, ``batch_size`` (100), ``n_samples`` (L = 1), ``optimizer`` ("adam"),
            ``lr`` (per optimizer: Adam 1e-3, Adagrad 0.02), ``weight_decay``, ``clip_norm``,
            ``eval_every``, ``binarize``, ``seed``, ...
            Without ``seed``, one is drawn from the model's generator ``rng``.

        Returns
        -------
        self
        """
        from .training import Trainer

        if "seed" not in settings:
            rng = getattr(self, "rng", None)
            settings["seed"] = int(rng.integers(2 ** 31)) if isinstance(rng, np.random.Generator) else 0
        x_val, y_val = (validation_data if isinstance(validation_data, tuple) else (validation_data, None))
        trainer = Trainer(self, checkpoint_path=checkpoint_path, log_path=log_path, progress=verbose,
                          callback=callback, **settings)
        trainer.fit(X, y, x_val, y_val)
        self.history_ = trainer.history
        self.optimizer_ = trainer.optimizer
        self.n_samples_seen_ = trainer.state["samples"]
        return self

    def transform(self, X, y=None):
        """Posterior means E[z | x], shape (N, latent_dim), as a NumPy array."""
        from .training.evaluate import condition_kwargs

        out = self.encode(X, **condition_kwargs(self, y))
        return _host(self, out[0] if isinstance(out, tuple) else out)

    def fit_transform(self, X, y=None, **fit_params):
        """``fit(X, y, **fit_params).transform(X, y)``."""
        return self.fit(X, y, **fit_params).transform(X, y)

    def score(self, X, y=None, n_samples=1, rng=None):
        """Mean ELBO per datapoint of ``X`` (nats; higher is better), with L = ``n_samples``.

        ``rng`` (a Generator or a seed) draws the noise; default: the model's generator.
        """
        from .training.evaluate import mean_bound
        from .vae import as_generator

        rng = getattr(self, "rng", None) if rng is None else as_generator(rng)
        if rng is None:
            rng = np.random.default_rng(0)
        return mean_bound(self, X, rng, y, n_samples=n_samples)
