"""Training on the real MNIST files, found through NUMPYVAE_DATA (skipped when they are absent)."""
import pytest

import numpyvae as nv
from numpyvae.datasets import DatasetNotFoundError, load_dataset
from numpyvae.training import Trainer


@pytest.fixture(scope="module")
def mnist():
    try:
        train = load_dataset("mnist", "train")
        test = load_dataset("mnist", "test")
    except DatasetNotFoundError as exc:
        pytest.skip(f"MNIST not available: {str(exc).splitlines()[0]}")
    return train, test


def test_short_run_raises_the_test_bound(mnist):
    train, test = mnist
    assert train.x.shape == (50000, 784) and test.x.shape == (10000, 784)
    model = nv.VAE(784, (200,), 20, likelihood="bernoulli", activation="tanh", rng=0)   # K&W's, narrower
    history = Trainer(model, epochs=2, batch_size=100, seed=0, eval_size=1000).fit(
        train.x[:4000], train.labels[:4000], test.x[:1000])
    start, end = history[0]["test_bound"], history[-1]["test_bound"]
    assert start < -500                                                # log(1/2) * 784 = -543 at the start
    assert end > start + 200, (start, end)
    assert abs(history[-1]["train_bound"] - end) < 30                 # no gross overfitting after 80 steps


def test_dynamic_binarization_of_mnist_trains(mnist):
    train, test = mnist
    model = nv.VAE(784, (100,), 10, rng=1)
    history = Trainer(model, epochs=2, binarize="dynamic", seed=1, eval_size=500).fit(train.x[:3000],
                                                                                        x_test=test.x[:500])
    assert history[-1]["test_bound"] > history[0]["test_bound"] + 150
