"""What the training engine costs: a reproduction step through the Trainer against the bare step.

For K&W's MNIST model (784-500-20, tanh, Bernoulli, batch 100, Adagrad with weight decay 1/N) in
float32 on the workspace path, it times

- AEVB: the Trainer with the reproduction's settings (``numpyvae.reproduce.runs.train_settings``:
  SGVB, last partial minibatch dropped, no evaluation inside the timed span) against the bare loop
  ``loss_and_grads(x, rng, workspace) + optimizer.step`` over the same minibatches;
- wake-sleep: the Trainer with ``algorithm="wake_sleep"`` against a bare loop of
  ``WakeSleep.step``.

Rounds are interleaved (bare, engine, bare, engine, ...) so that both see the same machine; the
table gives the median ms per step of each and their ratio. One BLAS thread unless ``--threads``.
The environment's ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` are left as they are (say so when
comparing machines; see ``numpyvae info``).

    python benchmarks/engine_overhead.py --steps 500 --rounds 5
"""
import argparse
import os
import sys
import time


def _threads():
    n = "1"
    for i, a in enumerate(sys.argv):
        if a == "--threads" and i + 1 < len(sys.argv):
            n = sys.argv[i + 1]
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = n


_threads()                                                     # before NumPy loads

import numpy as np  # noqa: E402

from numpyvae.algorithms import WakeSleep  # noqa: E402
from numpyvae.arrays.workspace import Workspace  # noqa: E402
from numpyvae.optim import Adagrad  # noqa: E402
from numpyvae.reproduce.runs import build_model, make_spec, train_settings  # noqa: E402
from numpyvae.training import Trainer  # noqa: E402


def data(n=10000, seed=0):
    """Binary MNIST-like data (the timing does not depend on the values): 19 % of pixels on."""
    return (np.random.default_rng(seed).uniform(size=(n, 784)) < 0.19).astype(np.float32)


def minibatches(x, steps, rng, M=100):
    """``steps`` minibatches of M rows, a new permutation each epoch (the partial one left out)."""
    per_epoch = x.shape[0] // M
    for s in range(steps):
        if s % per_epoch == 0:
            perm = rng.permutation(x.shape[0])
        b = s % per_epoch
        yield x[perm[b * M:(b + 1) * M]]


def bare_aevb(x, steps, spec):
    model = build_model(spec, 784)
    opt = Adagrad(lr=0.02, weight_decay=1.0 / x.shape[0])
    ws, rng = Workspace(), np.random.default_rng(0)
    t0 = time.perf_counter()
    for xb in minibatches(x, steps, rng):
        _, grads = model.loss_and_grads(xb, rng=rng, workspace=ws)
        opt.step(model.params, grads)
    return (time.perf_counter() - t0) / steps


def bare_wake_sleep(x, steps, spec):
    algo = WakeSleep(build_model(spec, 784), Adagrad(lr=0.02, weight_decay=1.0 / x.shape[0]))
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for xb in minibatches(x, steps, rng):
        algo.step(xb, rng)
    return (time.perf_counter() - t0) / steps


def engine(x, steps, spec, algorithm):
    settings = train_settings(dict(spec, budget=steps * 100), x.shape[0], 0.02)
    settings.update(algorithm=algorithm, eval_every=[10 ** 12], checkpoint_every=None, checkpoint_seconds=None)
    trainer = Trainer(build_model(spec, 784), evaluator=lambda *a: {}, **settings)
    t0 = time.perf_counter()
    trainer.fit(x)                                             # its one (final) evaluation is empty
    return (time.perf_counter() - t0) / steps


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=500, help="steps per timed round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", default="1")
    p.add_argument("--out", default=None, help="also write the table (markdown) here")
    args = p.parse_args(argv)
    x = data()
    spec = make_spec("mnist", 20, "aevb", 1e6, "/tmp/unused", lr=0.02, dtype="float32")
    cases = [("AEVB (SGVB, Adagrad)", lambda: bare_aevb(x, args.steps, spec), lambda: engine(x, args.steps, spec, "sgvb")),
             ("wake-sleep (Adagrad)", lambda: bare_wake_sleep(x, args.steps, spec),
              lambda: engine(x, args.steps, spec, "wake_sleep"))]
    lines = [f"float32, batch 100, 784-500-20, {args.threads} BLAS thread(s), {args.rounds} interleaved rounds of "
             f"{args.steps} steps; median ms per step", "",
             "| step | bare loop | through the Trainer | Trainer / bare |", "|---|---|---|---|"]
    for name, bare, eng in cases:
        bare(), eng()                                          # warm-up: allocation, caches
        tb, te = [], []
        for _ in range(args.rounds):
            tb.append(bare())
            te.append(eng())
        mb, me = float(np.median(tb)) * 1e3, float(np.median(te)) * 1e3
        lines.append(f"| {name} | {mb:.2f} | {me:.2f} | {me / mb:.3f} |")
        print(lines[-1], file=sys.stderr)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
