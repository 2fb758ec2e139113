"""Extreme values stay finite; bad input gives one clear ValueError naming the problem."""
import numpy as np
import pytest

import numpyvae as nv
from numpyvae import ops


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bernoulli_loglik_is_finite_for_huge_logits(dtype):
    logits = np.array([[1e4, -1e4, 0.0, 50.0, -50.0]], dtype=dtype)
    for x in (np.zeros_like(logits), np.ones_like(logits), np.full_like(logits, 0.3)):
        ll, cache = ops.bernoulli_loglik_forward(x, logits)
        d = ops.bernoulli_loglik_backward(np.ones(1, dtype), cache)
        assert np.isfinite(ll).all() and np.isfinite(d).all()
    ll, _ = ops.bernoulli_loglik_forward(np.array([[1.0, 0.0]], dtype), np.array([[1e4, -1e4]], dtype))
    assert abs(ll[0]) < 1e-6                                          # certain and correct: log 1 = 0
    ll, _ = ops.bernoulli_loglik_forward(np.array([[0.0]], dtype), np.array([[1e4]], dtype))
    np.testing.assert_allclose(ll, [-1e4], rtol=1e-6)                 # log(1 - sigmoid(1e4)) = -1e4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_terms_are_finite_for_extreme_logvar(dtype):
    logvar = np.array([[50.0, -50.0, 0.0]], dtype=dtype)
    mu = np.array([[1.0, -1.0, 30.0]], dtype=dtype)
    kl, c = ops.kl_standard_normal_forward(mu, logvar)
    grads = ops.kl_standard_normal_backward(np.ones(1, dtype), c)
    assert np.isfinite(kl).all() and all(np.isfinite(g).all() for g in grads)
    x = np.array([[0.5, 0.5, 0.5]], dtype=dtype)
    ll, c = ops.gaussian_loglik_forward(x, mu, logvar)
    grads = ops.gaussian_loglik_backward(np.ones(1, dtype), c)
    assert np.isfinite(ll).all() and all(np.isfinite(g).all() for g in grads)
    z, c = ops.reparameterize_forward(mu, np.array([[20.0, -50.0, 0.0]], dtype), np.ones((1, 1, 3), dtype))
    assert np.isfinite(z).all()


@pytest.mark.parametrize("x_fill", [0.0, 1.0])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian_sigmoid"])
def test_model_is_finite_on_all_zero_and_all_one_images(x_fill, likelihood, rng):
    model = nv.VAE(16, (8,), 2, likelihood=likelihood, rng=rng)
    name = "dec.logits.b" if likelihood == "bernoulli" else "dec.mean.b"
    model.params[name][:] = 1e4 * np.sign(rng.standard_normal(16))  # saturated decoder
    loss, grads = model.loss_and_grads(np.full((4, 16), x_fill), rng=rng)
    assert np.isfinite(loss)
    assert all(np.isfinite(g).all() for g in grads.values())


def test_softplus_and_sigmoid_do_not_overflow():
    t = np.array([-1e4, -800.0, -30.0, 0.0, 30.0, 800.0, 1e4])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is exact enough
        sp = ops.softplus(t)
        s = ops.sigmoid(t)
    np.testing.assert_allclose(sp[[0, 1, 5, 6]], [0, 0, 800, 1e4], atol=1e-12)
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(ops.logsumexp(np.array([[1000.0, 1000.0]]), axis=1), [1000 + np.log(2)])


def _model(**kw):
    return nv.VAE(6, (4,), 2, **{"rng": 0, **kw})


@pytest.mark.parametrize("x,match", [
    (np.zeros((3, 5)), "5 columns.*input_dim=6"),
    (np.zeros(6), "2-D.*single datapoint"),
    (np.array([[0.1, np.nan, 0, 0, 0, 0]]), "NaN"),
    (np.array([[0.1, np.inf, 0, 0, 0, 0]]), "NaN or infinite"),
    (np.full((2, 6), 255.0), r"\[0, 1\].*Bernoulli"),
    (np.full((2, 6), -0.5), r"\[0, 1\]"),
    (np.zeros((0, 6)), "empty"),
    (np.array([["a"] * 6]), "numeric"),
])
def test_bad_data_is_named(x, match):
    with pytest.raises(ValueError, match=match):
        _model().loss_and_grads(x, rng=0)


