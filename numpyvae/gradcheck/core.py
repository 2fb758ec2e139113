r"""Finite-difference gradient checking, as a public tool.

Two checks, both in float64 with every source of randomness held fixed:

- **per coordinate**: for a parameter entry theta_j, the central difference
  (f(theta + h e_j) - f(theta - h e_j)) / 2h against the analytic dL/dtheta_j. Every entry of a
  small tensor is checked, a random subset of a large one.
- **directional** (as in HIPS autograd): for a random unit direction v, (f(theta + h v) -
  f(theta - h v)) / 2h = <grad f, v> + O(h^2) checks the whole tensor with two evaluations. Its
  error is relative to ||grad f||, the largest value <grad f, v> can take for a unit v, so that a
  direction nearly orthogonal to the gradient does not inflate it.
  For an op with array output y = F(x) we check the scalar f(x) = <u, F(x)> for a random
  upstream gradient u, which compares <u, J v> with <J^T u, v>.

Relative error is normwise and counts only the part of the disagreement above the round-off level
of a central difference, noise = 10 * machine-eps * max(1, |f|) / h (each of the two evaluations of f
carries an error of a few eps * |f|, divided by 2h):

    rel_err = max_j max(|fd_j - an_j| - noise, 0) / max(max_j |an_j|, max_j |fd_j|)

so a gradient that is exactly zero, or far smaller than the loss, is not reported as a large error
when finite differences simply cannot resolve it; any disagreement larger than round-off is.

Derivation: docs/derivations.md#gradcheck
"""
from dataclasses import dataclass, field
from typing import List

import numpy as np

from ..arrays.random import as_generator
from ..arrays.validation import check_positive, check_positive_int

DEFAULT_STEP = 1e-5  # near the optimum eps^(1/3) for float64 central differences


@dataclass
class ParamCheck:
    """The result for one parameter (or one op input)."""

    name: str
    shape: tuple
    n_checked: int
    max_abs_err: float
    rel_err: float
    directional_rel_err: float

    @property
    def worst(self):
        return max(self.rel_err, self.directional_rel_err)


@dataclass
class GradcheckReport:
    """Relative errors per parameter. ``passed(tol)`` is True when every error is at most ``tol`` and
    something was checked: a report without rows, or with a row that checked no entry, never passes."""

    rows: List[ParamCheck] = field(default_factory=list)
    step: float = DEFAULT_STEP
    loss: float = float("nan")
    noise: float = 0.0

    @property
    def max_rel_err(self):
        return max((r.worst for r in self.rows), default=0.0)

    def passed(self, tol=1e-6):
        tol = check_positive("tol", tol)
        return bool(self.rows) and all(r.n_checked > 0 and r.worst <= tol for r in self.rows)

    def failures(self, tol=1e-6):
        tol = check_positive("tol", tol)
        return [r for r in self.rows if not (r.n_checked > 0 and r.worst <= tol)]

    def table(self, tol=1e-6):
        """A fixed-width text table, one row per parameter."""
        head = f"{'parameter':<18} {'shape':<14} {'checked':>8} {'max abs err':>12} {'rel err':>10} {'dir rel err':>12}  ok"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            ok = "yes" if r.worst <= tol else "NO"
            lines.append(f"{r.name:<18} {str(tuple(r.shape)):<14} {r.n_checked:>8d} {r.max_abs_err:>12.2e} "
                         f"{r.rel_err:>10.2e} {r.directional_rel_err:>12.2e}  {ok}")
        lines.append(f"max relative error {self.max_rel_err:.2e} (tolerance {tol:g}, step h = {self.step:g}, "
                     f"round-off level {self.noise:.1e} not counted)")
        return "\n".join(lines)

    def __str__(self):
        return self.table()


def _as_host(a):
    return a if isinstance(a, np.ndarray) else np.asarray(a.get() if hasattr(a, "get") else a)


