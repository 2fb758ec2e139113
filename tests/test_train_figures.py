"""Figures of a trained model: each is written as a non-empty PNG, and the decoded values are right."""
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import numpyvae as nv
from numpyvae.ops.stable import sigmoid
from numpyvae.plotting import model_figures as figures

PNG = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    data = Path(path).read_bytes()
    assert data[:8] == PNG and len(data) > 2000


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    x = (rng.uniform(size=(300, 36)) < np.linspace(0.1, 0.9, 36)).astype(float)
    labels = rng.integers(0, 3, size=300)
    model = nv.VAE(36, (16,), 3, rng=0, init="glorot")
    model.history_ = nv.Trainer(model, epochs=2, seed=0).fit(x)        # the records, for the curves figure
    return model, x, labels


def test_decoder_mean_is_the_bernoulli_mean(fitted):
    model, _, _ = fitted
    z = np.random.default_rng(1).standard_normal((5, 3))
    assert np.allclose(figures.decoder_mean(model, z), sigmoid(model.decode(z)["logits"]))


def test_every_figure_is_written(fitted, tmp_path):
    model, x, labels = fitted
    shape = (6, 6)
    history = model.history_
    written = [
        figures.sample_figure(model, tmp_path / "samples.png", shape, n=16),
        figures.reconstruction_figure(model, x, tmp_path / "rec.png", shape, n=8),
        figures.manifold_figure(model, tmp_path / "manifold.png", shape, n=5, dims=(2, 0)),
        figures.latent_figure(model, x, labels, tmp_path / "scatter.png"),
        figures.curves_figure(history, tmp_path / "curves.png"),
    ]
    for path in written:
        assert_png(path)


def test_figure_errors_are_clear(fitted, tmp_path):
    model, _, _ = fitted
    with pytest.raises(ValueError, match="dims"):
        figures.manifold_figure(model, tmp_path / "m.png", (6, 6), dims=(1, 1))
    with pytest.raises(ValueError, match="nothing to plot"):
        figures.curves_figure([{"samples": 0, "train_bound": -5.0, "test_bound": None}], tmp_path / "c.png")
