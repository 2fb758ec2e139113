"""Plumbing shared by the model variants: argument checks, data and noise validation, generators.

Every model keeps its learned arrays in one flat dict ``params`` (name -> array, as the core
:class:`numpyvae.VAE` does) and state that is not trained by gradient (EMA statistics, fitted
priors) in a second dict ``buffers``. Both are plain arrays, so a checkpoint saves them alike.

The fast training path, as in :class:`numpyvae.VAE`: ``params[name]`` are views into one
contiguous vector (:meth:`BaseModel._set_params`, ``flat_params = True``), and a model class that
sets ``supports_workspace = True`` takes ``loss_and_grads(..., workspace=ws)``: its arrays come from
the :class:`numpyvae.Workspace` and its gradients are the consecutive pieces of one vector laid out
like the parameters (:meth:`BaseModel._workspace`), so an optimizer updates everything in one pass
(:func:`numpyvae.arrays.inplace.check_flat_layout` says whether it can).
"""
import math

import numpy as np

from ..arrays.backend import get_backend
from ..nn.init import INITIALIZERS
from ..arrays.inplace import pack
from ..ops.activations import ACTIVATIONS
from ..arrays.validation import (NonFiniteError, check_choice, check_data, check_latents, check_noise,
                                 check_nonnegative, check_positive, check_positive_int)
from ..arrays.random import as_generator
from ..arrays.validation import DTYPES
from ..arrays.workspace import Workspace, as_workspace


def check_hidden_sizes(hidden_sizes, name="hidden_sizes"):
    """An int or a sequence of positive ints -> tuple of ints."""
    if isinstance(hidden_sizes, (int, np.integer)):
        hidden_sizes = (hidden_sizes,)
    try:
        sizes = tuple(hidden_sizes)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of positive integers, got {hidden_sizes!r}") from None
    return tuple(check_positive_int(f"each entry of {name}", h) for h in sizes)


UNBOUNDED_ACTIVATIONS = ("relu", "softplus", "leaky_relu", "elu", "identity")
"""Activations whose output grows without bound with their input."""


def check_finite_loss(model, loss, terms):
    """``loss`` when it is finite; else a :class:`numpyvae.arrays.validation.NonFiniteError` saying
    which terms of the objective (``terms``: name -> array) are not finite and the likely cause.

    Every model's ``loss_and_grads`` ends with this check, so the bare API never returns an infinite
    or NaN loss in silence (the training engine turns the error into its divergence stop).
    """
    if math.isfinite(loss):
        return loss
    xp = model.backend.xp
    dtype = np.dtype(model.dtype)
    limit = math.log(np.finfo(dtype).max)                              # exp(t) overflows beyond this
    bad_params = [name for name, p in model.params.items() if not bool(xp.isfinite(p).all())]
    bad_terms = [name for name, a in terms.items() if hasattr(a, "dtype") and not bool(xp.isfinite(a).all())]
    parts = [name for name in bad_terms if name not in ("elbo", "bound", "loss")]
    bad_terms = parts or bad_terms                                     # the parts of the sum, where known
    likelihood, activation = getattr(model, "likelihood", None), getattr(model, "activation", None)
    if bad_params:
        cause = f"the parameters {', '.join(bad_params[:4])}{' ...' if len(bad_params) > 4 else ''} hold NaN or inf"
    else:
        cause = f"the term(s) {', '.join(bad_terms) or 'of the loss'} overflowed in {dtype.name}"
        if likelihood in ("gaussian", "gaussian_sigmoid") and "kl" not in bad_terms:
            cause += (f": the Gaussian decoder's log-variance has left the range in which exp(-logvar) is "
                      f"finite (|logvar| < {limit:.0f})")
            if activation in UNBOUNDED_ACTIVATIONS:
                cause += (f"; the activation {activation!r} is unbounded, so a large latent sample (a large "
                          f"encoder log-variance) gives a decoder log-variance without bound")
        elif "kl" in bad_terms:
            cause += f": the encoder's log-variance is beyond {limit:.0f}, where exp(logvar) overflows"
    advice = "A smaller learning rate or gradient clipping (clip_norm) keeps the parameters in range"
    if likelihood in ("gaussian", "gaussian_sigmoid") and activation in UNBOUNDED_ACTIVATIONS:
        advice += "; so do a bounded activation (tanh) and likelihood='gaussian_fixed'"
    raise NonFiniteError(f"the loss is {loss}: {cause}. {advice}.", value=loss, cause=cause)


def check_dtype(dtype):
    dt = np.dtype(dtype)
    if dt not in [np.dtype(d) for d in DTYPES]:
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    return dt


