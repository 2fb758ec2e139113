"""Wake-sleep: each phase's update is the exact gradient of its own loss (float64 finite differences)."""
import numpy as np
import pytest

import numpyvae as nv
from numpyvae.algorithms import WakeSleep, sleep_loss_and_grads, wake_loss_and_grads
from numpyvae.algorithms.wake_sleep import sample_fantasy, sample_recognition
from numpyvae.gradcheck import check_gradients


def _model(likelihood, rng=0):
    return nv.VAE(7, (5,), 3, likelihood=likelihood, dtype=np.float64, rng=rng, init="glorot")


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian_sigmoid", "gaussian"])
def test_wake_gradient_matches_finite_differences(likelihood):
    rng = np.random.default_rng(0)
    model = _model(likelihood)
    x = rng.uniform(0.05, 0.95, size=(4, 7))
    z = sample_recognition(model, x, rng)
    _, grads = wake_loss_and_grads(model, x, z)
    assert set(grads) == {k for k in model.params if k.startswith("dec.")}
    dec = {k: model.params[k] for k in grads}
    report = check_gradients(lambda: wake_loss_and_grads(model, x, z)[0], dec, grads, rng=1)
    assert report.passed(1e-6), report.table()


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian_sigmoid"])
def test_sleep_gradient_matches_finite_differences(likelihood):
    rng = np.random.default_rng(1)
    model = _model(likelihood)
    z, x = sample_fantasy(model, 5, rng)
    _, grads = sleep_loss_and_grads(model, z, x)
    assert set(grads) == {k for k in model.params if k.startswith("enc.")}
    enc = {k: model.params[k] for k in grads}
    report = check_gradients(lambda: sleep_loss_and_grads(model, z, x)[0], enc, grads, rng=2)
    assert report.passed(1e-6), report.table()


def test_wake_loss_is_minus_log_joint():
    model = _model("bernoulli")
    x = np.array([[0, 1, 1, 0, 1, 0, 0.5]])
    z = np.array([[0.3, -0.2, 1.0]])
    logits = model.decode(z)["logits"][0]
    loglik = np.sum(x[0] * logits - np.logaddexp(0, logits))
    logpz = -0.5 * (3 * np.log(2 * np.pi) + np.sum(z ** 2))
    np.testing.assert_allclose(wake_loss_and_grads(model, x, z)[0], -(loglik + logpz), rtol=1e-12)


def test_sleep_fits_the_recognition_model_to_the_generative_model():
    """With the decoder frozen, sleep updates alone raise E_p[log q(z | x)] on fresh fantasies."""
    rng = np.random.default_rng(3)
    model = _model("bernoulli", rng=4)
    model.params["dec.logits.W"] *= 20           # a decoder whose output depends visibly on z
    eval_rng = np.random.default_rng(9)
    z_eval, x_eval = sample_fantasy(model, 2000, eval_rng)
    before = sleep_loss_and_grads(model, z_eval, x_eval)[0]
    opt = nv.Adagrad(lr=0.05)
    for _ in range(300):
        z, x = sample_fantasy(model, 100, rng)
        _, g = sleep_loss_and_grads(model, z, x)
        opt.step({k: model.params[k] for k in g}, g)
    after = sleep_loss_and_grads(model, z_eval, x_eval)[0]
    assert after < before - 0.5, (before, after)


def test_wake_sleep_raises_the_bound_on_synthetic_data():
    data = nv.load_dataset("synthetic", "train").x
    model = nv.VAE(64, (16,), 2, dtype=np.float64, rng=0)
    ws = WakeSleep(model, lr=0.1, weight_decay=1e-3)
    before = model.elbo(data, rng=0).mean()
    rng = np.random.default_rng(0)
    for _ in range(200):
        ws.step(data[rng.integers(0, len(data), 50)], rng)
    after = model.elbo(data, rng=0).mean()
    assert after > before + 5, (before, after)
    assert np.isfinite(ws.last_sleep_loss_)
