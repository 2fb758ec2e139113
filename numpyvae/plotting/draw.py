r"""Figures for VAE experiments, written straight to image files (PNG by default).

Every function takes plain arrays (never a model object) and a path, writes one figure and returns
the path as a :class:`pathlib.Path`.  Figures are drawn on a bare :class:`matplotlib.figure.Figure`
with the Agg canvas, so nothing needs a display and the global pyplot state and backend are never
touched.  matplotlib is imported only when a figure is drawn; the array helpers
:func:`tile_images` and :func:`latent_grid` work without it.

The figures follow Kingma & Welling (2013): :func:`training_curves` is their Figure 2 (lower bound
against training samples evaluated, log x-axis, train solid and test dashed), :func:`manifold_grid`
their Figure 4 (decoder means over a grid of Gaussian quantiles of a 2-D latent space), and
:func:`image_grid` their Figure 5 (samples).

Images are greyscale with pixel values in [0, 1] (0 black, 1 white); values outside are shown
clipped to [0, 1], the data are not changed.
"""
import math
import numbers
import pathlib

import numpy as np
from scipy.special import ndtri

__all__ = [
    "tile_images",
    "latent_grid",
    "image_grid",
    "reconstruction_grid",
    "manifold_grid",
    "latent_scatter",
    "training_curves",
    "training_curve_panels",
]

_DPI = 150
_SEPARATOR = 1.0          # pixel value of the lines between tiles (white)


# ----------------------------------------------------------------------------------------------
# array helpers (no matplotlib)
# ----------------------------------------------------------------------------------------------
def _check_image_shape(image_shape):
    shape = tuple(image_shape) if np.iterable(image_shape) else (image_shape,)
    if len(shape) != 2 or not all(isinstance(s, numbers.Integral) and s > 0 for s in shape):
        raise ValueError(f"image_shape must be (height, width) with positive integers; got {image_shape!r}.")
    return int(shape[0]), int(shape[1])


def _check_images(images, image_shape, name="images"):
    """Return images as float (N, H, W), from (N, H*W) or (N, H, W); clear errors otherwise."""
    H, W = _check_image_shape(image_shape)
    try:
        images = np.asarray(images, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array ({exc}).") from None
    if images.ndim == 2:
        if images.shape[1] != H * W:
            raise ValueError(f"{name} has {images.shape[1]} values per image but image_shape {(H, W)} "
                             f"needs {H * W}.")
        images = images.reshape(-1, H, W)
    elif images.ndim != 3 or images.shape[1:] != (H, W):
        raise ValueError(f"{name} must have shape (n, {H * W}) or (n, {H}, {W}); got {images.shape}.")
    if images.shape[0] == 0:
        raise ValueError(f"{name} is empty.")
    if not np.all(np.isfinite(images)):
        raise ValueError(f"{name} contains {int(np.count_nonzero(~np.isfinite(images)))} NaN or infinite value(s).")
    return images


def tile_images(images, image_shape, nrows=None, pad=1, pad_value=_SEPARATOR):
    """Tile images into one 2-D array, row by row: image i goes to tile (i // ncols, i % ncols).

    Parameters
    ----------
    images : array_like, shape (N, H*W) or (N, H, W)
    image_shape : tuple of int
        (H, W); flattened images are read in row-major (C) order.
    nrows : int, optional
        Rows of tiles; default ceil(sqrt(N)).  ncols = ceil(N / nrows).
    pad : int, default 1
        Pixels between neighbouring tiles (none around the border).
    pad_value : float, default 1.0
        Value of the padding and of unused tiles.

    Returns
    -------
    grid : ndarray, shape (nrows*H + (nrows-1)*pad, ncols*W + (ncols-1)*pad)
        Tile (r, c) occupies rows r*(H+pad) : r*(H+pad)+H and columns c*(W+pad) : c*(W+pad)+W.
    """
    images = _check_images(images, image_shape)
    N, H, W = images.shape
    if nrows is None:
        nrows = math.ceil(math.sqrt(N))
    if not isinstance(nrows, numbers.Integral) or nrows < 1:
        raise ValueError(f"nrows must be a positive integer; got {nrows!r}.")
    if not isinstance(pad, numbers.Integral) or pad < 0:
        raise ValueError(f"pad must be a non-negative integer; got {pad!r}.")
    nrows = min(int(nrows), N)
    ncols = math.ceil(N / nrows)
    grid = np.full((nrows * H + (nrows - 1) * pad, ncols * W + (ncols - 1) * pad), float(pad_value))
    for i in range(N):
        r, c = divmod(i, ncols)
        top, left = r * (H + pad), c * (W + pad)
        grid[top:top + H, left:left + W] = images[i]
    return grid


def latent_grid(n):
    r"""Latent points of Kingma & Welling's Figure 4: Gaussian quantiles of a regular n x n grid.

    The probabilities are the cell midpoints p_i = (i + 0.5) / n, i = 0..n-1, of n equal slices of
    (0, 1) (so 0 and 1, whose quantiles are infinite, are never used, and every tile stands for an
    equal share of the prior mass); each is mapped through the inverse standard-normal CDF,
    q_i = ndtri(p_i).  Points are ordered as the tiles of the displayed grid, row-major from the
    top left: point r * n + c is the tile in row r, column c, with

        z_1 = q_c            (first latent dimension increases left to right)
        z_2 = q_{n-1-r}      (second latent dimension increases bottom to top; top row = high z_2)

    Parameters
    ----------
    n : int
        Points per side, n >= 1.

    Returns
    -------
    z : ndarray, shape (n*n, 2)
    """
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}.")
    q = ndtri((np.arange(n) + 0.5) / n)                                # (n,) increasing quantiles
    z1 = np.tile(q, n)                                                 # (n*n,)  column index c = i % n
    z2 = np.repeat(q[::-1], n)                                         # (n*n,)  row index r = i // n
    return np.stack([z1, z2], axis=1)                                  # (n*n, 2)


