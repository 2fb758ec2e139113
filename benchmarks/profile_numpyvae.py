"""Where numpyvae's training step spends its time: matrix products, elementwise work, Adam.

Usage (from the repository root)::

    python benchmarks/profile_numpyvae.py --config mnist --dtype float32 --threads 1

With one thread the clock is the process's CPU time, so other processes on a shared machine
do not inflate the figures.  Profiles ``model.loss_and_grads`` + ``nv.Adam.step`` with cProfile and groups the time by
where it is spent (NumPy ufuncs such as matmul and tanh are charged to the Python function
that calls them, so the groups are exact up to cProfile's own overhead).  Alongside, it times
the step's matrix products alone: the 14 a minimal backward pass needs, and the input layer's
dL/dx, which no parameter needs (the script says whether this numpyvae forms it).
"""

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

GROUPS = [
    ("matrix products (linear_forward/backward: GEMM, bias add, bias grad)", ("linear.py",)),
    ("optimizer (Adam)", ("optim.py", "inplace.py")),
    ("elementwise + reductions (activations, likelihood, KL, sampling)",
     ("activations.py", "stable.py", "likelihoods.py", "gaussian.py", "reductions.py",
      "_methods.py", "~")),
    ("input validation", ("validation.py",)),
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="mnist", help="a name from benchmarks/configs.py")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=300)
    return parser.parse_args()


def group_of(filename, funcname):
    base = os.path.basename(filename)
    for label, files in GROUPS:
        if base in files:
            return label
    return "other Python (model plumbing, dict handling, call overhead)"


def main():
    args = parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    if "numpy" in sys.modules:
        raise SystemExit("numpy was imported before the thread count was set")
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:args.threads])

    import cProfile
    import pstats
    import time

    import numpy as np

    import numpyvae as nv
    from benchmarks.configs import CONFIGS
    from benchmarks.floor import _operands, step_gemms
    from benchmarks.frameworks.common import make_batch

    if args.config not in CONFIGS:
        raise SystemExit(f"unknown --config {args.config!r}; choose from {', '.join(CONFIGS)}")
    config = CONFIGS[args.config]
    spec, dtype = config.spec, np.dtype(args.dtype)
    model = nv.VAE(spec.input_dim, spec.hidden_sizes, spec.latent_dim, spec.likelihood,
                   dtype=dtype, rng=np.random.default_rng(0))
    x, eps = make_batch(spec, config.batch_size, config.n_samples, np.random.default_rng(0), dtype)
    opt = nv.Adam(lr=1e-3)
    kwargs = {"workspace": nv.Workspace()} if hasattr(nv, "Workspace") else {}

    def step():
        _, grads = model.loss_and_grads(x, eps, **kwargs)
        opt.step(model.params, grads)

    clock = time.process_time if args.threads == 1 else time.perf_counter

    def per_step(fn, n):
        fn()
        start = clock()
        for _ in range(n):
            fn()
        return (clock() - start) / n

    for _ in range(20):
        step()
    plain = min(per_step(step, args.steps // 3) for _ in range(3))

    profiler = cProfile.Profile(clock)
    profiler.enable()
    for _ in range(args.steps):
        step()
    profiler.disable()
    totals = {}
    for (filename, _, funcname), (_, _, tottime, _, _) in pstats.Stats(profiler).stats.items():
        label = group_of(filename, funcname)
        totals[label] = totals.get(label, 0.0) + tottime / args.steps
    profiled = sum(totals.values())

    rng = np.random.default_rng(0)
    minimal = step_gemms(spec, config.batch_size, config.n_samples)
    enc0 = next(g for g in minimal if g[0].endswith("forward"))
    extra = [("input-layer dx", enc0[1], enc0[3], enc0[2], "b")]     # dy (B, H) @ W.T (H, D)

    def products(gemms):
        ops = [_operands(m, k, n, t, dtype, rng) for _, m, k, n, t in gemms]

        def fn():
            for a, b, out in ops:
                np.matmul(a, b, out=out)
        return fn

    gemm_min = min(per_step(products(minimal), 100) for _ in range(3))
    gemm_extra = min(per_step(products(extra), 100) for _ in range(3))
    bufs = [np.zeros(p.size, dtype) for p in model.params.values()]
    one_pass = min(per_step(lambda: [np.multiply(b, 0.5, out=b) for b in bufs], 100) for _ in range(3))

    print(f"numpyvae {nv.__version__}{' with a Workspace' if kwargs else ''}: {args.config} ({spec.label}, batch {config.batch_size}), "
          f"{args.dtype}, {args.threads} thread(s)")
    what = "process CPU time" if args.threads == 1 else "wall time"
    print(f"all times are {what} (one thread: robust to other processes on a shared machine)")
    print(f"training step (no profiler, best of 3): {plain * 1e3:.3f} ms")
    print(f"under cProfile: {profiled * 1e3:.3f} ms per step, split as")
    for label, seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds * 1e3:8.3f} ms  {100 * seconds / profiled:5.1f} %  {label}")
    n_params = sum(p.size for p in model.params.values())
    print(f"matrix products alone, minimal backward ({len(minimal)} products): {gemm_min * 1e3:.3f} ms")
    import inspect

    from numpyvae.ops.linear import linear_backward
    skips = "need_dx" in inspect.signature(linear_backward).parameters
    print(f"  the input layer's dL/dx product ({'numpyvae skips it' if skips else 'numpyvae also forms it'}):"
          f" {gemm_extra * 1e3:.3f} ms")
    print(f"one in-place pass over all {n_params} parameters (x *= c): {one_pass * 1e3:.3f} ms; "
          f"Adam needs ~7 array passes at least")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
