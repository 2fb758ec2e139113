"""Model specification shared by every framework implementation in the benchmark suite.

The model is numpyvae's VAE (docs: CORE_API): an MLP encoder q(z|x) with a mean and a
log-variance head, the reparameterised sample z = mu + exp(logvar / 2) * eps with eps
supplied from outside, the analytic KL term (Kingma & Welling 2013, estimator B, appendix B)
and a Bernoulli or Gaussian decoder p(x|z).  Parameters are a dict name -> ndarray with
numpyvae's names; a linear layer is y = x @ W + b with W of shape (in, out).
"""

from dataclasses import dataclass

import numpy as np

LIKELIHOODS = ("bernoulli", "gaussian", "gaussian_sigmoid")


@dataclass(frozen=True)
class ModelSpec:
    """Architecture of one benchmarked VAE.

    Parameters
    ----------
    input_dim : int
        Data dimension D.
    hidden_sizes : tuple of int
        Encoder hidden widths; the decoder uses them in reverse order.
    latent_dim : int
        Latent dimension Z.
    likelihood : {"bernoulli", "gaussian", "gaussian_sigmoid"}
        Decoder distribution.
    beta : float
        Weight of the KL term.
    """

    input_dim: int
    hidden_sizes: tuple
    latent_dim: int
    likelihood: str = "bernoulli"
    beta: float = 1.0

    def __post_init__(self):
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"unknown likelihood {self.likelihood!r}; expected one of {LIKELIHOODS}")
        if self.input_dim < 1 or self.latent_dim < 1 or any(h < 1 for h in self.hidden_sizes):
            raise ValueError(f"layer sizes must be positive, got {self}")

    @property
    def label(self):
        """Short architecture label, e.g. '784-500-20 bernoulli'."""
        sizes = [self.input_dim, *self.hidden_sizes, self.latent_dim]
        return "-".join(str(s) for s in sizes) + " " + self.likelihood

    def decoder_heads(self):
        """Names of the decoder output heads for this likelihood."""
        return ("logits",) if self.likelihood == "bernoulli" else ("mean", "logvar")

    def param_shapes(self):
        """Ordered dict of parameter name -> shape, with numpyvae's names.

        Returns
        -------
        dict
            ``enc.{i}.W/b``, ``enc.mu.W/b``, ``enc.logvar.W/b``, ``dec.{i}.W/b`` and the
            decoder heads (``dec.logits`` or ``dec.mean`` and ``dec.logvar``).
        """
        shapes = {}
        width = self.input_dim
        for i, h in enumerate(self.hidden_sizes):
            shapes[f"enc.{i}.W"], shapes[f"enc.{i}.b"] = (width, h), (h,)
            width = h
        for head in ("mu", "logvar"):
            shapes[f"enc.{head}.W"], shapes[f"enc.{head}.b"] = (width, self.latent_dim), (self.latent_dim,)
        width = self.latent_dim
        for i, h in enumerate(reversed(self.hidden_sizes)):
            shapes[f"dec.{i}.W"], shapes[f"dec.{i}.b"] = (width, h), (h,)
            width = h
        for head in self.decoder_heads():
            shapes[f"dec.{head}.W"], shapes[f"dec.{head}.b"] = (width, self.input_dim), (self.input_dim,)
        return shapes

    def linear_layers(self):
        """(name prefix, fan_in, fan_out, needs_dx) for every linear layer, in forward order.

        ``needs_dx`` is False only for the layers that read the data x, whose input gradient
        the backward pass never forms.
        """
        layers = []
        for name, shape in self.param_shapes().items():
            if name.endswith(".W"):
                prefix = name[:-2]
                if self.hidden_sizes:
                    reads_x = prefix == "enc.0"
                else:
                    reads_x = prefix in ("enc.mu", "enc.logvar")
                layers.append((prefix, shape[0], shape[1], not reads_x))
        return layers


def init_params(spec, rng, dtype=np.float64):
    """Random parameters with numpyvae's names and shapes (Glorot-uniform W, small b).

    Used when the frameworks are compared with one another; against numpyvae the suite
    starts every framework from ``model.params`` instead.

    Parameters
    ----------
    spec : ModelSpec
    rng : numpy.random.Generator
    dtype : numpy dtype

    Returns
    -------
    dict of str -> ndarray
    """
    params = {}
    for name, shape in spec.param_shapes().items():
        if name.endswith(".W"):
            limit = np.sqrt(6.0 / (shape[0] + shape[1]))
            params[name] = rng.uniform(-limit, limit, size=shape).astype(dtype)
        else:
            params[name] = (0.1 * rng.standard_normal(shape)).astype(dtype)
    return params


def make_batch(spec, batch_size, n_samples, rng, dtype=np.float64):
    """A data batch x (B, D) and noise eps (L, B, Z) for one training step.

    Bernoulli data are binary pixels; Gaussian data lie in (0, 1) like scaled Frey faces.
    """
    if spec.likelihood == "bernoulli":
        x = (rng.random((batch_size, spec.input_dim)) < 0.3).astype(dtype)       # (B, D)
    else:
        x = rng.uniform(0.05, 0.95, size=(batch_size, spec.input_dim)).astype(dtype)  # (B, D)
    eps = rng.standard_normal((n_samples, batch_size, spec.latent_dim)).astype(dtype)  # (L, B, Z)
    return x, eps


@dataclass(frozen=True)
class AdamConfig:
    """Adam hyper-parameters (Kingma & Ba 2015, with bias correction).

    Update at step t:  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
    """

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8


@dataclass(frozen=True)
class AdagradConfig:
    """Adagrad hyper-parameters as the reproduction uses them (Duchi et al. 2011; Kingma & Welling's
    optimizer), with weight decay lambda = 1/N for N = 50000 training images.

    Update at step t:  g' = g + lambda p;  h = h + g'^2;  p -= lr * g' / (sqrt(h) + eps).
    """

    lr: float = 0.02
    eps: float = 1e-8
    weight_decay: float = 2e-5


@dataclass
class Trainer:
    """A framework's timed training step, with its data already on the framework's side.

    Attributes
    ----------
    step : callable
        ``step()`` runs one training step (gradient and Adam update).  It may return before
        the work is done (asynchronous dispatch); ``sync()`` waits for it.
    grad : callable
        ``grad()`` evaluates the loss and its gradients only.
    sync : callable
        Blocks until every dispatched step has finished.
    params : callable
        ``params()`` returns the current parameters as a dict of numpy arrays (not timed).
    compile_s : dict
        One-time compile cost in seconds by function name ("step", "grad"); empty for eager
        frameworks.  Excluded from the step timings.
    """

    step: object
    grad: object
    sync: object
    params: object
    compile_s: dict
