"""The shared model interface of every variant, the conditional VAE, the plain autoencoder, the
beta schedules and the evaluation helpers."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import numpyvae as nv
from numpyvae.models import (CVAE, IWAE, MODELS, VQVAE, Autoencoder, ConstantBeta, FullCovVAE, HierarchicalVAE,
                             LinearWarmup, samples_per_class)
from numpyvae.evaluation import active_units, importance_sampled_log_px as estimate_log_px

SMALL = {"hidden_sizes": (6,)}
EXTRA = {"cvae": {"condition_dim": 3}, "hierarchical-vae": {"latent_dims": (3, 2), "hidden_sizes2": (4,)},
         "vq-vae": {"n_latents": 2, "code_dim": 2, "codebook_size": 4}, "iwae": {"k": 3}}


def _build(name, dtype=np.float64, seed=0, **options):
    kw = {**SMALL, **EXTRA.get(name, {}), **options}
    if name not in ("hierarchical-vae", "vq-vae", "cvae"):
        kw["latent_dim"] = 2
    return MODELS[name](10, dtype=dtype, rng=seed, **kw)


def _cond(model, n, rng):
    return {"c": rng.integers(0, model.condition_dim, n)} if getattr(model, "needs_labels", False) else {}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_has_the_model_interface(name, rng):
    # training, checkpoints, resuming and float32 for every registered model: tests/test_registry.py
    model = _build(name)
    x = (rng.uniform(size=(4, 10)) > 0.5).astype(float)
    cond = _cond(model, 4, rng)
    loss, grads = model.loss_and_grads(x, rng=rng, n_samples=2, **cond)
    assert isinstance(loss, float) and np.isfinite(loss)
    assert list(grads) == list(model.params)
    assert all(grads[k].shape == p.shape and grads[k].dtype == p.dtype for k, p in model.params.items())
    score = model.bound(x, rng=rng, **cond)
    assert score.shape == (4,) and np.all(np.isfinite(score))
    assert model.reconstruct(x, **cond).shape == (4, 10)
    if hasattr(model, "fit_prior"):
        model.fit_prior(x)
    assert model.sample(3, rng=1, **({"c": 1} if cond else {})).shape == (3, 10)
    assert model.encode(x, **cond) is not None


@pytest.mark.parametrize("name", sorted(MODELS))
def test_get_config_is_json_and_rebuilds_the_same_architecture(name):
    model = _build(name, dtype=np.float32)
    config = json.loads(json.dumps(model.get_config()))
    clone = MODELS[name](**config, rng=0)
    assert repr(clone) == repr(model)
    assert {k: p.shape for k, p in clone.params.items()} == {k: p.shape for k, p in model.params.items()}
    assert all(np.array_equal(clone.params[k], model.params[k]) for k in model.params)  # same seed, same init


@pytest.mark.parametrize("cls,kwargs,message", [
    (IWAE, {"k": 0}, "k must be"),
    (IWAE, {"beta": -1.0}, "beta must be"),
    (HierarchicalVAE, {"latent_dims": 5}, "latent_dims must be a pair"),
    (CVAE, {"condition_dim": 0}, "condition_dim"),
    (FullCovVAE, {"estimator": "exact"}, "unknown estimator"),
    (VQVAE, {"codebook_update": "kmeans"}, "unknown codebook_update"),
    (VQVAE, {"ema_decay": 1.0}, "ema_decay"),
    (Autoencoder, {"loss": "l1"}, "unknown loss"),
    (IWAE, {"hidden_sizes": (4, -1)}, "hidden_sizes"),
])
def test_bad_constructor_arguments_raise_clear_errors(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(5, **kwargs)


def test_bad_inputs_raise_clear_errors(rng):
    iwae = IWAE(5, (4,), 2, k=3, rng=0)
    with pytest.raises(ValueError, match="multiple of k"):
        iwae.loss_and_grads(rng.uniform(size=(2, 5)), eps=rng.standard_normal((4, 2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        iwae.loss_and_grads(np.full((2, 5), np.nan))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        iwae.loss_and_grads(np.full((2, 5), 3.0))
    hier = HierarchicalVAE(5, (4,), (3, 2), (4,), rng=0)
    with pytest.raises(ValueError, match="latent_dim=5"):
        hier.loss_and_grads(rng.uniform(size=(2, 5)), eps=rng.standard_normal((1, 2, 3)))
    with pytest.raises(ValueError, match="deterministic"):
        Autoencoder(5, rng=0).loss_and_grads(rng.uniform(size=(2, 5)), eps=np.zeros((1, 2, 20)))
    with pytest.raises(ValueError, match="fit_prior"):
        Autoencoder(5, rng=0).sample(2)
    with pytest.raises(ValueError, match=r"z must have shape"):
        FullCovVAE(5, rng=0).decode(np.zeros((2, 3)))


# ---------------------------------------------------------------- conditional VAE
def test_cvae_requires_and_validates_the_condition(rng):
    model = CVAE(5, 3, (4,), 2, rng=0)
    x = rng.uniform(size=(2, 5))
    with pytest.raises(ValueError, match="keyword c="):
        model.loss_and_grads(x)
    with pytest.raises(ValueError, match=r"lie in \[0, 3\)"):
        model.elbo(x, c=[0, 3])
    with pytest.raises(ValueError, match="2 labels for a batch of 3|has 2 labels"):
        model.elbo(rng.uniform(size=(3, 5)), c=[0, 1])
    with pytest.raises(ValueError, match="integer labels"):
        model.elbo(x, c=[0.5, 1.0])
    with pytest.raises(ValueError, match="NaN"):
        model.elbo(x, c=np.full((2, 3), np.nan))


def test_cvae_labels_and_one_hot_conditions_agree(rng):
    model = CVAE(5, 3, (4,), 2, rng=0, init="glorot")
    x = rng.uniform(size=(4, 5))
    eps = rng.standard_normal((2, 4, 2))
    labels = np.array([2, 0, 1, 2])
    np.testing.assert_array_equal(model.elbo(x, eps, c=labels), model.elbo(x, eps, c=np.eye(3)[labels]))
    # the condition really enters: another label gives another ELBO
    assert np.all(model.elbo(x, eps, c=labels) != model.elbo(x, eps, c=(labels + 1) % 3))


def test_cvae_samples_per_class_share_z_and_differ_by_class(rng):
    model = CVAE(5, 3, (4,), 2, rng=0, init="glorot")
    grid = samples_per_class(model, 4, rng=7)
    assert grid.shape == (3, 4, 5)
    z = np.random.default_rng(7).standard_normal((4, 2))               # the draw samples_per_class makes
    for label in range(3):
        np.testing.assert_allclose(grid[label], model.decoder.mean(model.decode(z, c=np.full(4, label))),
                                   rtol=1e-12)
    np.testing.assert_allclose(model.sample(4, rng=7, c=1), grid[1], rtol=1e-12)
    assert not np.allclose(grid[0], grid[1])


def test_trained_cvae_draws_the_requested_class():
    rng = np.random.default_rng(0)
    protos = (rng.uniform(size=(3, 20)) > 0.5).astype(float)
    labels = rng.integers(0, 3, 600)
    x = np.abs(protos[labels] - (rng.uniform(size=(600, 20)) < 0.05))  # 5 % of pixels flipped
    model = CVAE(20, 3, (16,), 2, rng=0, init="glorot")
    opt = nv.Adam(lr=1e-2)
    for _ in range(300):
        b = rng.integers(0, 600, 50)
        _, grads = model.loss_and_grads(x[b], rng=rng, c=labels[b])
        opt.step(model.params, grads)
    for label in range(3):
        s = model.sample(50, rng=1, c=label)                             # (50, 20) pixel probabilities
        dist = np.abs(s[:, None, :] - protos[None]).mean(-1).mean(0)     # mean distance to each prototype
        assert dist.argmin() == label and dist[label] < 0.2, dist


# ---------------------------------------------------------------- autoencoder
def test_autoencoder_losses_are_the_documented_ones(rng):
    x = rng.uniform(size=(3, 6))
    se = Autoencoder(6, (4,), 2, loss="squared_error", rng=0)
    xhat = se.reconstruct(x)
    np.testing.assert_allclose(-se.bound(x), ((x - xhat) ** 2).sum(axis=1), rtol=1e-12)
    be = Autoencoder(6, (4,), 2, loss="bernoulli", rng=0)
    p = be.reconstruct(x)
    np.testing.assert_allclose(-be.bound(x), -(x * np.log(p) + (1 - x) * np.log1p(-p)).sum(axis=1), rtol=1e-10)
    se_data = Autoencoder(6, (4,), 2, loss="squared_error", rng=0)
    assert np.isfinite(se_data.bound(5 * rng.standard_normal((2, 6)))).all()  # any real data


def test_autoencoder_trains_and_samples_from_its_fitted_code_distribution():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 2)) @ rng.standard_normal((2, 8))        # rank-2 data
    model = Autoencoder(8, (), 2, loss="squared_error", rng=0, init="glorot")
    opt = nv.Adam(lr=2e-2)
    start = -model.bound(x).mean()
    for _ in range(400):
        _, grads = model.loss_and_grads(x[rng.integers(0, 300, 50)])
        opt.step(model.params, grads)
    assert -model.bound(x).mean() < 0.05 * start                            # a linear AE recovers rank-2 data
    model.fit_prior(x)
    z = model.encode(x)
    np.testing.assert_allclose(model.buffers["ae.prior_mean"], z.mean(axis=0), rtol=1e-10)
    S = model.buffers["ae.prior_scale_tril"]
    np.testing.assert_allclose(S @ S.T, np.cov(z, rowvar=False) + 1e-6 * np.eye(2), rtol=1e-8)
    assert model.sample(5, rng=0).shape == (5, 8)


# ---------------------------------------------------------------- schedules
def test_linear_warmup_ramps_then_holds():
    s = LinearWarmup(4, beta_end=2.0)
    assert [s(t) for t in range(7)] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    assert LinearWarmup(2, beta_end=1.0, beta_start=0.5)(1) == 0.75
    assert ConstantBeta(4.0)(123) == 4.0
    with pytest.raises(ValueError, match="n_steps"):
        LinearWarmup(0)
    with pytest.raises(ValueError, match="step must be"):
        s(-1)
    with pytest.raises(ValueError, match="no KL weight"):
        s.apply(Autoencoder(4, rng=0), 1)


@pytest.mark.parametrize("cls", [nv.VAE, IWAE, FullCovVAE])
def test_applying_a_schedule_gives_the_gradient_of_that_steps_objective(cls, rng):
    kw = dict(input_dim=6, hidden_sizes=(5,), latent_dim=2, init="glorot")
    model, reference = cls(rng=3, **kw), cls(rng=3, beta=0.25, **kw)
    x, eps = rng.uniform(size=(3, 6)), rng.standard_normal((getattr(model, "k", 1), 3, 2))
    assert LinearWarmup(8).apply(model, 2) == 0.25 and model.beta == 0.25
    loss, grads = model.loss_and_grads(x, eps)
    ref_loss, ref_grads = reference.loss_and_grads(x, eps)
    assert loss == ref_loss
    assert all(np.array_equal(grads[k], ref_grads[k]) for k in grads)


# ---------------------------------------------------------------- evaluation helpers
def test_conditional_log_px_uses_each_rows_condition(rng):
    model = CVAE(5, 3, (4,), 2, rng=0, init="glorot")
    x = rng.uniform(size=(5, 5))
    labels = np.array([0, 2, 1, 1, 0])
    est, se = estimate_log_px(model, x, n_samples=300, rng=0, batch_size=2, c=labels)
    assert est.shape == se.shape == (5,)
    for i in range(5):                                                  # one row at a time, its own label
        single, _ = estimate_log_px(model, x[i:i + 1], n_samples=3000, rng=i, c=labels[i:i + 1])
        assert abs(single[0] - est[i]) < 4 * se[i] + 0.05
    with pytest.raises(ValueError, match="keyword c="):
        estimate_log_px(model, x, n_samples=10)
    with pytest.raises(ValueError, match="not conditional"):
        estimate_log_px(IWAE(5, rng=0), x, n_samples=10, c=labels)


def test_unconditional_log_px_is_the_core_estimator(rng):
    model = IWAE(5, (4,), 2, rng=0)
    x = rng.uniform(size=(3, 5))
    ours = estimate_log_px(model, x, n_samples=50, rng=4)
    core = nv.importance_sampled_log_px(model, x, n_samples=50, rng=4)
    np.testing.assert_array_equal(ours[0], core[0])


def test_active_units_count_units_whose_posterior_mean_varies(rng):
    model = IWAE(6, (5,), 4, rng=0, init="glorot")
    model.params["enc.mu.W"][:, 1] = 0.0                                 # unit 1's mean is constant
    model.params["enc.mu.W"][:, 3] *= 1e-3                               # unit 3's barely moves
    model.params["enc.mu.W"][:, [0, 2]] *= 10
    x = rng.uniform(size=(200, 6))
    result = active_units(model, x, batch_size=64)
    assert result["counts"] == [2] and result["total"] == 2
    np.testing.assert_allclose(result["variances"][0], model.embed(x).var(axis=0), rtol=1e-12)
    vae = nv.VAE(6, (5,), 4, rng=0, init="glorot")                      # the core VAE through encode()
    vae.params = model.params
    assert active_units(vae, x)["counts"] == [2]
    hier = HierarchicalVAE(6, (5,), (3, 2), (4,), rng=0, init="glorot")
    assert [v.shape for v in active_units(hier, x, n_samples=5)["variances"]] == [(3,), (2,)]


@settings(max_examples=15, deadline=None, derandomize=True)
@given(k=st.integers(1, 4), groups=st.integers(1, 3), batch=st.integers(1, 4))
def test_bound_shapes(k, groups, batch):
    model = HierarchicalVAE(4, (3,), (2, 1), (2,), k=k, rng=0)
    x = np.random.default_rng(0).uniform(size=(batch, 4))
    assert model.bound(x, rng=0, n_samples=groups).shape == (batch,)
    assert model.log_weights(x, rng=0, n_samples=groups).shape == (groups, batch)


@pytest.mark.parametrize("k", [1, 5])
def test_training_raises_the_hierarchical_bound(k):
    rng = np.random.default_rng(0)
    protos = (rng.uniform(size=(4, 16)) > 0.5).astype(float)
    x = protos[rng.integers(0, 4, 300)]
    model = HierarchicalVAE(16, (12,), (4, 2), (6,), k=k, rng=0, init="glorot")
    opt = nv.Adam(lr=5e-3)
    start = model.bound(x, rng=1).mean()
    for _ in range(150):
        _, grads = model.loss_and_grads(x[rng.integers(0, 300, 50)], rng=rng)
        opt.step(model.params, grads)
    assert model.bound(x, rng=1).mean() > start + 3


def test_check_variant_uses_the_straight_through_surrogate_for_the_vq_vae(rng):
    from numpyvae.gradcheck.models import variant_loss
    from numpyvae.models.vqvae import straight_through_surrogate

    model = _build("vq-vae")
    x = model._data(rng.uniform(size=(4, 10)))
    loss_fn, _ = variant_loss(model, x)
    assert loss_fn() == pytest.approx(float(model.forward(x)[0]["loss"].mean()), rel=1e-12)
    assert straight_through_surrogate(model, x)() == pytest.approx(loss_fn(), rel=1e-15)


def test_check_variant_catches_a_wrong_autoencoder_gradient(monkeypatch, rng):
    import numpyvae.models.autoencoder as autoencoder
    from numpyvae.gradcheck.models import check_variant

    original = autoencoder.squared_error_backward
    monkeypatch.setattr(autoencoder, "squared_error_backward", lambda d, c: tuple(1.001 * g for g in original(d, c)))
    model = Autoencoder(6, (4,), 2, loss="squared_error", rng=0, init="glorot")
    assert not check_variant(model, rng.uniform(size=(3, 6))).passed(1e-6)


def test_class_samples_figure_writes_one_row_per_class(tmp_path):
    pytest.importorskip("matplotlib")
    from numpyvae import plotting
    from numpyvae.plotting.model_figures import class_samples_figure

    model = CVAE(12, 3, (4,), 2, rng=0, init="glorot")
    path = class_samples_figure(model, tmp_path / "classes.png", image_shape=(3, 4), n_per_class=5, rng=1)
    assert path.is_file() and path.stat().st_size > 0
    grid = plotting.tile_images(samples_per_class(model, 5, rng=1).reshape(15, 12), (3, 4), nrows=3)
    assert grid.shape == (3 * 3 + 2, 5 * 4 + 4)                         # 3 rows of 5 tiles, 1-pixel gaps
