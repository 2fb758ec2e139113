r"""Models trained on importance log-weights: the ELBO (k = 1) or the k-sample IWAE bound.

A subclass supplies the log-weights of S * k posterior samples per datapoint and their backward:

    log w_i = log p(x | z_i) + beta * (log p(z_i) - log q(z_i | x))          (L, B)

(beta = 1 gives the true importance weights; other values weight the prior-minus-posterior part,
as a KL warm-up does). This class turns them into the objective, Burda et al. 2015, eq. 8:

    bound_b = (1/S) sum_s log (1/k) sum_{i in group s} w_ib          (:func:`iwae_bound_forward`)

whose gradient is sum_i w~_i grad log w_i with the normalised weights w~ (:func:`iwae_bound_backward`).
With k = 1 every w~ is 1 and the bound is the Monte-Carlo ELBO, (1/S) sum_s log w_s.
"""
from ..ops.importance import iwae_bound_backward, iwae_bound_forward
from ..arrays.random import as_generator
from ..arrays.validation import check_nonnegative, check_positive_int
from .base import BaseModel, check_finite_loss


class ImportanceWeightedModel(BaseModel):
    """Base class: objective, loss, public scoring methods. Subclasses implement

    - ``latent_dim``: the width of the noise eps of one sample (what
      :func:`numpyvae.importance_sampled_log_px` draws);
    - ``_log_weights_forward(x, eps, beta, workspace=None) -> (logw (L, B), cache)``;
    - ``_log_weights_backward(dlogw (L, B), cache, workspace=None) -> grads dict``;

    both drawing their arrays (and the gradient buffers ``"<param>:grad"``) from ``workspace`` when
    one is given, and set ``supports_workspace = True``.
    """

    bound_name = "importance-weighted bound L_k"
    """What :meth:`bound` is (Burda et al.'s L_k; reports and figures say so instead of "ELBO")."""

    def _setup_bound(self, k, beta):
        self.k = check_positive_int("k", k)
        self.beta = check_nonnegative("beta", beta)

    # ------------------------------------------------------------------ the objective
    def forward(self, x, eps, k=None, workspace=None):
        """The k-sample bound of every datapoint and the cache for :meth:`backward`.

        ``x`` (B, D) and ``eps`` (S * k, B, latent_dim) must be validated arrays of the model's
        dtype. Returns ``terms, cache`` with ``terms = {"bound": (B,), "logw": (S * k, B)}``. With a
        ``workspace``, the large intermediate arrays (and so the cache) live in it.
        """
        k = self.k if k is None else k
        logw, lw_cache = self._log_weights_forward(x, eps, self.beta, workspace=workspace)  # (S*k, B)
        bound, bound_cache = iwae_bound_forward(logw, k)                # (B,)
        return {"bound": bound, "logw": logw}, (lw_cache, bound_cache)

    def backward(self, dbound, cache, workspace=None):
        """Gradients of sum_b dbound_b * bound_b. Shapes: dbound (B,) -> dict name -> array.

        With a ``workspace`` the gradients are its arrays, overwritten by the next backward pass.
        """
        lw_cache, bound_cache = cache
        dlogw = iwae_bound_backward(dbound, bound_cache)                # (S*k, B)  dbound/S * w~
        return self._log_weights_backward(dlogw, lw_cache, workspace=workspace)

    def loss_and_grads(self, x, eps=None, rng=None, n_samples=1, workspace=None):
        """The loss -mean_b bound_b (nats per datapoint) and its gradient.

        Parameters
        ----------
        x : array (B, input_dim)
        eps : array (S * k, B, latent_dim), optional
            The noise, S groups of k samples (group s is rows s*k .. s*k + k - 1). With it the result
            is deterministic. Otherwise S = ``n_samples`` groups are drawn from ``rng``.
        workspace : numpyvae.Workspace, optional
            Keeps the step's arrays from one call to the next (see
            :meth:`numpyvae.VAE.loss_and_grads`): the gradients are then its arrays, valid until
            the next call with it. Without one, every call returns new arrays.

        Returns
        -------
        loss : float
        grads : dict with exactly the keys of ``params``, in their order: consecutive pieces of one
            vector laid out like the parameters.
        """
        x = self._data(x)
        eps = self._noise(x, eps, rng, n_samples, self.latent_dim, multiple=self.k)
        ws = self._workspace(workspace, like=x)
        terms, cache = self.forward(x, eps, workspace=ws)
        loss = check_finite_loss(self, -float(terms["bound"].mean()), terms)  # a clear error, never inf or NaN
        B = x.shape[0]
        dbound = self.backend.xp.full(B, -1.0 / B, dtype=self.dtype)  # d loss / d bound_b = -1/B
        grads = self.backward(dbound, cache, workspace=ws)
        return loss, self._ordered(grads)

    def check_loss(self, x, eps=None, rng=0):
        """The loss -mean_b bound_b at fixed noise, for the float64 gradient check.

        Returns ``(loss_fn, grads)``: ``loss_fn()`` re-evaluates the loss from the current ``params``
        with the noise ``eps`` (S * k, B, latent_dim) held fixed (one group, S = 1, drawn from ``rng``
        when not given); ``grads`` is :meth:`loss_and_grads` at the current parameters with that noise.
        """
        x = self._data(x)
        eps = self._noise(x, eps, as_generator(rng), 1, self.latent_dim, multiple=self.k)  # (S*k, B, Z), fixed
        _, grads = self.loss_and_grads(x, eps)
        return (lambda: -float(self.forward(x, eps)[0]["bound"].mean())), grads

    # ------------------------------------------------------------------ scores
    def bound(self, x, eps=None, rng=None, n_samples=1, k=None):
        """The k-sample bound L_k per datapoint (default k: the model's), averaged over ``n_samples``
        independent groups; shape (B,)."""
        k = self.k if k is None else check_positive_int("k", k)
        x = self._data(x)
        eps = self._noise(x, eps, rng, n_samples, self.latent_dim, multiple=k)
        terms, _ = self.forward(x, eps, k=k)
        return terms["bound"]

    def elbo(self, x, eps=None, rng=None, n_samples=1):
        """The Monte-Carlo ELBO, (1/L) sum_l log w_l (the bound with k = 1), shape (B,)."""
        return self.bound(x, eps, rng, n_samples, k=1)

    def log_weights(self, x, eps=None, rng=None, n_samples=1):
        r"""log w_l = log p(x, z_l) - log q(z_l | x) with beta = 1, shape (L, B).

        Their log-mean-exp is an importance-sampled estimate of log p(x)
        (:func:`numpyvae.importance_sampled_log_px`)."""
        x = self._data(x)
        eps = self._noise(x, eps, rng, n_samples, self.latent_dim)
        logw, _ = self._log_weights_forward(x, eps, 1.0)
        return logw
