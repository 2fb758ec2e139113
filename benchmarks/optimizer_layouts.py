"""Two ways of spending the optimizer's time and the second core that did not pay (docs/benchmarks.md).

1. **Blocks or one pass.** numpyvae's optimizers update the flat parameter vector in 256 KiB blocks
   (:func:`numpyvae.arrays.inplace.blocks`), so that the parameter, gradient, state and scratch
   pieces of one update stay in the L2 cache across the update's ten passes. The alternative is
   each pass over the whole vector (one block). Timed alone (``update``) and inside the training
   step (``step``), one thread, interleaved.
2. **Shards of the minibatch on threads.** At two cores, instead of OpenBLAS's two threads (whose
   idle worker busy-waits on the second core after each product), the minibatch is cut in two
   halves whose gradients are computed side by side on standard-library threads with BLAS on one
   thread, then summed with weights 1/2 and applied by the optimizer split over both threads
   (``opt.threads = 2``). This is written here, in the benchmark, not in the library: it did not
   pay where it was measured.

Every configuration runs in its own process with OPENBLAS_NUM_THREADS / OMP_NUM_THREADS set before
NumPy loads; ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` are removed from that process's
environment (this command only) so OpenBLAS picks its own kernels, which are printed. One-thread
runs are pinned to one core. Prints median wall ms (and process CPU ms) per call over interleaved
rounds.

Usage::

    python benchmarks/optimizer_layouts.py                          # MNIST model, batch 100
    python benchmarks/optimizer_layouts.py --dtype float64 --batch 10 --rounds 25
"""
import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
from isolated import kernel_note, measuring_env, run_worker  # noqa: E402

WHOLE = 1 << 40                     # a block size larger than any vector: one pass per operation


def shard_gradients(model, x, eps, workspaces):
    """The gradient of the mean loss of minibatch ``x`` (B, D) with noise ``eps`` (L, B, Z), as the
    weighted sum sum_k (B_k / B) g_k of the gradients of its ``len(workspaces)`` shards, computed
    side by side on threads (numpyvae.arrays.parallel), each with its own workspace. Returns the
    first shard's gradient dict, which holds the sum."""
    from numpyvae.arrays.inplace import joined
    from numpyvae.arrays.parallel import run as run_in_threads, split

    B = x.shape[0]
    shards = split(B, len(workspaces), align=1)
    grads = [None] * len(shards)

    def shard(k, rows):
        a, b = rows
        grads[k] = model.loss_and_grads(x[a:b], eps=eps[:, a:b], workspace=workspaces[k])[1]

    run_in_threads(shard, shards)
    flats = [joined([g[name] for name in model.params]) for g in grads]
    weights = [(b - a) / B for a, b in shards]

    def combine(j, piece):
        a, b = piece
        total = flats[0][a:b]
        total *= weights[0]
        for w, flat in zip(weights[1:], flats[1:]):
            part = flat[a:b]
            part *= w
            total += part

    run_in_threads(combine, split(flats[0].size, len(shards)))
    return grads[0]


def worker(cfg):
    sys.path.insert(0, str(HERE.parent))
    sys.path.insert(0, str(HERE))
    if cfg["threads"] == 1 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import numpy as np

    import numpyvae as nv
    from numpyvae.arrays import inplace
    from numpyvae.arrays.blas import openblas_corename
    from numpyvae.arrays.workspace import Workspace
    from timing import interleaved

    dtype = np.dtype(cfg["dtype"]).type
    rng = np.random.default_rng(0)
    X = nv.load_dataset("mnist", "train", dtype=dtype).x
    B = cfg["batch"]
    batches = [X[rng.integers(0, len(X), B)] for _ in range(20)]
    noise = [rng.standard_normal((1, B, 20)).astype(dtype) for _ in range(20)]

    def made(block_bytes=inplace.BLOCK_BYTES, opt_threads=1):
        model = nv.VAE(784, (500,), 20, dtype=dtype, rng=0)
        opt = nv.make_optimizer(cfg["optimizer"], lr=1e-3, weight_decay=1e-5)
        opt.threads = opt_threads
        return model, opt, block_bytes

    def with_blocks(block_bytes, fn):
        def call():
            saved = inplace.blocks.__defaults__
            inplace.blocks.__defaults__ = (block_bytes,)
            try:
                fn()
            finally:
                inplace.blocks.__defaults__ = saved
        return call

    def plain_step(model, opt, block_bytes):
        ws, i = Workspace(), [0]

        def step():
            k = i[0] % 20
            i[0] += 1
            _, grads = model.loss_and_grads(batches[k], eps=noise[k], workspace=ws)
            opt.step(model.params, grads)
        return with_blocks(block_bytes, step)

    def update_only(model, opt, block_bytes):
        _, grads = model.loss_and_grads(batches[0], eps=noise[0])
        grads = {name: g * 1e-3 for name, g in grads.items()}
        grads = dict(zip(grads, inplace.pack(grads)[1].values()))    # one flat vector, as on the fast path
        return with_blocks(block_bytes, lambda: opt.step(model.params, grads))

    def sharded_step(model, opt, block_bytes):
        """Two halves of the minibatch on two threads, BLAS on one thread each."""
        workspaces, i = [Workspace(), Workspace()], [0]

        def step():
            k = i[0] % 20
            i[0] += 1
            opt.step(model.params, shard_gradients(model, batches[k], noise[k], workspaces))
        return with_blocks(block_bytes, step)

    if cfg["threads"] == 1:
        candidates = {"update, 256 KiB blocks": update_only(*made()),
                      "update, one pass each": update_only(*made(WHOLE)),
                      "step, 256 KiB blocks": plain_step(*made()),
                      "step, one pass each": plain_step(*made(WHOLE))}
        timed = interleaved({k: (fn, lambda: None) for k, fn in candidates.items()},
                            rounds=cfg["rounds"], block_s=cfg["block_s"])
    else:
        # (BLAS threads, candidate): the count is set before each block, and each block starts
        # 0.15 s later, when OpenBLAS's idle workers have stopped spinning (2^28 cycles)
        candidates = {"step, OpenBLAS 2 threads": (2, plain_step(*made())),
                      "step, OpenBLAS 2 threads, update on 2": (2, plain_step(*made(opt_threads=2))),
                      "step, 2 shards on threads, BLAS 1 thread": (1, sharded_step(*made(opt_threads=2))),
                      "step, BLAS 1 thread": (1, plain_step(*made()))}
        timed = _interleaved_with_blas_threads(candidates, cfg["rounds"], cfg["block_s"])
    passes = _pass_costs(np, dtype, sum(p.size for p in made()[0].params.values())) if cfg["threads"] == 1 else {}
    return {"kernels": openblas_corename(), "numpy": np.__version__, "passes": passes,
            "results": {k: {"median_ms": v["median"] * 1e3, "cpu_median_ms": v["cpu_median"] * 1e3}
                        for k, v in timed.items()}}