class BaseModel:
    """Common constructor checks and input handling; subclasses build their components.

    Subclasses set ``input_dim``, ``dtype``, ``backend``, ``rng``, ``params`` and ``buffers`` (via
    :meth:`_setup_common` and :meth:`_set_params`) and define ``_data_likelihood``: the likelihood
    name used to validate data (``"bernoulli"`` demands values in [0, 1]) or None.

    Capabilities, read from the class by a training engine:

    - ``flat_params``: the parameters are views into one contiguous vector (every model whose
      parameters come from :meth:`_set_params`).
    - ``supports_workspace``: ``loss_and_grads`` takes ``workspace=`` and then returns gradients
      that are consecutive pieces of one vector in ``params`` order. False here; a subclass that
      threads the workspace through its components says so itself.
    """

    needs_labels = False
    supports_workspace = False
    flat_params = True
    _data_likelihood = None

    def _setup_common(self, input_dim, activation, dtype, rng, init, init_scale, backend):
        self.input_dim = check_positive_int("input_dim", input_dim)
        self.activation = check_choice("activation", activation, tuple(ACTIVATIONS))
        self.dtype = check_dtype(dtype)
        self.init = check_choice("init", init, INITIALIZERS)
        self.init_scale = check_positive("init_scale", init_scale)
        self.backend = get_backend(backend)
        self.rng = as_generator(rng)
        self.buffers = {}

    def _set_params(self, params):
        """Set ``self.params`` to the values of ``params`` (in its order), as views into one contiguous
        vector, so an optimizer can update them all in one pass (:func:`numpyvae.arrays.inplace.joined`).
        To load values, write into them in place: ``params[name][...] = value``."""
        arrays = {name: self.backend.asarray(p, dtype=self.dtype) for name, p in params.items()}
        _, self.params = pack(arrays, xp=self.backend.xp)

    def __setstate__(self, state):
        """Unpickling and ``copy.deepcopy``: pickle copies each array on its own, so the parameters are
        made views into one contiguous vector again (the layout :meth:`_set_params` gives)."""
        self.__dict__.update(state)
        self._set_params(self.params)

    def _init_params(self, *parts):
        """Draw the parameters of every part (layers with ``init_params``) in order from ``self.rng``, so
        the order fixes the values, and set them; returns the dict."""
        params = {}
        for part in parts:
            params.update(part.init_params(self.rng, self.dtype, self.init, self.init_scale))
        self._set_params(params)
        return self.params

    @property
    def param_names(self):
        return list(self.params)

    # ------------------------------------------------------------------ inputs
    def _data(self, x, name="x"):
        return check_data(x, self.input_dim, self.backend, self.dtype, self._data_likelihood, name=name)

    def _generator(self, rng):
        return self.rng if rng is None else as_generator(rng)

    def _noise(self, x, eps, rng, n_samples, width, multiple=1):
        """Noise (L, B, width): validated if given, else L = n_samples * multiple draws from ``rng``.

        ``multiple`` is the group size of an importance-weighted bound: L must be a multiple of it.
        """
        if eps is not None:
            eps = check_noise(eps, x.shape[0], width, self.backend, self.dtype)
            if eps.shape[0] % multiple:
                raise ValueError(f"eps has {eps.shape[0]} samples per datapoint, which is not a multiple "
                                 f"of k = {multiple}")
            return eps
        n_samples = check_positive_int("n_samples", n_samples)
        return self.backend.standard_normal(self._generator(rng), (n_samples * multiple, x.shape[0], width),
                                            self.dtype)

    def _workspace(self, workspace, like):
        """The workspace of one ``loss_and_grads`` call, with the gradient buffers laid out.

        ``workspace`` itself (a new :class:`numpyvae.Workspace` for None, so that every array of the
        call is fresh, as :meth:`numpyvae.VAE.loss_and_grads` does), after making the buffers
        ``"<param>:grad"`` (where the layers write their gradients) consecutive pieces of one vector
        in ``params`` order. ``like``: an array of the model's dtype and array type.
        """
        ws = Workspace() if workspace is None else as_workspace(workspace)
        ws.pack({f"{name}:grad": p.shape for name, p in self.params.items()}, like=like)
        return ws

    def _ordered(self, grads):
        """The gradient dict in the order of ``params`` (every key exactly once)."""
        return {name: grads[name] for name in self.params}

    def _latents(self, z, width, name="z"):
        return check_latents(z, width, self.backend, self.dtype, name)


class StandardNormalPriorMixin:
    """Generation for a model with one Gaussian latent layer z ~ N(0, I) and a decoder ``self.decoder``
    on z: ``embed`` (the posterior mean, ``encode(x)[0]``), ``posterior_means``, ``decode``,
    ``sample`` and ``reconstruct``. The class supplies ``encode``."""

    def embed(self, x):
        """The posterior mean E_q[z | x], shape (B, Z): a point in latent space per datapoint."""
        return self.encode(x)[0]

    def posterior_means(self, x, rng=None, n_samples=1):
        """[E_q[z | x]] (one (B, Z) array per stochastic layer), for the active-units statistic."""
        return [self.embed(x)]

    def decode(self, z):
        """Parameters of p(x | z) as a dict, for z (B, Z) or (L, B, Z) (see :meth:`numpyvae.VAE.decode`)."""
        out, _ = self.decoder.forward(self.params, self._latents(z, self.latent_dim))
        return out

    def sample(self, n, rng=None, mean=True):
        """Draw ``n`` datapoints: z ~ N(0, I), then the decoder's mean (``mean=True``) or a sample."""
        n = check_positive_int("n", n)
        rng = self._generator(rng)
        z = self.backend.standard_normal(rng, (n, self.latent_dim), self.dtype)
        out, _ = self.decoder.forward(self.params, z)
        return self.decoder.mean(out) if mean else self.decoder.sample(out, rng)

    def reconstruct(self, x):
        """Decoder mean at the posterior mean: E[x | z = E_q[z | x]], shape (B, input_dim)."""
        out, _ = self.decoder.forward(self.params, self.embed(x))
        return self.decoder.mean(out)
