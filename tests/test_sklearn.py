"""numpyvae.Estimator in scikit-learn: its own battery of checks over every registered model, and the
tools people use with it (clone, GridSearchCV, cross_val_score with parallel jobs, Pipeline).

scikit-learn is a test requirement only (the ``test`` extra); without it this module is skipped.
"""
import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import check_estimator

import numpyvae as nv
from numpyvae.models.registry import MODELS, example_config

UNCONDITIONAL = sorted(name for name, cls in MODELS.items() if not getattr(cls, "needs_labels", False))
CONDITIONAL = sorted(name for name, cls in MODELS.items() if getattr(cls, "needs_labels", False))


def small_options(name, real_valued=True):
    """The registered example's architecture (without input_dim, which fit reads from X), with a
    likelihood for real-valued data: scikit-learn's checks feed values outside [0, 1]."""
    options = {k: v for k, v in example_config(name).items() if k not in ("input_dim", "condition_dim")}
    if real_valued:
        if name == "autoencoder":
            options["loss"] = "squared_error"
        else:
            options["likelihood"] = "gaussian"
    return options


@pytest.mark.parametrize("name", UNCONDITIONAL)
def test_check_estimator_passes_in_full(name):
    """Every check of scikit-learn's battery passes; none is declared an expected failure."""
    est = nv.Estimator(name, epochs=2, batch_size=20, random_state=0, **small_options(name))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not inherit from `sklearn.base.BaseEstimator`")
        # the one skip allowed below, reported by scikit-learn as a warning too
        warnings.filterwarnings("ignore", message="Skipping check check_array_api_input")
        results = check_estimator(est, on_fail=None)
    failed = [(r["check_name"], repr(r["exception"])) for r in results if r["status"] == "failed"]
    assert not failed
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= {"check_array_api_input"}                        # needs SCIPY_ARRAY_API, not us
    assert len(results) > 40


def test_init_stores_arguments_only_and_options_act_as_parameters():
    est = nv.Estimator("iwae", k=3, epochs=2, random_state=1)
    assert set(vars(est)) == {"_options", "model", "random_state", "warm_start", "verbose"}
    assert est.k == 3 and est.get_params()["epochs"] == 2
    est.set_params(k=4, epochs=1)
    est.lr = 1e-2
    assert est.get_params() == {"model": "iwae", "random_state": 1, "warm_start": False, "verbose": False,
                                "k": 4, "epochs": 1, "lr": 1e-2}
    twin = clone(est)
    assert twin is not est and twin.get_params() == est.get_params()
    assert repr(est).startswith("Estimator('iwae', random_state=1")
    with pytest.raises(AttributeError):
        est.hidden_sizes
    with pytest.raises(nv.NotFittedError):
        est.transform(np.zeros((2, 3)))


def test_bad_options_are_reported_at_fit():
    x = np.random.default_rng(0).uniform(size=(20, 4))
    with pytest.raises(ValueError, match="unknown model"):
        nv.Estimator("no-such-model").fit(x)
    with pytest.raises(ValueError, match="cannot build model"):
        nv.Estimator("vae", hidden_size=3).fit(x)
    with pytest.raises(ValueError, match="random_state"):
        nv.Estimator("vae", rng=0).fit(x)


def test_refit_restarts_and_warm_start_or_partial_fit_continue():
    x = np.random.default_rng(0).uniform(size=(60, 5))
    est = nv.Estimator("vae", hidden_sizes=(4,), latent_dim=2, epochs=1, batch_size=20, random_state=0)
    first = est.fit(x).transform(x)
    assert np.array_equal(est.fit(x).transform(x), first)               # a second fit starts again
    assert est.n_samples_seen_ == 60
    est.set_params(warm_start=True)
    est.fit(x)
    assert not np.array_equal(est.transform(x), first) and est.n_samples_seen_ == 120
    assert len(est.history_) == 4                                       # two fits, two records each
    part = nv.Estimator("vae", hidden_sizes=(4,), latent_dim=2, epochs=5, batch_size=20, random_state=0)
    part.partial_fit(x).partial_fit(x)
    assert part.n_samples_seen_ == 120                                  # one epoch per call


