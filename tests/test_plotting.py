"""Tests for numpyvae.plotting: the tiling and latent-grid math on arrays, and that each figure is
written as a real PNG (read back to check the manifold's orientation)."""
import subprocess
import sys

import numpy as np
import pytest
from scipy.special import ndtri
from scipy.stats import norm

from numpyvae import plotting
from numpyvae.plotting import (
    image_grid,
    latent_grid,
    latent_scatter,
    manifold_grid,
    reconstruction_grid,
    tile_images,
    training_curve_panels,
    training_curves,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path, min_bytes=5000):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > min_bytes


@pytest.fixture
def mpl():
    return pytest.importorskip("matplotlib")


def images_01(n, shape=(6, 4), seed=0):
    return np.random.default_rng(seed).uniform(0, 1, size=(n, shape[0] * shape[1]))


# ----------------------------------------------------------------------------------------------
# tiling (no matplotlib)
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n,nrows,expected_cols", [(12, 3, 4), (10, 3, 4), (7, None, 3), (1, None, 1), (5, 1, 5)])
@pytest.mark.parametrize("pad", [0, 1, 3])
def test_tile_images_places_image_i_at_its_tile(n, nrows, expected_cols, pad):
    H, W = 6, 4
    images = images_01(n, (H, W))
    grid = tile_images(images, (H, W), nrows=nrows, pad=pad, pad_value=-1.0)
    rows = nrows if nrows is not None else int(np.ceil(np.sqrt(n)))
    assert grid.shape == (rows * H + (rows - 1) * pad, expected_cols * W + (expected_cols - 1) * pad)
    used = np.zeros(grid.shape, dtype=bool)
    for i in range(n):
        r, c = i // expected_cols, i % expected_cols
        tile = grid[r * (H + pad): r * (H + pad) + H, c * (W + pad): c * (W + pad) + W]
        np.testing.assert_array_equal(tile, images[i].reshape(H, W))
        used[r * (H + pad): r * (H + pad) + H, c * (W + pad): c * (W + pad) + W] = True
    assert np.all(grid[~used] == -1.0)              # separators and unused tiles hold pad_value


def test_tile_images_reads_flat_images_row_major():
    H, W = 2, 3
    image = np.array([[0, 1, 2], [10, 11, 12]], dtype=float) / 20
    grid = tile_images(image.reshape(1, H * W), (H, W), pad=0)
    np.testing.assert_array_equal(grid, image)
    np.testing.assert_array_equal(tile_images(image[None], (H, W), pad=0), image)   # (N, H, W) input


@pytest.mark.parametrize("images,shape,match", [
    (np.zeros((3, 10)), (3, 3), "10 values per image but image_shape"),
    (np.zeros((3, 4, 4)), (2, 8), "must have shape"),
    (np.zeros((3, 9)), (3, 3, 1), "image_shape must be"),
    (np.zeros((3, 9)), (3, 0), "image_shape must be"),
    (np.zeros((0, 9)), (3, 3), "empty"),
])
def test_tile_images_rejects_bad_shapes(images, shape, match):
    with pytest.raises(ValueError, match=match):
        tile_images(images, shape)


def test_tile_images_rejects_nan():
    images = images_01(4)
    images[2, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tile_images(images, (6, 4))


# ----------------------------------------------------------------------------------------------
# latent grid (no matplotlib)
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 5, 20])
def test_latent_grid_values_and_orientation(n):
    z = latent_grid(n)
    assert z.shape == (n * n, 2)
    for r in range(n):
        for c in range(n):
            # tile (r, c): z1 from column c left to right, z2 from row r with the top row highest
            np.testing.assert_allclose(z[r * n + c], [ndtri((c + 0.5) / n), ndtri((n - r - 0.5) / n)], rtol=1e-14)
    # probabilities are the cell midpoints (i + 0.5) / n, checked through the forward CDF
    np.testing.assert_allclose(np.sort(np.unique(norm.cdf(z[:, 0]))), (np.arange(n) + 0.5) / n, atol=1e-12)