def check_gradients(loss_fn, params, grads, step=DEFAULT_STEP, max_coords=40, rng=None):
    """Compare analytic ``grads`` with central differences of ``loss_fn``.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn() -> float``, reading the arrays of ``params``; it must be deterministic (fixed
        noise). The arrays are perturbed in place and restored exactly afterwards.
    params : dict of str -> array (float64)
    grads : dict of str -> array
        Analytic gradients at the current ``params``.
    step : float
        h of the central difference.
    max_coords : int
        Entries checked per parameter (all of them if the tensor is smaller).
    rng : numpy.random.Generator or int, optional
        Picks the coordinates and the direction.

    Returns
    -------
    GradcheckReport
    """
    step = check_positive("step", step)
    max_coords = check_positive_int("max_coords", max_coords)       # 0 would check nothing and "pass"
    if not params:
        raise ValueError("no parameters to check: a gradient check of nothing would pass vacuously")
    missing = sorted(set(params) - set(grads))
    if missing:
        raise ValueError(f"no analytic gradient for {missing}")
    rng = as_generator(rng)
    for name, p in params.items():
        if p.dtype != np.float64:
            raise ValueError(f"gradient checks need float64 parameters; {name!r} is {p.dtype} "
                             "(build the model with dtype=np.float64)")
    f0 = float(loss_fn())
    noise = 10 * np.finfo(np.float64).eps * max(1.0, abs(f0)) / step   # round-off of a central difference
    tiny = np.finfo(np.float64).tiny
    report = GradcheckReport(step=step, loss=f0, noise=noise)
    for name, p in params.items():
        g = _as_host(grads[name]).reshape(-1)
        flat = p.reshape(-1)                                          # a view: writes reach p
        idx = np.arange(flat.size) if flat.size <= max_coords else rng.choice(flat.size, max_coords, replace=False)
        fd = np.empty(idx.size)
        for k, j in enumerate(idx):
            j = int(j)
            orig = flat[j].item()
            flat[j] = orig + step
            f_plus = float(loss_fn())
            flat[j] = orig - step
            f_minus = float(loss_fn())
            flat[j] = orig
            fd[k] = (f_plus - f_minus) / (2 * step)
        an = g[idx]
        abs_err = np.abs(fd - an)
        scale = max(np.abs(an).max(initial=0.0), np.abs(fd).max(initial=0.0), tiny)
        rel = float(max(abs_err.max(initial=0.0) - noise, 0.0) / scale)

        v_host = rng.standard_normal(p.shape)
        v_host /= np.linalg.norm(v_host)
        v = _like(p, v_host)
        orig = p.copy()
        p += step * v
        f_plus = float(loss_fn())
        p[...] = orig
        p -= step * v
        f_minus = float(loss_fn())
        p[...] = orig
        fd_dir = (f_plus - f_minus) / (2 * step)
        an_dir = float(np.dot(g, v_host.reshape(-1)))
        dir_scale = max(float(np.linalg.norm(g)), abs(fd_dir), tiny)                  # |<g, v>| <= ||g||
        dir_rel = max(abs(fd_dir - an_dir) - noise, 0.0) / dir_scale
        report.rows.append(ParamCheck(name, tuple(p.shape), int(idx.size), float(abs_err.max(initial=0.0)),
                                      rel, float(dir_rel)))
    return report


def _like(p, host):
    """``host`` (a NumPy array) on the array module of ``p``."""
    from ..arrays.backend import array_module

    return array_module(p).asarray(host)


def check_model(model, x, eps=None, rng=0, step=DEFAULT_STEP, max_coords=40, **condition):
    """Gradient-check ``model.loss_and_grads`` at ``x`` with the noise ``eps`` held fixed.

    Any registered model: the loss at fixed noise and its analytic gradient come from the model's
    own ``check_loss`` (``eps`` defaults to one draw from ``rng``; ``condition`` passes ``c=`` to a
    conditional model). The model must be float64.
    """
    rng = as_generator(rng)
    if not callable(getattr(model, "check_loss", None)):
        raise ValueError(f"{type(model).__name__} has no check_loss(x, eps, rng): it cannot be gradient-checked")
    loss, grads = model.check_loss(x, eps=eps, rng=rng, **condition)
    return check_gradients(loss, model.params, grads, step=step, max_coords=max_coords, rng=rng)


def check_op(spec, rng=0, step=DEFAULT_STEP, max_coords=200):
    """Gradient-check one registered op (:class:`numpyvae.ops.OpSpec`) in float64.

    The scalar checked is f = sum_k <u_k, out_k> with random upstream gradients u_k, so the
    backward is exercised with a non-trivial ``dout``.
    """
    rng = as_generator(rng)
    inputs = [np.array(a, dtype=np.float64) if isinstance(a, np.ndarray) else a
              for a in spec.make_inputs(rng, np.float64)]
    out, cache = spec.forward(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    us = tuple(rng.standard_normal(np.shape(o)) for o in outs)
    grads = spec.backward(us if isinstance(out, tuple) else us[0], cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    if len(grads) != len(spec.wrt):
        raise ValueError(f"op {spec.name!r}: backward returned {len(grads)} gradients, wrt lists {len(spec.wrt)}")
    params = {f"{spec.name}[{i}]": inputs[i] for i in spec.wrt}
    named = {f"{spec.name}[{i}]": g for i, g in zip(spec.wrt, grads)}
    for key, g in named.items():
        if np.shape(g) != params[key].shape:
            raise ValueError(f"op {spec.name!r}: gradient {key} has shape {np.shape(g)}, "
                             f"input has {params[key].shape}")

    def f():
        o, _ = spec.forward(*inputs)
        o = o if isinstance(o, tuple) else (o,)
        return sum(float(np.sum(u * oi)) for u, oi in zip(us, o))

    return check_gradients(f, params, named, step=step, max_coords=max_coords, rng=rng)
