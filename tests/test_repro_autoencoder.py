"""The autoencoder comparison of the reproduction: its error measures, checked by direct formulas."""
import numpy as np

from numpyvae import VAE
from numpyvae.models.autoencoder import Autoencoder
from numpyvae.algorithms import make_algorithm
from numpyvae.optim import Adagrad
from numpyvae.reproduce.figures import reconstruction_errors


def _data(n=50, d=12, seed=0):
    return np.random.default_rng(seed).uniform(0.0, 1.0, (n, d))


def test_vae_errors_match_direct_formulas():
    x = _data()
    model = VAE(12, (8,), 3, rng=0, dtype=np.float64)
    got = reconstruction_errors(model, x, batch=16)                  # several batches, one short
    mu, _ = model.encode(x)
    xhat = 1.0 / (1.0 + np.exp(-model.decode(mu)["logits"]))
    nll = -(x * np.log(xhat) + (1 - x) * np.log(1 - xhat)).sum(axis=1)
    np.testing.assert_allclose(got["nll"], nll.mean(), rtol=1e-12)
    np.testing.assert_allclose(got["sse"], ((x - xhat) ** 2).sum(axis=1).mean(), rtol=1e-12)
    # the ELBO's reconstruction term, against an independent Monte Carlo estimate of it
    terms = model.elbo_terms(x, rng=0, n_samples=2000)
    assert abs(got["nll_q"] - (-terms["loglik"].mean())) < 0.05 * abs(got["nll_q"])


def test_autoencoder_nll_is_its_training_loss():
    x = _data()
    ae = Autoencoder(12, (8,), 3, loss="bernoulli", rng=0, dtype=np.float64)
    got = reconstruction_errors(ae, x, batch=7)
    assert "nll_q" not in got
    np.testing.assert_allclose(got["nll"], -ae.bound(x).mean(), rtol=1e-12)
    loss, _ = ae.loss_and_grads(x)
    np.testing.assert_allclose(got["nll"], loss, rtol=1e-12)


def test_autoencoder_algorithm_lowers_the_reconstruction_loss():
    x = _data(200)
    ae = Autoencoder(12, (16,), 3, loss="bernoulli", rng=0, dtype=np.float64)
    algo = make_algorithm("sgvb", ae, Adagrad(lr=0.1))
    before = reconstruction_errors(ae, x)["nll"]
    rng = np.random.default_rng(0)
    for _ in range(300):
        algo.step(x[rng.choice(200, 20, replace=False)], rng)
    assert reconstruction_errors(ae, x)["nll"] < before - 0.05