def test_latent_grid_is_symmetric_and_monotone():
    n = 7
    grid = latent_grid(n).reshape(n, n, 2)          # [row, col, dim]
    assert np.all(np.diff(grid[:, :, 0], axis=1) > 0) and np.all(np.diff(grid[:, :, 0], axis=0) == 0)
    assert np.all(np.diff(grid[:, :, 1], axis=0) < 0) and np.all(np.diff(grid[:, :, 1], axis=1) == 0)
    np.testing.assert_allclose(grid[n // 2, n // 2], [0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(grid[:, :, 0], -grid[:, ::-1, 0], atol=1e-14)
    assert np.all(np.isfinite(latent_grid(200)))


@pytest.mark.parametrize("n", [0, -3, 2.0, True])
def test_latent_grid_rejects_bad_n(n):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        latent_grid(n)


# ----------------------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------------------
def test_image_grid_writes_png(tmp_path, mpl):
    out = image_grid(images_01(100, (28, 28)), (28, 28), tmp_path / "samples.png", title="samples")
    assert out == tmp_path / "samples.png"
    assert_png(out)


def test_image_grid_creates_parent_folders(tmp_path, mpl):
    out = image_grid(images_01(6), (6, 4), str(tmp_path / "a" / "b" / "grid.png"), nrows=2)
    assert_png(out, min_bytes=1000)


def test_reconstruction_grid_writes_png(tmp_path, mpl):
    x = images_01(30, (28, 28), seed=1)
    out = reconstruction_grid(x, np.clip(x + 0.1, 0, 1), (28, 28), tmp_path / "rec.png", n=25)
    assert_png(out)


def test_reconstruction_grid_rejects_mismatch(tmp_path, mpl):
    with pytest.raises(ValueError, match="same number of images"):
        reconstruction_grid(images_01(5), images_01(4), (6, 4), tmp_path / "rec.png")
    with pytest.raises(ValueError, match="x_rec has 20 values per image"):
        reconstruction_grid(images_01(5), np.zeros((5, 20)), (6, 4), tmp_path / "rec.png")


def test_manifold_grid_decodes_the_latent_grid(tmp_path, mpl):
    n, seen = 6, []

    def decode(z):
        seen.append(z.copy())
        return np.full((z.shape[0], 28 * 28), 0.5)

    assert_png(manifold_grid(decode, (28, 28), tmp_path / "m.png", n=n), min_bytes=2000)
    np.testing.assert_array_equal(seen[0], latent_grid(n))


@pytest.mark.parametrize("dim", [0, 1])
def test_manifold_grid_orientation_in_the_png(tmp_path, mpl, dim):
    # brightness = Phi(z_dim): z_1 must brighten left to right, z_2 bottom to top
    from matplotlib.image import imread
    n = 10
    path = manifold_grid(lambda z: np.repeat(norm.cdf(z[:, dim:dim + 1]), 64, axis=1), (8, 8),
                         tmp_path / "m.png", n=n)
    pixels = imread(path)[..., :3].mean(axis=2)                        # (rows, cols) greyscale
    dark = pixels < 0.97                                               # the tiles, not the white margin
    rows, cols = np.nonzero(dark)
    img = pixels[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = img.shape
    if dim == 0:
        profile = [img[:, int((j + 0.5) * w / n)].mean() for j in range(1, n)]   # left to right
    else:
        profile = [img[int((n - j - 0.5) * h / n), :].mean() for j in range(1, n)]  # bottom to top
    assert np.all(np.diff(profile) > 0)


def test_manifold_grid_rejects_wrong_decoder_output(tmp_path, mpl):
    with pytest.raises(ValueError, match="decode_fn returned 3 images for 16 latent points"):
        manifold_grid(lambda z: np.zeros((3, 4)), (2, 2), tmp_path / "m.png", n=4)
    with pytest.raises(ValueError, match="NaN"):
        manifold_grid(lambda z: np.full((z.shape[0], 4), np.nan), (2, 2), tmp_path / "m.png", n=4)


@pytest.mark.parametrize("labels", ["classes", "many", "real"])
@pytest.mark.parametrize("L", [2, 5])
def test_latent_scatter_writes_png(tmp_path, mpl, labels, L):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((500, L))
    lab = {"classes": rng.integers(0, 10, 500), "many": rng.integers(0, 50, 500),
           "real": rng.uniform(size=500)}[labels]
    assert_png(latent_scatter(z, lab, tmp_path / "s.png"))


@pytest.mark.parametrize("z,labels,match", [
    (np.zeros(5), np.zeros(5), "z must have shape"),
    (np.zeros((5, 1)), np.zeros(5), "z must have shape"),
    (np.zeros((5, 2)), np.zeros(4), r"labels must have shape \(5,\)"),
    (np.full((5, 2), np.nan), np.zeros(5), "z contains NaN"),
    (np.zeros((5, 2)), np.array(list("abcde")), "labels must be numeric"),
])
def test_latent_scatter_rejects_bad_input(tmp_path, z, labels, match):
    with pytest.raises(ValueError, match=match):
        latent_scatter(z, labels, tmp_path / "s.png")


def kw_curves():
    samples = np.logspace(5, 8, 30)
    return [{"label": "AEVB train", "samples": samples, "bound": -100 - 50 * np.exp(-samples / 1e7)},
            {"label": "AEVB test", "samples": samples, "bound": -102 - 50 * np.exp(-samples / 1e7)},
            {"label": "wake-sleep", "samples": samples[:10], "bound": np.linspace(-180, -140, 10), "style": ":"}]


def test_training_curves_writes_png(tmp_path, mpl):
    assert_png(training_curves(kw_curves(), tmp_path / "c.png", title="MNIST"))


def test_training_curve_panels_writes_png(tmp_path, mpl):
    out = training_curve_panels([kw_curves(), kw_curves()[:2]], tmp_path / "p.png",
                                titles=["$N_z$ = 3", "$N_z$ = 5"], suptitle="MNIST")
    assert_png(out)
    with pytest.raises(ValueError, match="titles has 1 entries for 2 panels"):
        training_curve_panels([kw_curves(), kw_curves()], tmp_path / "p.png", titles=["a"])


def test_curve_style_and_colour_pairing():
    assert plotting.draw._curve_style({"label": "AEVB (test)"}) == "--"
    assert plotting.draw._curve_style({"label": "AEVB (train)"}) == "-"
    assert plotting.draw._curve_style({"label": "AEVB (test)", "style": ":"}) == ":"
    assert plotting.draw._colour_key("AEVB (train)") == plotting.draw._colour_key("AEVB (test)")
    assert plotting.draw._colour_key("AEVB train") != plotting.draw._colour_key("wake-sleep train")


@pytest.mark.parametrize("curves,match", [
    ([{"label": "a", "samples": [1, 2]}], r"missing key\(s\) \['bound'\]"),
    ([{"label": "a", "samples": [1, 2], "bound": [1.0]}], "equal, non-zero length"),
    ([{"label": "a", "samples": [0, 2], "bound": [1.0, 2.0]}], "must be positive"),
    ([{"label": "a", "samples": [1, 2], "bound": [1.0, np.nan]}], "NaN"),
    ({"label": "a", "samples": [1], "bound": [1]}, "non-empty list of dicts"),
    ([], "non-empty list"),
])
def test_training_curves_rejects_bad_input(tmp_path, curves, match):
    with pytest.raises(ValueError, match=match):
        training_curves(curves, tmp_path / "c.png")


# ----------------------------------------------------------------------------------------------
# matplotlib is optional
# ----------------------------------------------------------------------------------------------
def test_clear_import_error_without_matplotlib(tmp_path, monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)                   # makes `import name` fail
    with pytest.raises(ImportError, match=r'pip install "numpyvae\[plots\]"'):
        image_grid(images_01(4), (6, 4), tmp_path / "g.png")


def test_module_imports_without_matplotlib():
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "import numpy as np, numpyvae.plotting as p\n"
            "assert p.tile_images(np.zeros((4, 6)), (2, 3)).shape == (5, 7)\n"
            "assert p.latent_grid(3).shape == (9, 2)\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(__import__("pathlib").Path(__file__).parents[1]))