def test_gaussian_models_accept_values_outside_unit_interval():
    model = nv.VAE(6, (4,), 2, likelihood="gaussian", rng=0)
    loss, _ = model.loss_and_grads(np.full((2, 6), 3.5), rng=0)
    assert np.isfinite(loss)


@pytest.mark.parametrize("eps_shape", [(1, 3, 3), (1, 4, 2), (2, 2, 3, 2), (0, 3, 2)])
def test_wrong_noise_shape_is_named(eps_shape):
    with pytest.raises(ValueError, match="eps must have shape"):
        _model().loss_and_grads(np.zeros((3, 6)), np.zeros(eps_shape))


def test_noise_with_nan_is_rejected():
    eps = np.zeros((1, 3, 2))
    eps[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="eps contains NaN"):
        _model().loss_and_grads(np.zeros((3, 6)), eps)


@pytest.mark.parametrize("kwargs,match", [
    ({"likelihood": "poisson"}, "unknown likelihood 'poisson'.*bernoulli"),
    ({"activation": "swish"}, "unknown activation 'swish'"),
    ({"estimator": "exact"}, "unknown estimator 'exact'.*analytic"),
    ({"init": "zeros"}, "unknown init 'zeros'"),
    ({"dtype": np.float16}, "float32 or float64"),
    ({"beta": -1.0}, "beta"),
    ({"backend": "tpu"}, "unknown backend 'tpu'"),
    ({"rng": "seed"}, "rng must be"),
])
def test_unknown_options_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _model(**kwargs)


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match="latent_dim"):
        nv.VAE(6, (4,), 0)
    with pytest.raises(ValueError, match="hidden size"):
        nv.VAE(6, (4, -1), 2)
    with pytest.raises(ValueError, match="sigma"):
        nv.VAE(6, (4,), 2, likelihood="gaussian_fixed", sigma=0.0)
    with pytest.raises(ValueError, match="n_samples"):
        _model().loss_and_grads(np.zeros((3, 6)), n_samples=0)


def test_decode_checks_latent_shape():
    with pytest.raises(ValueError, match=r"z must have shape \(B, 2\)"):
        _model().decode(np.zeros((3, 5)))


# ---------------------------------------------------------------- arguments that used to reach NumPy or pass silently
import inspect  # noqa: E402

from numpyvae.arrays.validation import NonFiniteError  # noqa: E402
from numpyvae.evaluation import (HMCSampler, active_units, hmc_marginal_likelihood, hmc_transition,  # noqa: E402
                                 importance_sampled_log_px, mean_bound)
from numpyvae.models import MODELS  # noqa: E402
from numpyvae.models.registry import example_config  # noqa: E402

REGISTERED = sorted(name for name in MODELS if example_config(name) is not None)


def _example(name, **kw):
    return MODELS[name](**{**example_config(name), "rng": 0, **kw})


@pytest.mark.parametrize("eps,match", [
    (np.array([[["a", "b"]] * 3]), "eps must hold real numbers"),
    (np.zeros((1, 3, 2)) + 1j, "eps must hold real numbers.*complex"),   # never drops the imaginary part
    (np.array([[[None, None]] * 3]), "eps must hold real numbers"),
])
def test_noise_of_strings_or_complex_numbers_is_refused(eps, match):
    with pytest.raises(ValueError, match=match):
        _model().loss_and_grads(np.zeros((3, 6)), eps)
    with pytest.raises(ValueError, match=match):
        _model().elbo(np.zeros((3, 6)), eps)


def _takes(name, arg):
    return arg in inspect.signature(MODELS[name].__init__).parameters


BAD_NUMBERS = [
    ("init_scale", float("nan"), "init_scale must be a finite number"),
    ("init_scale", 0.0, "init_scale must be a positive number"),
    ("init_scale", -0.01, "init_scale must be a positive number"),
    ("init_scale", "0.01", "init_scale must be a real number"),
    ("beta", "1", "beta must be a real number"),
    ("beta", float("inf"), "beta must be a finite number"),
    ("beta", 1j, "beta must be a real number"),
    ("sigma", "1", "sigma must be a real number"),
    ("sigma", 0.0, "sigma must be a positive number"),
    ("ema_decay", "0.9", "ema_decay must be a real number"),
    ("ema_decay", 1.0, r"ema_decay must be in \[0, 1\)"),
]