ADAM_PASSES = (("m_sum *= b1", "scale"), ("m_sum += g", "add"), ("square(g)", "square"),
               ("v_sum *= b2", "scale"), ("v_sum += g^2", "add"), ("sqrt(v_sum)", "sqrt"),
               ("+= e_t", "add scalar"), ("m_sum / ...", "divide"), ("*= a_t", "scale"),
               ("theta -= ...", "add"))
"""Adam's ten passes in numpyvae.optim (Adam._update), each named by the ufunc it costs."""


def _pass_costs(np, dtype, n_params):
    """Microseconds per 64K-element block of each kind of pass (in cache, best of 5), and Adam's ten
    passes over ``n_params`` at those speeds: the update's cost in NumPy with no call overhead."""
    import timeit

    x = np.random.default_rng(0).random(65536).astype(dtype) + 0.5
    y, out = x.copy(), np.empty_like(x)
    kinds = {"scale": lambda: np.multiply(x, 0.9, out=out), "add": lambda: np.add(x, y, out=out),
             "square": lambda: np.square(x, out=out), "sqrt": lambda: np.sqrt(x, out=out),
             "divide": lambda: np.divide(x, y, out=out), "add scalar": lambda: np.add(x, 1e-8, out=out)}
    us = {k: min(timeit.repeat(f, number=200, repeat=5)) / 200 * 1e6 for k, f in kinds.items()}
    adam_ms = sum(us[kind] for _, kind in ADAM_PASSES) * n_params / 65536 / 1e3
    return {"us_per_64k": us, "adam_ms": adam_ms, "n_params": n_params}


def _interleaved_with_blas_threads(candidates, rounds, block_s):
    """Rounds of one block per candidate, the order rotating; each block runs with its number of
    NumPy's OpenBLAS threads, after a 0.15 s pause. Returns label -> {"median", "cpu_median"}."""
    import ctypes
    import statistics
    import time

    from numpyvae.arrays.blas import _openblas_function

    setter = _openblas_function(("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                                 "openblas_set_num_threads64_", "openblas_set_num_threads"), None)
    calls = {}
    for label, (threads, fn) in candidates.items():
        setter(ctypes.c_int(threads))
        for _ in range(5):
            fn()
        t = time.perf_counter()
        for _ in range(5):
            fn()
        calls[label] = max(1, int(block_s / ((time.perf_counter() - t) / 5)))
    wall, cpu = {k: [] for k in candidates}, {k: [] for k in candidates}
    labels = list(candidates)
    for r in range(rounds):
        for label in labels[r % len(labels):] + labels[:r % len(labels)]:
            threads, fn = candidates[label]
            setter(ctypes.c_int(threads))
            time.sleep(0.15)
            w0, c0 = time.perf_counter(), time.process_time()
            for _ in range(calls[label]):
                fn()
            wall[label].append((time.perf_counter() - w0) / calls[label])
            cpu[label].append((time.process_time() - c0) / calls[label])
    return {k: {"median": statistics.median(wall[k]), "cpu_median": statistics.median(cpu[k])} for k in labels}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--optimizer", default="adam", choices=["adam", "adagrad"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--block-s", type=float, default=0.1)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    print(f"# optimizer_layouts.py --dtype {args.dtype} --batch {args.batch} --optimizer {args.optimizer} "
          f"--rounds {args.rounds}")
    print("MNIST model 784-500-20, median wall ms per call (process CPU ms) over interleaved rounds")
    for threads in args.threads:
        env, unset = measuring_env(threads)
        cfg = {"dtype": args.dtype, "batch": args.batch, "optimizer": args.optimizer, "threads": threads,
               "rounds": args.rounds, "block_s": args.block_s}
        out = run_worker(__file__, cfg, env)
        if out is None:
            return 1
        print(f"\n{threads} thread(s); OpenBLAS kernels {out['kernels']}, numpy {out['numpy']}; "
              + kernel_note(unset))
        for label, r in out["results"].items():
            print(f"  {label:<44} {r['median_ms']:8.3f} ({r['cpu_median_ms']:.3f})")
        if out["passes"]:
            us = out["passes"]["us_per_64k"]
            print("  one pass over 64K elements in cache, us: " + ", ".join(f"{k} {v:.1f}" for k, v in us.items()))
            print(f"  Adam's ten passes at those speeds over {out['passes']['n_params']:,} parameters, "
                  f"no call overhead: {out['passes']['adam_ms']:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
