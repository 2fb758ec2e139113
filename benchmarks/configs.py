"""The benchmarked model configurations."""

from dataclasses import dataclass

from .frameworks.common import ModelSpec


@dataclass(frozen=True)
class Config:
    """A model, a batch size and a number of noise samples per datapoint."""

    name: str
    spec: ModelSpec
    batch_size: int
    n_samples: int = 1
    note: str = ""
    data: str = "synthetic"
    """``"mnist"`` or ``"frey"``: timed on images of that data set when its files are found
    (:mod:`benchmarks.data`); ``"synthetic"``: random data."""


MNIST = ModelSpec(784, (500,), 20, "bernoulli")

CONFIGS = {c.name: c for c in [
    Config("mnist", MNIST, 100, note="Kingma & Welling MNIST model", data="mnist"),
    Config("mnist-b1", MNIST, 1, data="mnist"),
    Config("mnist-b10", MNIST, 10, data="mnist"),
    Config("mnist-b1000", MNIST, 1000, data="mnist"),
    *[Config(f"frey-z{z}", ModelSpec(560, (200,), z, "gaussian_sigmoid"), 100,
             note="Kingma & Welling Frey Face model", data="frey") for z in (2, 5, 10, 20)],
    Config("deep", ModelSpec(784, (400, 400), 50, "bernoulli"), 100, note="two hidden layers", data="mnist"),
]}

QUICK = ["mnist"]
