"""Backpropagation through one layer, printed as the matrices it multiplies, then checked by finite
differences.

What it teaches
---------------
One dense layer with a tanh, y = tanh(x W + b), and the loss (1/N) sum_n 1/2 ||y_n - t_n||^2. The
backward pass is four lines (docs/derivations.md#linear and #activations):

    dy = (y - t) / N               the 1/N of the mean starts the chain
    da = dy * (1 - y^2)            tanh'(a) = 1 - tanh(a)^2, elementwise   (tanh_backward)
    dW = x^T da    db = sum_n da   dx = da W^T                             (linear_backward)

The script prints each product with its operands side by side, compares with numpyvae's
``linear_backward`` / ``tanh_backward``, then checks every entry by central differences
(f(theta + h) - f(theta - h)) / 2h. Finally it sweeps the step h and plots the error: the truncation
error falls as h^2 (central) or h (forward differences) until round-off, which grows as eps/h, takes
over; in float32 the floor is far higher. That is why numpyvae checks gradients in float64 with
h = 1e-5 (docs/derivations.md#gradcheck).

Writes ``fd_error_vs_step.png`` into ``--out``.

Run
---
    python examples/03_backprop_one_layer.py
"""
import _common

import numpy as np

from numpyvae.gradcheck import check_gradients
from numpyvae.ops.activations import tanh_backward, tanh_forward
from numpyvae.ops.linear import linear_backward, linear_forward


def side_by_side(*items, digits=3):
    """Print matrices and operator strings next to each other, e.g. side_by_side("dW =", A, "@", B)."""
    blocks = []
    for it in items:
        if isinstance(it, str):
            blocks.append([it])
        else:
            a = np.atleast_2d(it)
            rows = [" ".join(f"{v:{digits + 4}.{digits}f}" for v in row) for row in a]
            blocks.append(["[" + r + " ]" for r in rows])
    height = max(len(b) for b in blocks)
    lines = []
    for i in range(height):
        parts = []
        for b in blocks:
            width = max(len(s) for s in b)
            top = (height - len(b)) // 2
            s = b[i - top] if 0 <= i - top < len(b) else ""
            parts.append(s.ljust(width))
        lines.append("  ".join(parts).rstrip())
    print("\n".join("    " + ln for ln in lines))


def loss_fn(x, W, b, t):
    a = x @ W + b                                                     # (N, O)
    y = np.tanh(a)                                                    # (N, O)
    return 0.5 * np.sum((y - t) ** 2) / x.shape[0]


def central(f, arr, h):
    """Central differences of f() with respect to every entry of ``arr`` (perturbed in place)."""
    g = np.empty_like(arr)
    flat, gflat = arr.reshape(-1), g.reshape(-1)
    for j in range(flat.size):
        orig = flat[j]
        flat[j] = orig + h
        fp = f()
        flat[j] = orig - h
        fm = f()
        flat[j] = orig
        gflat[j] = (fp - fm) / (2 * h)
    return g


