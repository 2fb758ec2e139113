"""The settings of a training run (a JSON-friendly dataclass stored in every checkpoint)."""
import math
from dataclasses import asdict, dataclass, field, fields

from ..algorithms import canonical_name
from ..optim.optimizers import OPTIMIZERS

__all__ = ["TrainConfig", "EVAL_SCHEDULES", "DEFAULT_LR", "log_schedule_next"]

EVAL_SCHEDULES = ("epoch", "log")
LAST_BATCH = ("partial", "drop")
# learning rates that work for the paper's models; Kingma & Welling chose Adagrad's from {0.01, 0.02, 0.1}
DEFAULT_LR = {"sgd": 0.01, "adagrad": 0.02, "rmsprop": 1e-3, "adam": 1e-3}


@dataclass
class TrainConfig:
    """How to train: minibatch SGVB (Kingma & Welling 2013, Algorithm 1).

    Each step draws a minibatch of ``batch_size`` datapoints (without replacement within an epoch),
    ``n_samples`` noise draws per datapoint, and applies the optimizer to the gradient of the
    minibatch mean of -ELBO.

    Parameters
    ----------
    batch_size : int
        M, datapoints per step (the paper uses 100).
    n_samples : int
        L, noise samples per datapoint (the paper uses 1).
    optimizer : {"sgd", "adagrad", "rmsprop", "adam"}
    lr : float or None
        Learning rate; None picks the optimizer's default (``DEFAULT_LR``: Adam 1e-3, Adagrad 0.02,
        RMSProp 1e-3, SGD 0.01).
    weight_decay : float
        lambda of a Gaussian prior N(0, I / lambda) on the parameters (0: none).
    clip_norm : float or None
        Rescale the whole gradient to this global L2 norm at most.
    optimizer_options : dict
        Further optimizer arguments (e.g. ``{"momentum": 0.9}`` for SGD).
    epochs : int or None
        Passes over the training set.
    max_samples : int or None
        Budget in training samples evaluated (the x-axis of the paper's Figure 2); training stops
        at whichever of ``epochs`` and ``max_samples`` comes first. At least one must be set.
    eval_every : "epoch", "log", int or list of int
        When to evaluate the train and test bound: after every epoch; at 1, 2, 5 x 10^k training
        samples (even steps on the log x-axis of Figure 2); every that many training samples; or at
        the first step that reaches each of the listed sample counts. The final state is always
        evaluated, and so is the state before the first step, except with a list that lacks 0.
    eval_size : int or None
        Datapoints of each set used at the periodic evaluations (a fixed random subset; None: all).
        The final evaluation always uses every datapoint. 5000 keeps the evaluation within a few
        percent of an MNIST epoch with a standard error of the mean bound near 0.5 nats.
    eval_samples : int
        L used in evaluation.
    eval_batch_size : int
        Datapoints per forward pass in evaluation.
    checkpoint_every : int or None
        Write the checkpoint every that many evaluations (None: only at the end and on Ctrl-C;
        never after a divergence).
    checkpoint_seconds : float or None
        Also write it at the end of an epoch when this many seconds have passed since the last
        write (for sparse evaluation schedules such as ``"log"``); None: never.
    last_batch : {"partial", "drop"}
        What an epoch does with the N mod M datapoints left after its full minibatches: train on
        them as one smaller minibatch, or leave them out of that epoch (each epoch draws a new
        permutation, so every datapoint is still visited).
    algorithm : str
        The training algorithm (:mod:`numpyvae.algorithms`): ``"sgvb"`` (AEVB, every model),
        ``"wake_sleep"``, ``"mcem"``, ``"fullvb"``.
    algorithm_options : dict
        The algorithm's own settings (e.g. ``{"n_leapfrog": 10}`` for Monte Carlo EM).
    binarize : {"none", "dynamic"}
        ``"dynamic"`` draws a fresh Bernoulli sample of the (grey-valued) training data every epoch.
    seed : int
        Seeds the shuffling, the noise and the evaluation subsets.
    """

    batch_size: int = 100
    n_samples: int = 1
    optimizer: str = "adam"
    lr: float = None
    weight_decay: float = 0.0
    clip_norm: float = None
    optimizer_options: dict = field(default_factory=dict)
    epochs: int = 10
    max_samples: int = None
    eval_every: object = "epoch"
    eval_size: int = 5000
    eval_samples: int = 1
    eval_batch_size: int = 1000
    checkpoint_every: int = 1
    checkpoint_seconds: float = 600.0
    last_batch: str = "partial"
    algorithm: str = "sgvb"
    algorithm_options: dict = field(default_factory=dict)
    binarize: str = "none"
    seed: int = 0

    def __post_init__(self):
        def positive_int(name, allow_none=False):
            v = getattr(self, name)
            if v is None and allow_none:
                return
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1{' or None' if allow_none else ''}, got {v!r}")

        for name in ("batch_size", "n_samples", "eval_samples", "eval_batch_size"):
            positive_int(name)
        for name in ("epochs", "max_samples", "eval_size", "checkpoint_every"):
            positive_int(name, allow_none=True)
        if self.epochs is None and self.max_samples is None:
            raise ValueError("set epochs or max_samples (a budget in training samples), or both")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.lr is None:
            self.lr = DEFAULT_LR[self.optimizer]
        for name in ("lr", "weight_decay"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0) or (name == "lr" and v == 0):
                raise ValueError(f"{name} must be a {'positive' if name == 'lr' else 'non-negative'} number, "
                                 f"got {v!r}")
        if isinstance(self.eval_every, (list, tuple)):
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in self.eval_every):
                raise ValueError(f"eval_every as a list must hold sample counts >= 0, got {self.eval_every!r}")
            self.eval_every = sorted(set(self.eval_every))
        elif not (self.eval_every in EVAL_SCHEDULES
                  or (isinstance(self.eval_every, int) and not isinstance(self.eval_every, bool)
                      and self.eval_every >= 1)):
            raise ValueError(f"eval_every must be 'epoch', 'log', a number of samples >= 1 or a list of sample "
                             f"counts, got {self.eval_every!r}")
        if self.last_batch not in LAST_BATCH:
            raise ValueError(f"last_batch must be 'partial' or 'drop', got {self.last_batch!r}")
        self.algorithm = canonical_name(self.algorithm)
        if not isinstance(self.algorithm_options, dict):
            raise ValueError(f"algorithm_options must be a dict, got {type(self.algorithm_options).__name__}")
        if self.checkpoint_seconds is not None and not (isinstance(self.checkpoint_seconds, (int, float))
                                                        and self.checkpoint_seconds >= 0):
            raise ValueError(f"checkpoint_seconds must be a number >= 0 or None, got {self.checkpoint_seconds!r}")
        if self.binarize not in ("none", "dynamic"):
            raise ValueError(f"binarize must be 'none' or 'dynamic' (binarize statically when loading the "
                             f"data), got {self.binarize!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        if not isinstance(self.optimizer_options, dict):
            raise ValueError(f"optimizer_options must be a dict, got {type(self.optimizer_options).__name__}")

    def optimizer_kwargs(self):
        """Keyword arguments for :func:`numpyvae.make_optimizer`."""
        return {"lr": self.lr, "weight_decay": self.weight_decay, "clip_norm": self.clip_norm,
                **self.optimizer_options}

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, d):
        """Rebuild from :meth:`to_dict`; unknown keys are an error naming them."""
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown training settings {sorted(unknown)}; known: {sorted(known)}")
        return cls(**d)

    def replace(self, **changes):
        return self.from_dict({**self.to_dict(), **changes})


def log_schedule_next(samples_seen):
    """The smallest of 1, 2, 5, 10, 20, 50, ... strictly greater than ``samples_seen``."""
    k = 0
    while True:
        for m in (1, 2, 5):
            v = m * 10 ** k
            if v > samples_seen:
                return v
        k += 1
