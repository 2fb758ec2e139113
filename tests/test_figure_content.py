"""What the figures of a trained model show, not only that a PNG is written: a manifold whose tiles
differ, the latent dimensions that carry information (the most active ones) chosen by default and
named alike in the title and on the axes, a scatter whose points are those dimensions, and labels
that say what each model's samples and bounds are.

The model of most tests is built by hand so that the right answer is known: a 5-D VAE whose encoder
uses only dimensions 3 (strongly) and 1 (weakly) and whose decoder reads only those two, so a figure
of any other pair shows 25 identical tiles and a collapsed scatter.
"""
import io

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import numpyvae as nv
from numpyvae.evaluation import bound_name, latent_activity, most_active_dims
from numpyvae.models.registry import build_model, example_config
from numpyvae.plotting import draw
from numpyvae.plotting import model_figures as figures
from numpyvae.training import Progress, Trainer

ACTIVE = (3, 1)                                                       # most active first
SHAPE = (4, 4)


@pytest.fixture(scope="module")
def two_of_five():
    model = nv.VAE(16, (8,), 5, rng=0, init="glorot", dtype=np.float64)
    p = model.params
    for j in range(5):
        if j not in ACTIVE:
            p["enc.mu.W"][:, j] = 0.0                                 # q(z_j | x) = N(0, 1) = the prior
            p["dec.0.W"][j, :] = 0.0                                  # and the decoder ignores z_j
    p["enc.mu.W"][:, 3] *= 4.0
    p["enc.mu.b"][:] = 0.0
    p["enc.logvar.W"][:] = 0.0
    p["enc.logvar.b"][:] = 0.0
    p["dec.0.W"][[3, 1], :] *= 6.0                                    # tiles that differ clearly
    x = np.random.default_rng(1).uniform(size=(300, 16))
    labels = np.random.default_rng(2).integers(0, 3, 300)
    return model, x, labels


class Recorder:
    """Wraps a drawing function of numpyvae.plotting.draw and keeps the arguments of each call."""

    def __init__(self, monkeypatch, name):
        self.calls = []
        original = getattr(draw, name)

        def wrapper(*args, **kwargs):
            self.calls.append((args, kwargs))
            return original(*args, **kwargs)

        monkeypatch.setattr(draw, name, wrapper)


def distinct_tiles(images, decimals=6):
    return len({tuple(np.round(t, decimals)) for t in images})


def test_the_most_active_dims_are_the_ones_the_encoder_uses(two_of_five):
    model, x, _ = two_of_five
    values, statistic = latent_activity(model, x)
    assert statistic == "mean KL" and values.shape == (5,)
    assert np.allclose(values[[0, 2, 4]], 0.0) and values[3] > values[1] > 0
    dims, top, _ = most_active_dims(model, x)
    assert dims == ACTIVE and np.array_equal(top, values[list(ACTIVE)])


def test_the_manifold_varies_the_active_dims_by_default_and_says_so(two_of_five, monkeypatch, tmp_path):
    model, x, _ = two_of_five
    grid = Recorder(monkeypatch, "manifold_grid")
    figures.manifold_figure(model, tmp_path / "m.png", SHAPE, n=5, x=x)
    (decode, *_), kwargs = grid.calls[-1]
    images = decode(draw.latent_grid(5))
    assert distinct_tiles(images) == 25                                  # every tile differs from the others
    assert "latent dims 3, 1 of 5 (the two most active: mean KL" in kwargs["title"]
    assert "the other 3 at 0" in kwargs["title"]
    assert kwargs["axis_labels"] == (r"$z_{3}$", r"$z_{1}$")
    # the check above can fail: the old default (dims 0, 1 with the rest at 0) shows the same tile 25 times
    assert distinct_tiles(figures.manifold_images(model, 5, (0, 2))) == 1
    assert distinct_tiles(figures.manifold_images(model, 5, (0, 1))) == 5


def test_dims_given_are_named_alike_in_the_title_and_on_the_axes(two_of_five, monkeypatch, tmp_path):
    model, x, labels = two_of_five
    grid = Recorder(monkeypatch, "manifold_grid")
    scatter = Recorder(monkeypatch, "latent_scatter")
    figures.manifold_figure(model, tmp_path / "m.png", SHAPE, n=3, dims=(4, 2))
    figures.latent_figure(model, x, labels, tmp_path / "s.png", dims=(4, 2))
    for recorder in (grid, scatter):
        _, kwargs = recorder.calls[-1]
        assert "latent dims 4, 2 of 5" in kwargs["title"]
        assert kwargs["axis_labels"] == (r"$z_{4}$", r"$z_{2}$")
    with pytest.raises(ValueError, match=r"in \[0, 5\)"):
        figures.manifold_figure(model, tmp_path / "m.png", SHAPE, dims=(0, 5))