@pytest.mark.parametrize("name", CONDITIONAL)
def test_a_conditional_model_takes_y_as_its_labels(name):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(60, 6)), rng.integers(0, 3, 60)
    est = nv.Estimator(name, epochs=2, batch_size=20, random_state=0, **small_options(name, real_valued=False))
    est.fit(x, y)
    assert est.model_.condition_dim == 3
    z = est.transform(x, y)
    assert z.shape == (60, est.model_.latent_dim)
    assert not np.allclose(z, est.transform(x, (y + 1) % 3))             # the label changes the posterior
    assert est.inverse_transform(z[:4], y[:4]).shape == (4, 6)
    assert np.isfinite(est.score(x, y))
    with pytest.raises(ValueError, match="requires y"):
        est.transform(x)
    with pytest.raises(ValueError, match="3 classes"):
        est.score(x, np.full(60, 3))
    assert clone(est).fit(x, y).score(x, y) == est.score(x, y)
    search = GridSearchCV(clone(est), {"latent_dim": [1, 2]}, cv=2).fit(x, y)
    assert search.best_params_["latent_dim"] in (1, 2)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_fits_transforms_inverts_scores_and_pickles(name):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(40, 6)), rng.integers(0, 3, 40)
    est = nv.Estimator(name, epochs=2, batch_size=20, random_state=0, **small_options(name, real_valued=False))
    est.fit(x, y)
    y_or_none = y if name in CONDITIONAL else None
    z = est.transform(x, y_or_none)
    x_hat = est.inverse_transform(z, y_or_none)
    assert z.ndim == 2 and x_hat.shape == x.shape and np.all((x_hat >= 0) & (x_hat <= 1))
    assert len(est.get_feature_names_out()) == z.shape[1]
    copy = pickle.loads(pickle.dumps(est))
    assert np.array_equal(copy.transform(x, y_or_none), z) and copy.score(x, y_or_none) == est.score(x, y_or_none)


def digits():
    """Two well separated classes of 16-pixel images in [0, 1]."""
    rng = np.random.default_rng(0)
    protos = (rng.uniform(size=(2, 16)) > 0.5).astype(float)
    y = rng.integers(0, 2, 120)
    return np.clip(protos[y] + 0.1 * rng.standard_normal((120, 16)), 0, 1), y


def test_grid_search_cross_val_score_and_pipeline():
    x, y = digits()
    est = nv.Estimator("vae", hidden_sizes=(8,), latent_dim=2, init="glorot", epochs=5, batch_size=20, lr=1e-2,
                       random_state=0)
    search = GridSearchCV(est, {"latent_dim": [1, 2], "epochs": [1, 5]}, cv=3).fit(x)
    assert search.best_params_["epochs"] == 5                           # more training, a higher bound
    assert search.best_estimator_.model_.latent_dim == search.best_params_["latent_dim"]
    scores = cross_val_score(est, x, cv=3)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    pipe = Pipeline([("scale", MinMaxScaler(clip=True)), ("vae", clone(est)), ("clf", LogisticRegression())])
    assert pipe.fit(x, y).score(x, y) > 0.9
    reloaded = pickle.loads(pickle.dumps(pipe))
    assert np.array_equal(reloaded.predict(x), pipe.predict(x))


def test_parallel_cross_validation():
    """n_jobs=2 sends the estimator to worker processes (pickled) and gets the fitted ones back."""
    x, _ = digits()
    est = nv.Estimator("vae", hidden_sizes=(8,), latent_dim=2, epochs=2, batch_size=20, random_state=0)
    serial = cross_val_score(est, x, cv=2)
    parallel = cross_val_score(est, x, cv=2, n_jobs=2)
    np.testing.assert_array_equal(parallel, serial)
