"""Agreement of each implementation with a float64 reference, required before any timing.

Every implementation is evaluated at the same parameters, data and noise.  The reference is
numpyvae in float64 (HIPS autograd in float64 when numpyvae cannot be imported), evaluated at
those inputs cast to float64, so a float32 run is measured against the exact answer for its
own (rounded) inputs.

Tolerances (relative, per tensor, in the 2-norm: |g - g_ref| / |g_ref|):

- float64: 1e-10.  Agreeing implementations differ by rounding only, about 1e-15 here.
- float32: 1e-5.  The unit roundoff is 6e-8; a length-K dot product has typical error about
  sqrt(K) u and worst case K u, which for K <= 1000 is 2e-6 and 6e-5.  Correct float32
  implementations measure 1e-7 to 6e-7 on these models, so 1e-5 leaves a factor of ~20 for
  noise while still failing on any mistake in the model (a wrong term is off by 1e-3 or more).

The Adam check runs three of the implementation's own timed training steps and compares the
parameter change with the reference's three steps; it uses the gradient tolerance times 100
in float32 (Adam divides by sqrt(v), which magnifies the error of gradients near zero) and
the gradient tolerance in float64. The row that trains with Adagrad (the reproduction's
optimizer) is checked the same way against three textbook Adagrad steps written out here
(:func:`reference_adagrad`), with the reference's gradients at each step's parameters; in float32
with a looser tolerance, 0.1 (ADAGRAD_FACTOR). Adagrad's first step is lr g / |g|: every entry
moves by about lr whatever the size of its gradient, and with the weight decay lambda p added to a
tiny data gradient (pixels lit in one or two images of the batch) g nearly cancels for some
entries, whose float32 step then goes the other way: 2.8e-2 measured on MNIST at batch 100, where
a wrong setting gives 0.4 or more (no weight decay 0.42, twice the weight decay 0.40, lr 1.2x 0.74).
"""

import numpy as np

TOLERANCE = {"float64": 1e-10, "float32": 1e-5}
ADAM_FACTOR = {"float64": 1.0, "float32": 100.0}
ADAGRAD_FACTOR = {"float64": 1.0, "float32": 1e4}
ADAM_STEPS = 3


def rel_error(a, b):
    """|a - b| / |b| in the 2-norm (0 when both vanish)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denom = np.linalg.norm(b)
    diff = np.linalg.norm(a - b)
    return diff / denom if denom > 0 else diff


def to64(tree):
    return {k: np.asarray(v, dtype=np.float64) for k, v in tree.items()}


def reference(ref_module, spec, params, x, eps, adam):
    """Float64 loss, gradients and the parameter change after ADAM_STEPS training steps."""
    p64, x64, eps64 = to64(params), np.asarray(x, np.float64), np.asarray(eps, np.float64)
    loss, grads = ref_module.loss_and_grads(spec, p64, x64, eps64)
    trainer = ref_module.make_trainer(spec, p64, x64, eps64, adam)
    for _ in range(ADAM_STEPS):
        trainer.step()
    trainer.sync()
    after = trainer.params()
    return {"loss": loss, "grads": grads, "delta": {k: after[k] - p64[k] for k in p64}}


def reference_adagrad(ref_module, spec, params, x, eps, adagrad):
    """As :func:`reference`, with ADAM_STEPS textbook Adagrad steps (weight decay included):
    g' = g + lambda p;  h = h + g'^2;  p = p - lr g' / (sqrt(h) + eps)."""
    p64, x64, eps64 = to64(params), np.asarray(x, np.float64), np.asarray(eps, np.float64)
    loss, grads = ref_module.loss_and_grads(spec, p64, x64, eps64)
    current = dict(p64)
    h = {k: np.zeros_like(v) for k, v in p64.items()}
    for _ in range(ADAM_STEPS):
        _, g = ref_module.loss_and_grads(spec, current, x64, eps64)
        for k in current:
            g_k = g[k] + adagrad.weight_decay * current[k]
            h[k] = h[k] + g_k ** 2
            current[k] = current[k] - adagrad.lr * g_k / (np.sqrt(h[k]) + adagrad.eps)
    return {"loss": loss, "grads": grads, "delta": {k: current[k] - p64[k] for k in p64},
            "optimizer": "Adagrad"}


def compare(ref, loss, grads, trainer, params, dtype_name):
    """Check one implementation against the reference.

    ``trainer`` is the implementation's own timed trainer, freshly built at ``params``; this
    runs ADAM_STEPS steps on it.

    Returns
    -------
    dict
        "ok" (bool), "loss_err", "grad_err" (worst tensor), "grad_worst" (its name),
        "adam_err", "problems" (list of str, empty when ok).
    """
    tol = TOLERANCE[dtype_name]
    problems = []
    missing = set(ref["grads"]) ^ set(grads)
    if missing:
        problems.append(f"gradient names differ: {sorted(missing)}")
    errors = {k: rel_error(grads[k], ref["grads"][k]) for k in ref["grads"] if k in grads}
    worst = max(errors, key=errors.get) if errors else ""
    grad_err = errors.get(worst, float("nan"))
    loss_err = abs(loss - ref["loss"]) / abs(ref["loss"])
    for _ in range(ADAM_STEPS):
        trainer.step()
    trainer.sync()
    after = trainer.params()
    adam_err = max(rel_error(np.asarray(after[k], np.float64) - np.asarray(params[k], np.float64),
                             ref["delta"][k]) for k in ref["delta"])
    if not loss_err <= tol:
        problems.append(f"loss {loss!r} vs reference {ref['loss']!r} (rel. error {loss_err:.2e})")
    for k, e in sorted(errors.items(), key=lambda item: -item[1]):
        if not e <= tol:
            problems.append(f"gradient {k}: rel. error {e:.2e} > {tol:.0e}")
    factor = ADAGRAD_FACTOR if ref.get("optimizer") == "Adagrad" else ADAM_FACTOR
    adam_tol = tol * factor[dtype_name]
    if not adam_err <= adam_tol:
        problems.append(f"parameters after {ADAM_STEPS} {ref.get('optimizer', 'Adam')} steps: rel. error "
                        f"{adam_err:.2e} > {adam_tol:.0e}")
    return {"ok": not problems, "loss_err": loss_err, "grad_err": grad_err, "grad_worst": worst,
            "adam_err": adam_err, "problems": problems}