def main(argv=None):
    p = _common.parser(__doc__)
    args = p.parse_args(argv)
    out = _common.out_dir(args)
    rng = np.random.default_rng(args.seed)

    N, I, O = 3, 4, 3
    x = rng.standard_normal((N, I))                                   # (N, I) inputs
    W = rng.standard_normal((I, O)) * 0.7                             # (I, O)
    b = rng.standard_normal(O) * 0.1                                  # (O,)
    t = rng.uniform(-1, 1, size=(N, O))                               # (N, O) targets

    print(f"one layer y = tanh(x W + b), loss = (1/N) sum_n 1/2 ||y_n - t_n||^2, N = {N}, in {I}, out {O}\n")
    print("forward")
    a = x @ W + b
    y = np.tanh(a)
    side_by_side("a =", x, "@", W, "+", b[None], "=", a)
    print()
    side_by_side("y = tanh(a) =", y, "   t =", t)
    loss = 0.5 * np.sum((y - t) ** 2) / N
    print(f"    loss = {loss:.6f}\n")

    print("backward")
    dloss_mean = 1.0 / N                                              # d loss / d (sum over n) = 1/N
    dy = dloss_mean * (y - t)                                         # (N, O)
    side_by_side("dy = (y - t) / N =", dy)
    print()
    da = dy * (1.0 - y * y)                                           # (N, O)
    side_by_side("da = dy * (1 - y^2) =", dy, "*", 1.0 - y * y, "=", da)
    print()
    dW = x.T @ da                                                     # (I, O)
    side_by_side("dW = x^T @ da =", x.T, "@", da, "=", dW)
    print()
    db = da.sum(axis=0)                                               # (O,)
    side_by_side("db = sum over rows of da =", db[None])
    print()
    dx = da @ W.T                                                     # (N, I)
    side_by_side("dx = da @ W^T =", da, "@", W.T, "=", dx)
    print()

    # the library's pair gives the same arrays
    a_lib, lin_cache = linear_forward(x, W, b)
    y_lib, tanh_cache = tanh_forward(a_lib)
    da_lib = tanh_backward(dy, tanh_cache)
    dx_lib, dW_lib, db_lib = linear_backward(da_lib, lin_cache)
    diff = max(np.abs(dW - dW_lib).max(), np.abs(db - db_lib).max(), np.abs(dx - dx_lib).max())
    print(f"numpyvae.ops: linear_backward(tanh_backward(dy, y), cache) differs by at most {diff:.1e}\n")

    # finite differences, every entry
    h = 1e-5
    f = lambda: loss_fn(x, W, b, t)                                   # noqa: E731  reads x, W, b in place
    print(f"central differences, h = {h:g}: (f(theta + h e_j) - f(theta - h e_j)) / 2h for every entry")
    worst = 0.0
    for name, arr, an in (("W", W, dW), ("b", b, db), ("x", x, dx)):
        fd = central(f, arr, h)
        rel = np.abs(fd - an).max() / np.abs(an).max()
        worst = max(worst, rel)
        side_by_side(f"d{name} finite diff. =", fd.reshape(an.shape if an.ndim == 2 else (1, -1)), digits=6)
        print(f"    max |finite diff - analytic| / max |analytic| = {rel:.1e}\n")

    report = check_gradients(f, {"W": W, "b": b, "x": x}, {"W": dW, "b": db, "x": dx}, rng=0)
    print("the same check with numpyvae.gradcheck.check_gradients:")
    print(report.table())

    # the step-size sweep
    hs = np.logspace(-1, -13, 49)
    j = (1, 2)                                                        # one entry of W
    exact = dW[j]
    err_c, err_f, err_c32 = [], [], []
    x32, W32, b32, t32 = (v.astype(np.float32) for v in (x, W, b, t))
    for hk in hs:
        Wp, Wm = W.copy(), W.copy()
        Wp[j] += hk
        Wm[j] -= hk
        fp, fm, f0 = loss_fn(x, Wp, b, t), loss_fn(x, Wm, b, t), loss_fn(x, W, b, t)
        err_c.append(abs((fp - fm) / (2 * hk) - exact) / abs(exact))
        err_f.append(abs((fp - f0) / hk - exact) / abs(exact))
        Wp32, Wm32 = W32.copy(), W32.copy()
        Wp32[j] += np.float32(hk)
        Wm32[j] -= np.float32(hk)
        step32 = (Wp32[j] - Wm32[j]) / 2                              # the step float32 really took
        d32 = (loss_fn(x32, Wp32, b32, t32) - loss_fn(x32, Wm32, b32, t32)) / (2 * step32) if step32 else np.nan
        err_c32.append(abs(d32 - exact) / abs(exact) if np.isfinite(d32) else np.nan)
    err_c, err_f, err_c32 = (np.array(e) for e in (err_c, err_f, err_c32))
    print(f"\nrelative error of dW{list(j)} against the step h")
    print(f"  {'h':>8} {'central f64':>12} {'forward f64':>12} {'central f32':>12}")
    for k in range(0, len(hs), 4):
        print(f"  {hs[k]:>8.0e} {err_c[k]:>12.1e} {err_f[k]:>12.1e} {err_c32[k]:>12.1e}")
    best = hs[np.nanargmin(err_c)]
    print(f"  best central step in float64: h = {best:.0e} (theory: about eps^(1/3) = "
          f"{np.finfo(np.float64).eps ** (1 / 3):.0e})")

    plt = _common.pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.8))
    ax.loglog(hs, np.maximum(err_c, 1e-17), "o-", ms=3, label="central difference, float64")
    ax.loglog(hs, np.maximum(err_f, 1e-17), "s-", ms=3, label="forward difference, float64")
    ax.loglog(hs, np.maximum(err_c32, 1e-17), "^-", ms=3, label="central difference, float32")
    ref = hs[(hs > 1e-4)]
    ax.loglog(ref, 0.1 * err_c[hs > 1e-4][0] * (ref / ref[0]) ** 2, "k:", lw=1,
              label=r"slope 2 (shifted down): truncation $O(h^2)$")
    f0 = loss_fn(x, W, b, t)
    ax.loglog(hs, np.finfo(np.float64).eps * f0 / (hs * abs(exact)), "k--", lw=1,
              label=r"round-off $\epsilon_{64} |f| / (h |f'|)$")
    ax.axvline(1e-5, color="grey", lw=0.8)
    ax.text(1.2e-5, 3e-16, "numpyvae's h", color="grey", fontsize=8)
    ax.set_ylim(1e-16, 10)
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error of the finite difference")
    ax.set_title(r"finite-difference error for one entry of $\partial L/\partial W$")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    path = out / "fd_error_vs_step.png"
    fig.savefig(path, dpi=110)
    print(f"\nwrote {path}")
    ok = diff < 1e-12 and worst < 1e-8 and report.passed()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