# ----------------------------------------------------------------------------------------------
# figure plumbing
# ----------------------------------------------------------------------------------------------
def _new_figure(figsize):
    """A bare Figure on the Agg canvas (no pyplot, no display, no global backend change)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            'numpyvae.plotting needs matplotlib; install it with: pip install "numpyvae[plots]"') from None
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI, bbox_inches="tight", pad_inches=0.1, facecolor="white")
    return path


def _show_grid(grid, title=None, inches_per_pixel=0.02, min_inches=3.0, max_inches=9.0):
    """A figure with one greyscale image axis showing grid (values clipped to [0, 1] by the colormap).

    The longer side of the grid is drawn inches_per_pixel * pixels long, kept within [min_inches, max_inches].
    """
    h, w = grid.shape
    scale = float(np.clip(inches_per_pixel, min_inches / max(h, w), max_inches / max(h, w)))
    fig = _new_figure((w * scale, h * scale))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.imshow(grid, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=10)
    return fig, ax


# ----------------------------------------------------------------------------------------------
# image figures
# ----------------------------------------------------------------------------------------------
def image_grid(images, image_shape, path, nrows=None, title=None):
    """Write a tiled grid of greyscale images (e.g. 10 x 10 samples from the model).

    Parameters
    ----------
    images : array_like, shape (N, H*W) or (N, H, W)
        Pixel values in [0, 1].
    image_shape : tuple of int
        (H, W).
    path : str or path-like
        Output file; its suffix picks the format (.png recommended). Parent folders are created.
    nrows : int, optional
        Rows of tiles; default ceil(sqrt(N)).
    title : str, optional

    Returns
    -------
    path : pathlib.Path
    """
    grid = tile_images(images, image_shape, nrows=nrows)
    fig, _ = _show_grid(grid, title)
    return _save(fig, path)


def reconstruction_grid(x, x_rec, image_shape, path, n=10, ncols=10, title=None):
    """Write inputs beside their reconstructions: pairs of rows, inputs above reconstructions.

    The first n examples are shown, ncols per row; each input row is directly followed by the row of
    its reconstructions, and pairs are separated by a wider gap.

    Parameters
    ----------
    x : array_like, shape (N, H*W) or (N, H, W)
        Inputs, values in [0, 1].
    x_rec : array_like, same shape as x
        Reconstructions (e.g. decoder means at the posterior means).
    image_shape : tuple of int
        (H, W).
    path : str or path-like
    n : int, default 10
        Number of examples shown (at most N).
    ncols : int, default 10
        Examples per row.
    title : str, optional
        Default "inputs (upper rows) and reconstructions (lower rows)".

    Returns
    -------
    path : pathlib.Path
    """
    x = _check_images(x, image_shape, "x")
    x_rec = _check_images(x_rec, image_shape, "x_rec")
    if x.shape != x_rec.shape:
        raise ValueError(f"x and x_rec must hold the same number of images; got {x.shape[0]} and {x_rec.shape[0]}.")
    for name, v in (("n", n), ("ncols", ncols)):
        if not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name} must be a positive integer; got {v!r}.")
    n = min(int(n), x.shape[0])
    ncols = min(int(ncols), n)
    H, W = x.shape[1:]
    gap = max(H // 4, 2)                                               # pixels between pairs of rows
    blocks = []
    for start in range(0, n, ncols):
        k = min(ncols, n - start)
        pair = np.concatenate([_pad_row(x[start:start + k], ncols), _pad_row(x_rec[start:start + k], ncols)])
        blocks.append(tile_images(pair, (H, W), nrows=2))
        blocks.append(np.full((gap, blocks[-1].shape[1]), _SEPARATOR))
    grid = np.concatenate(blocks[:-1])
    fig, ax = _show_grid(grid, title or "inputs (upper rows) and reconstructions (lower rows)")
    for j in range(len(blocks) // 2):
        top = j * (2 * (H + 1) - 1 + gap)
        ax.text(-W * 0.15, top + H / 2, "input", ha="right", va="center", fontsize=8)
        ax.text(-W * 0.15, top + H + 1 + H / 2, "recon.", ha="right", va="center", fontsize=8)
    return _save(fig, path)


def _pad_row(images, ncols):
    """Fill a short last row with blank (separator-coloured) images so both rows of a pair align."""
    k = images.shape[0]
    if k == ncols:
        return images
    return np.concatenate([images, np.full((ncols - k,) + images.shape[1:], _SEPARATOR)])


def manifold_grid(decode_fn, image_shape, path, n=20, title=None, axis_labels=(r"$z_1$", r"$z_2$")):
    """Write Kingma & Welling's Figure 4: the learned data manifold of a 2-D latent space.

    The latent points of :func:`latent_grid` (Gaussian quantiles at the probability midpoints
    (i + 0.5) / n) are decoded and tiled without gaps: the first coordinate increases left to right,
    the second bottom to top. For a model with more latent dimensions, pass a decode_fn that embeds
    the 2-D points (for example with the other coordinates at the prior mean 0) and the
    ``axis_labels`` of the two dimensions varied.

    Parameters
    ----------
    decode_fn : callable
        decode_fn(z) with z of shape (n*n, 2) returns images of shape (n*n, H*W) or (n*n, H, W) with
        values in [0, 1] (e.g. Bernoulli means).
    image_shape : tuple of int
        (H, W).
    path : str or path-like
    n : int, default 20
        Tiles per side.
    title : str, optional
    axis_labels : (str, str)
        Names of the horizontal and vertical latent coordinates.

    Returns
    -------
    path : pathlib.Path
    """
    z = latent_grid(n)                                                 # (n*n, 2)
    images = _check_images(decode_fn(z), image_shape, "decode_fn(z)")
    if images.shape[0] != n * n:
        raise ValueError(f"decode_fn returned {images.shape[0]} images for {n * n} latent points.")
    grid = tile_images(images, image_shape, nrows=n, pad=0)
    fig, ax = _show_grid(grid, title, inches_per_pixel=0.012)
    ax.set_xlabel(axis_labels[0] + r" $\rightarrow$", fontsize=10)
    ax.set_ylabel(axis_labels[1] + r" $\rightarrow$", fontsize=10)
    return _save(fig, path)


# ----------------------------------------------------------------------------------------------
# scatter and curves
# ----------------------------------------------------------------------------------------------
def latent_scatter(z, labels, path, title=None, max_legend_classes=20, axis_labels=(r"$z_1$", r"$z_2$")):
    """Write a 2-D scatter of latent codes (e.g. posterior means) coloured by label.

    Integer labels with at most max_legend_classes distinct values get one colour each and a legend;
    other labels (many classes, or real values) get a continuous colormap and a colorbar.  If z has
    more than two columns the first two are plotted and the title says so.

    Parameters
    ----------
    z : array_like, shape (N, L), L >= 2
    labels : array_like, shape (N,)
    path : str or path-like
    title : str, optional
    max_legend_classes : int, default 20
    axis_labels : (str, str)
        Names of the two plotted coordinates (the first two columns of z).

    Returns
    -------
    path : pathlib.Path
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] < 2 or z.shape[0] == 0:
        raise ValueError(f"z must have shape (n, L) with n >= 1 and L >= 2; got {z.shape}.")
    if not np.all(np.isfinite(z)):
        raise ValueError("z contains NaN or infinite values.")
    labels = np.asarray(labels)
    if labels.shape != (z.shape[0],):
        raise ValueError(f"labels must have shape ({z.shape[0]},) to match z; got {labels.shape}.")
    if labels.dtype.kind not in "biuf":
        raise ValueError(f"labels must be numeric; got dtype {labels.dtype}.")
    if not np.all(np.isfinite(labels)):
        raise ValueError("labels contain NaN or infinite values.")

    L = z.shape[1]
    title = title or "latent codes"
    if L > 2:
        title += f" (first 2 of {L} latent dimensions)"
    fig = _new_figure((6.0, 5.0))
    from matplotlib.lines import Line2D
    ax = fig.add_subplot()
    size = float(np.clip(20000.0 / z.shape[0], 3.0, 30.0))
    classes = np.unique(labels)
    integral = labels.dtype.kind in "biu" or np.all(labels == np.round(labels))
    if integral and len(classes) <= max_legend_classes:
        # one scatter call in data order, so no class is painted over all the others
        cmap = _categorical_cmap(len(classes))
        colours = cmap(np.searchsorted(classes, labels))               # (N, 4) RGBA
        ax.scatter(z[:, 0], z[:, 1], s=size, c=colours, alpha=0.7, linewidths=0)
        handles = [Line2D([], [], linestyle="", marker="o", markersize=6, color=cmap(k), label=_label_text(c))
                   for k, c in enumerate(classes)]
        ax.legend(handles=handles, title="label", loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    else:
        points = ax.scatter(z[:, 0], z[:, 1], s=size, c=labels, cmap="viridis", alpha=0.7, linewidths=0)
        fig.colorbar(points, ax=ax, label="label")
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_title(title, fontsize=10)
    ax.set_aspect("equal", adjustable="datalim")
    return _save(fig, path)


def _label_text(value):
    return str(int(value)) if float(value).is_integer() else str(value)


def _categorical_cmap(k):
    from matplotlib import colormaps
    return colormaps["tab10" if k <= 10 else "tab20"]


def _check_curves(curves, where="curves"):
    if isinstance(curves, dict) or not isinstance(curves, (list, tuple)) or len(curves) == 0:
        raise ValueError(f"{where} must be a non-empty list of dicts with keys 'label', 'samples', 'bound'.")
    checked = []
    for i, curve in enumerate(curves):
        if not isinstance(curve, dict):
            raise ValueError(f"{where}[{i}] must be a dict; got {type(curve).__name__}.")
        missing = {"label", "samples", "bound"} - set(curve)
        if missing:
            raise ValueError(f"{where}[{i}] is missing key(s) {sorted(missing)}.")
        samples = np.asarray(curve["samples"], dtype=np.float64)
        bound = np.asarray(curve["bound"], dtype=np.float64)
        if samples.ndim != 1 or samples.shape != bound.shape or samples.size == 0:
            raise ValueError(f"{where}[{i}] ({curve['label']!r}): 'samples' and 'bound' must be 1-D of equal, "
                             f"non-zero length; got shapes {samples.shape} and {bound.shape}.")
        if not (np.all(np.isfinite(samples)) and np.all(np.isfinite(bound))):
            raise ValueError(f"{where}[{i}] ({curve['label']!r}) contains NaN or infinite values.")
        if np.any(samples <= 0):
            raise ValueError(f"{where}[{i}] ({curve['label']!r}): 'samples' must be positive for the log x-axis.")
        checked.append(dict(curve, samples=samples, bound=bound))
    return checked


def _curve_style(curve):
    """Line style: curve['style'] if given, else dashed for labels that mention 'test', solid otherwise."""
    if "style" in curve:
        return curve["style"]
    return "--" if "test" in str(curve["label"]).lower() else "-"


def _colour_key(label):
    """Curves whose labels differ only by the words train/test share a colour."""
    words = str(label).replace("(", " ").replace(")", " ").replace(",", " ").lower().split()
    return " ".join(w for w in words if w not in ("train", "test", "training"))


def _draw_curves(ax, curves, xlabel, ylabel, ylim=None, xlim=None):
    from matplotlib import colormaps
    palette = colormaps["tab10"]
    keys = []
    for curve in curves:
        key = _colour_key(curve["label"])
        if "color" in curve:                       # an explicit colour takes no place in the palette
            colour = curve["color"]
        else:
            if key not in keys:
                keys.append(key)
            colour = palette(keys.index(key) % 10)
        ax.plot(curve["samples"], curve["bound"], linestyle=_curve_style(curve), color=colour,
                linewidth=1.5, label=str(curve["label"]), marker=curve.get("marker"), markersize=3.5)
    ax.set_xscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    if xlim is not None:
        ax.set_xlim(*xlim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, frameon=False)


_XLABEL = "training samples evaluated"
_YLABEL = r"lower bound $\mathcal{L}$ (nats per datapoint)"


def training_curves(curves, path, title=None, xlabel=_XLABEL, ylabel=_YLABEL, ylim=None, xlim=None):
    """Write Kingma & Welling's Figure 2: lower bound against training samples evaluated.

    Parameters
    ----------
    curves : list of dict
        One line each, with keys
        "label" (str), "samples" (array (T,), positive: training samples evaluated so far),
        "bound" (array (T,): the bound at those points), and optionally
        "style" (a matplotlib line style; default dashed when the label mentions "test", solid
        otherwise), "color" and "marker" (a matplotlib marker drawn at every point).  Labels that
        differ only by the words train/test share a colour, so "AEVB train" and "AEVB test" are one
        colour, solid and dashed.
    path : str or path-like
    title : str, optional
    xlabel, ylabel : str, optional
    ylim, xlim : (float, float), optional
        The axis ranges (default: matplotlib's, which fit every point).

    Returns
    -------
    path : pathlib.Path
    """
    curves = _check_curves(curves)
    fig = _new_figure((6.0, 4.2))
    ax = fig.add_subplot()
    _draw_curves(ax, curves, xlabel, ylabel, ylim, xlim)
    if title:
        ax.set_title(title, fontsize=11)
    return _save(fig, path)


def training_curve_panels(panels, path, titles=None, suptitle=None, xlabel=_XLABEL, ylabel=_YLABEL,
                          sharey=False, ylims=None, xlim=None):
    """Write several :func:`training_curves` panels side by side (e.g. one per latent size, as in K&W Fig. 2).

    Parameters
    ----------
    panels : list of list of dict
        One curves list (see :func:`training_curves`) per panel.
    path : str or path-like
    titles : list of str, optional
        One per panel (e.g. "$N_z$ = 3").
    suptitle : str, optional
        Title over all panels.
    xlabel, ylabel : str, optional
    sharey : bool, default False
    ylims : list of (float, float) or None, optional
        One y-axis range per panel (None: matplotlib's).
    xlim : (float, float), optional
        The x-axis range of every panel (default: matplotlib's).

    Returns
    -------
    path : pathlib.Path
    """
    if not isinstance(panels, (list, tuple)) or len(panels) == 0:
        raise ValueError("panels must be a non-empty list of curve lists.")
    checked = [_check_curves(p, f"panels[{i}]") for i, p in enumerate(panels)]
    if titles is not None and len(titles) != len(panels):
        raise ValueError(f"titles has {len(titles)} entries for {len(panels)} panels.")
    if ylims is not None and len(ylims) != len(panels):
        raise ValueError(f"ylims has {len(ylims)} entries for {len(panels)} panels.")
    fig = _new_figure((3.6 * len(panels), 3.6))
    axes = fig.subplots(1, len(panels), sharey=sharey, squeeze=False)[0]
    for i, (ax, curves) in enumerate(zip(axes, checked)):
        _draw_curves(ax, curves, xlabel, ylabel if i == 0 else "", None if ylims is None else ylims[i], xlim)
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    fig.tight_layout()
    return _save(fig, path)