def test_the_scatter_plots_the_active_dims(two_of_five, monkeypatch, tmp_path):
    model, x, labels = two_of_five
    scatter = Recorder(monkeypatch, "latent_scatter")
    figures.latent_figure(model, x, labels, tmp_path / "s.png")
    (points, drawn_labels, _), kwargs = scatter.calls[-1]
    mu = model.embed(x)
    np.testing.assert_array_equal(points, mu[:, list(ACTIVE)])
    assert np.array_equal(drawn_labels, labels)
    assert np.ptp(points[:, 0]) > 1.0 and np.ptp(points[:, 1]) > 0.1   # the points spread over both axes
    assert np.ptp(mu[:, [0, 2]]) == 0.0                                 # where the old default looked
    assert kwargs["title"].startswith("posterior means, latent dims 3, 1 of 5")
    assert kwargs["axis_labels"] == (r"$z_{3}$", r"$z_{1}$")


def test_a_two_dimensional_latent_space_is_drawn_whole(monkeypatch, tmp_path):
    model = nv.VAE(16, (8,), 2, rng=0, init="glorot")
    grid = Recorder(monkeypatch, "manifold_grid")
    figures.manifold_figure(model, tmp_path / "m.png", SHAPE, n=4)
    _, kwargs = grid.calls[-1]
    assert kwargs["title"] == "learned manifold" and kwargs["axis_labels"] == (r"$z_{0}$", r"$z_{1}$")


def test_the_hierarchical_manifold_lies_in_z1(monkeypatch, tmp_path):
    """It crashed: the grid had latent_dim = Z1 + Z2 columns, the decoder reads z1 (Z1 columns)."""
    model = build_model("hierarchical-vae", {**example_config("hierarchical-vae"), "rng": 0})  # Z1 = 3, Z2 = 2
    x = np.random.default_rng(0).uniform(size=(50, model.input_dim))
    grid = Recorder(monkeypatch, "manifold_grid")
    figures.manifold_figure(model, tmp_path / "m.png", (2, 3), n=4, x=x)
    (decode, *_), kwargs = grid.calls[-1]
    assert decode(draw.latent_grid(4)).shape == (16, 6) and "of 3" in kwargs["title"]
    figures.latent_figure(model, x, np.zeros(50, dtype=int), tmp_path / "s.png")


def test_samples_say_which_prior_they_come_from(monkeypatch, tmp_path):
    grid = Recorder(monkeypatch, "image_grid")
    vq = build_model("vq-vae", {**example_config("vq-vae"), "rng": 0})
    x = np.random.default_rng(0).uniform(size=(40, vq.input_dim))
    vq.fit_prior(x)
    figures.sample_figure(vq, tmp_path / "s.png", (2, 3), n=4)
    assert "categorical prior" in grid.calls[-1][1]["title"] and "N(0, I)" not in grid.calls[-1][1]["title"]
    figures.sample_figure(nv.VAE(6, (4,), 2, rng=0), tmp_path / "s.png", (2, 3), n=4)
    assert "z ~ N(0, I)" in grid.calls[-1][1]["title"]
    with pytest.raises(ValueError, match="discrete codebook"):
        figures.manifold_figure(vq, tmp_path / "m.png", (2, 3))


@pytest.mark.parametrize("name, expected", [("vae", "ELBO"), ("autoencoder", "minus the reconstruction loss"),
                                            ("iwae", "importance-weighted bound L_k"), ("vq-vae", "ELBO")])
def test_logs_and_curves_name_each_models_bound(name, expected, monkeypatch, tmp_path):
    model = build_model(name, {**example_config(name), "rng": 0})
    assert bound_name(model) == expected
    out = io.StringIO()
    x = np.random.default_rng(0).uniform(size=(40, model.input_dim))
    history = Trainer(model, epochs=2, batch_size=10, seed=0, progress=Progress(stream=out)).fit(x)
    legend, *lines = out.getvalue().splitlines()
    assert legend.startswith(f"train, test: {expected} per datapoint; loss: the mean training loss")
    last = lines[-1].split()
    assert last[last.index("loss") + 1] == f"{-history[-1]['batch_bound']:.3f}"   # the loss, not a "bound"
    assert "batch" not in lines[-1]
    curves = Recorder(monkeypatch, "training_curves")
    figures.curves_figure(history, tmp_path / "c.png", model=model)
    ylabel = curves.calls[-1][1]["ylabel"]
    assert (ylabel == draw._YLABEL) if expected == "ELBO" else ylabel == f"{expected} per datapoint"