@pytest.mark.parametrize("name,arg,value,match", [(name, *case) for name in REGISTERED for case in BAD_NUMBERS
                                                  if _takes(name, case[0])])
def test_every_model_names_a_bad_number(name, arg, value, match):
    with pytest.raises(ValueError, match=match):
        _example(name, **{arg: value})


@pytest.mark.parametrize("name", REGISTERED)
def test_every_model_refuses_nan_latents_in_decode(name):
    model = _example(name)
    if not hasattr(model, "decode") or not hasattr(model, "latent_dim"):
        pytest.skip(f"{name} has no decode(z)")
    width = model.latent_dims[0] if hasattr(model, "latent_dims") else model.latent_dim  # z1 of a hierarchy
    z = np.zeros((2, width))
    z[1, 0] = np.nan
    kwargs = {"c": np.zeros(2, dtype=int)} if getattr(model, "needs_labels", False) else {}
    with pytest.raises(ValueError, match="contains NaN or infinite"):
        model.decode(z, **kwargs)
    with pytest.raises(ValueError, match="real numbers"):
        model.decode(z.astype(complex), **kwargs)


@pytest.mark.parametrize("cls,kwargs,match", [
    (nv.Adagrad, {"eps": float("nan")}, "eps must be a finite number"),
    (nv.Adagrad, {"eps": -1.0}, "eps must be a positive number"),
    (nv.Adagrad, {"eps": 0.0}, "eps must be a positive number"),
    (nv.RMSProp, {"eps": -1e-8}, "eps must be a positive number"),
    (nv.RMSProp, {"rho": float("nan")}, "rho must be a finite number"),
    (nv.Adam, {"eps": float("nan")}, "eps must be a finite number"),
    (nv.Adam, {"beta1": "0.9"}, "beta1 must be a real number"),
    (nv.Adam, {"beta2": 1.0}, r"beta2 must be in \[0, 1\)"),
    (nv.Adam, {"lr": "0.1"}, "lr must be a real number"),
    (nv.Adam, {"lr": float("nan")}, "lr must be a finite number"),
    (nv.SGD, {"momentum": float("nan")}, "momentum must be a finite number"),
    (nv.SGD, {"nesterov": "False"}, "nesterov must be True or False"),
    (nv.SGD, {"weight_decay": float("nan")}, "weight_decay must be a finite number"),
    (nv.SGD, {"clip_norm": float("inf")}, "clip_norm"),
    (nv.SGD, {"clip_norm": 0.0}, "clip_norm"),
])
def test_every_optimizer_hyperparameter_is_checked(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_make_optimizer_names_an_unknown_setting():
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['betas'\] for optimizer 'adam'.*beta1"):
        nv.make_optimizer("adam", lr=1e-3, betas=(0.9, 0.99))


@pytest.mark.parametrize("kwargs,match", [
    ({"batch_size": 0}, "batch_size must be an integer >= 1"),
    ({"chunk_size": 0}, "chunk_size must be an integer >= 1"),
    ({"chunk_size": 2.5}, "chunk_size must be an integer >= 1"),
    ({"n_samples": 1.5}, "n_samples must be an integer >= 1"),
    ({"n_samples": 0}, "n_samples must be an integer >= 1"),
    ({"n_samples": True}, "n_samples must be an integer >= 1"),
])
def test_importance_sampling_counts_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        importance_sampled_log_px(_model(), np.zeros((3, 6)), **{"n_samples": 4, "rng": 0, **kwargs})


@pytest.mark.parametrize("call,match", [
    (lambda m, x: mean_bound(m, x, np.random.default_rng(0), batch_size=0), "batch_size must be an integer >= 1"),
    (lambda m, x: mean_bound(m, x, np.random.default_rng(0), n_samples=1.5), "n_samples must be an integer >= 1"),
    (lambda m, x: active_units(m, x, batch_size=0), "batch_size must be an integer >= 1"),
    (lambda m, x: active_units(m, x, threshold=float("nan")), "threshold must be a finite number"),
    (lambda m, x: hmc_marginal_likelihood(m, x, n_samples=2.5), "n_samples must be an integer >= 1"),
    (lambda m, x: hmc_marginal_likelihood(m, x, n_burnin=-1), "n_burnin must be an integer >= 0"),
    (lambda m, x: hmc_marginal_likelihood(m, x, thin=0), "thin must be an integer >= 1"),
    (lambda m, x: hmc_marginal_likelihood(m, x, batch_size=0), "batch_size must be an integer >= 1"),
    (lambda m, x: hmc_marginal_likelihood(m, x, shrink=float("nan")), "shrink must be a finite number"),
    (lambda m, x: HMCSampler(m, n_leapfrog=2.5), "n_leapfrog must be an integer >= 1"),
    (lambda m, x: HMCSampler(m, gain=-1.0), "gain must be a positive number"),
    (lambda m, x: HMCSampler(m).run(x, np.zeros((3, 2)), np.ones(3), -1, np.random.default_rng(0)),
     "n_transitions must be an integer >= 0"),
    (lambda m, x: HMCSampler(m).sample(x, np.zeros((3, 2)), np.ones(3), 0, np.random.default_rng(0)),
     "n_samples must be an integer >= 1"),
    (lambda m, x: hmc_transition(m, x, np.zeros((3, 2)), np.ones(3), np.random.default_rng(0), n_leapfrog=0),
     "n_leapfrog must be an integer >= 1"),
])
def test_every_count_of_the_evaluation_package_is_checked(call, match):
    with pytest.raises(ValueError, match=match):
        call(_model(), np.zeros((3, 6)))


@pytest.mark.parametrize("name", [name for name in REGISTERED if _takes(name, "likelihood")])
def test_a_unit_interval_likelihood_asks_to_rescale_raw_pixels(name):
    model = _example(name, likelihood="gaussian_sigmoid")
    x = np.full((2, model.input_dim), 255.0)
    kwargs = {"c": np.zeros(2, dtype=int)} if getattr(model, "needs_labels", False) else {}
    with pytest.raises(ValueError, match=r"\[0, 1\] for a gaussian_sigmoid likelihood.*divide pixels by 255"):
        model.loss_and_grads(x, rng=0, **kwargs)
    nv.VAE(6, (4,), 2, likelihood="gaussian", rng=0).loss_and_grads(np.full((2, 6), 255.0), rng=0)  # any scale


@pytest.mark.parametrize("activation", ["relu", "softplus", "elu", "identity"])
@pytest.mark.parametrize("dtype,logvar", [(np.float64, 300.0), (np.float32, 80.0)])
def test_an_overflowing_gaussian_decoder_is_a_clear_error_on_the_bare_api(activation, dtype, logvar):
    model = nv.VAE(6, (4,), 2, likelihood="gaussian", activation=activation, dtype=dtype, rng=0)
    model.params["enc.logvar.b"][:] = logvar                           # a huge encoder log-variance
    before = {k: p.copy() for k, p in model.params.items()}
    with np.errstate(all="ignore"), pytest.raises(NonFiniteError) as info:
        model.loss_and_grads(np.zeros((3, 6)), rng=0)
    message = str(info.value)
    assert "the loss is" in message and "log-variance" in message and f"{activation!r} is unbounded" in message
    assert "tanh" in message and not np.isfinite(info.value.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, FloatingPointError)
    assert all(np.array_equal(before[k], p) for k, p in model.params.items())


@pytest.mark.parametrize("name", REGISTERED)
def test_no_model_returns_a_nan_loss_in_silence(name):
    model = _example(name)
    first = next(iter(model.params))
    model.params[first][...] = np.nan
    x = np.full((3, model.input_dim), 0.5)
    kwargs = {"c": np.zeros(3, dtype=int)} if getattr(model, "needs_labels", False) else {}
    with np.errstate(all="ignore"), pytest.raises(NonFiniteError, match=f"the parameters {first}"):
        model.loss_and_grads(x, rng=0, **kwargs)


def test_the_trainer_stops_an_overflowing_model_as_a_divergence():
    model = nv.VAE(6, (4,), 2, likelihood="gaussian", activation="relu", rng=0)
    x = np.random.default_rng(0).uniform(size=(40, 6))
    trainer = nv.Trainer(model, epochs=2, batch_size=10, eval_every="epoch")

    def overflow_after_the_first_epoch(t, record):
        model.params["enc.logvar.b"][:] = 300.0

    trainer.callback = overflow_after_the_first_epoch
    with np.errstate(all="ignore"), pytest.raises(nv.training.TrainingDiverged, match="log-variance") as info:
        trainer.fit(x)
    assert "last good state" in str(info.value)
    assert np.all(model.params["enc.logvar.b"] < 300)                   # restored
