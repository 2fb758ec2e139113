"""Where the time of one numpyvae training step goes: matrix products, elementwise work, Adam.

Times, on Kingma & Welling's MNIST model (784-500-20, tanh, Bernoulli decoder, analytic KL,
batch 100, L = 1) by default, each of these in interleaved rounds (every candidate runs one block
per round, the order rotating, so machine noise hits them alike):

- ``step``            ``model.loss_and_grads(x, eps, workspace=ws)`` then ``Adam.step``
- ``step, no ws``     the same without a workspace (every array allocated afresh)
- ``gradient``        ``model.loss_and_grads(x, eps, workspace=ws)`` alone
- ``adam``            ``Adam.step`` alone
- ``gemm floor``      the step's 14 matrix products alone, on buffers of the same shapes
- ``baseline step``   with ``--baseline DIR``: the step of another checkout's numpyvae (its workspace
                      path where it has one)

``--stages`` adds a breakdown of the workspace step by stage (encoder forward, decoder backward,
Adam, ...), timed by wrapping the model's parts with a clock; each stage's GEMMs are inside it, and
``rest`` is validation, bookkeeping and the small latent-sized ops.

and prints the median and the minimum wall-clock ms per call, the median process CPU ms per call
(with one thread, the figure least disturbed by other programs on a busy machine; with two it adds
up both threads), plus ``gradient - gemm floor`` (elementwise work and Python overhead). Every (dtype, threads) pair runs in its own process with
``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` set before NumPy is imported; one-thread runs are
pinned to one core.

Usage::

    python benchmarks/step_profile.py                       # float32 and float64, 1 and 2 threads
    python benchmarks/step_profile.py --dtypes float32 --threads 1 --rounds 15
    python benchmarks/step_profile.py --baseline ../main     # side by side with another checkout
    python benchmarks/step_profile.py --detail               # cProfile of the step, by function
    python benchmarks/step_profile.py --coretype SkylakeX    # force OpenBLAS's AVX-512 kernels

OpenBLAS chooses its kernels from the CPU when NumPy loads it; the choice sets the GEMM floor, so it
is printed with each block. (A machine whose environment sets ``OPENBLAS_CORETYPE=Haswell`` runs
the AVX2 kernels even on an AVX-512 CPU: on AMD Zen 5 at about half the speed of the "SkylakeX"
kernels that OpenBLAS 0.3.31 picks there by itself.)
"""
import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "benchmarks") not in sys.path:
    sys.path.insert(0, str(REPO / "benchmarks"))
from isolated import kernel_note, measuring_env, run_worker  # noqa: E402
# the kernel overrides are removed from the measuring processes unless --coretype is given: the
# step is judged under OpenBLAS's own kernel choice (tests and CI keep the environment as it is)


# ---------------------------------------------------------------------------------------- worker
def _import_numpyvae(root, alias):
    """Import the numpyvae package found in ``root`` under the module name ``alias``."""
    import importlib.util

    pkg = Path(root).resolve() / "numpyvae"
    spec = importlib.util.spec_from_file_location(alias, pkg / "__init__.py",
                                                  submodule_search_locations=[str(pkg)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    return module


def _gemm_floor(np, sizes, batch, n_samples, dtype, rng, heads=1):
    """The matrix products of one step (forward, dW, and dx except for the data layer); ``heads``
    output layers (2 for a Gaussian decoder with a learned variance: mean and log-variance)."""
    D, hidden, Z = sizes
    enc = [D, *hidden]
    layers = [(a, b, "enc", i > 0) for i, (a, b) in enumerate(zip(enc[:-1], enc[1:]))]
    layers += [(enc[-1], Z, "enc", True)] * 2                       # mu and logvar heads
    dec = [Z, *hidden[::-1]]
    layers += [(a, b, "dec", True) for a, b in zip(dec[:-1], dec[1:])]
    layers += [(dec[-1], D, "dec", True)] * heads
    ops = []
    for fan_in, fan_out, part, needs_dx in layers:
        M = batch if part == "enc" else batch * n_samples
        x = rng.standard_normal((M, fan_in)).astype(dtype)
        W = rng.standard_normal((fan_in, fan_out)).astype(dtype)
        dy = rng.standard_normal((M, fan_out)).astype(dtype)
        ops.append((x, W, np.empty((M, fan_out), dtype)))            # y = x W
        ops.append((x.T, dy, np.empty((fan_in, fan_out), dtype)))    # dW = x^T dy
        if needs_dx:
            ops.append((dy, W.T, np.empty((M, fan_in), dtype)))      # dx = dy W^T

    def run():
        for a, b, out in ops:
            np.matmul(a, b, out=out)

    flops = sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b, _ in ops)
    return run, len(ops), flops


def _interleaved(candidates, rounds, block_s):
    import statistics
    import time

    calls = {}
    for label, fn in candidates.items():
        n, spent = 0, 0.0
        while n < 3 or spent < 0.3:
            t0 = time.perf_counter()
            fn()
            spent += time.perf_counter() - t0
            n += 1
        calls[label] = max(1, int(block_s / (spent / n)))
    labels = list(candidates)
    per_call = {label: [] for label in labels}
    cpu_per_call = {label: [] for label in labels}
    for r in range(rounds):
        shift = r % len(labels)
        for label in labels[shift:] + labels[:shift]:
            fn, n = candidates[label], calls[label]
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(n):
                fn()
            per_call[label].append((time.perf_counter() - t0) / n)
            cpu_per_call[label].append((time.process_time() - c0) / n)
    return {label: {"median_ms": 1e3 * statistics.median(t), "min_ms": 1e3 * min(t),
                    "cpu_median_ms": 1e3 * statistics.median(cpu_per_call[label]), "calls": calls[label]}
            for label, t in per_call.items()}


def worker(cfg):
    if cfg["threads"] == 1 and cfg["pin"] and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    import inspect

    import numpy as np

    sys.path.insert(0, str(REPO))
    import numpyvae as nv

    dtype = np.dtype(cfg["dtype"])
    threads = cfg["threads"]
    D, hidden, Z, B, L = cfg["input_dim"], tuple(cfg["hidden"]), cfg["latent"], cfg["batch"], cfg["samples"]
    rng = np.random.default_rng(0)
    x, data_source = _batch(np, nv, cfg, rng, dtype)
    eps = rng.standard_normal((L, B, Z)).astype(dtype)

    def make_step(lib, use_ws, optimizer="adam", update_threads=None, skip_zero_columns=True):
        model = lib.VAE(D, hidden, Z, likelihood=cfg.get("likelihood", "bernoulli"), dtype=dtype, rng=0)
        if optimizer == "adagrad":                                    # the reproduction's: weight decay 1/N
            opt = lib.Adagrad(lr=0.02, weight_decay=2e-5)
        else:
            opt = lib.Adam(lr=1e-3)
        if update_threads is not None:
            opt.threads = update_threads
        if not skip_zero_columns:
            model.encoder.trunk.layers[0].skip_zero_columns = False
        if use_ws:
            ws = lib.Workspace()

            def step():
                _, grads = model.loss_and_grads(x, eps, workspace=ws)
                opt.step(model.params, grads)

            return step, model, opt, ws

        def step():
            _, grads = model.loss_and_grads(x, eps)
            opt.step(model.params, grads)

        return step, model, opt, None

    has_ws = hasattr(nv, "Workspace") and "workspace" in inspect.signature(nv.VAE.loss_and_grads).parameters
    step, model, opt, ws = make_step(nv, has_ws)
    candidates = {"step": step}
    if has_ws:
        candidates["step, no ws"] = make_step(nv, False)[0]
        candidates["step, adagrad"] = make_step(nv, True, "adagrad")[0]
        if threads > 1:
            candidates["step, update 1 thr"] = make_step(nv, True, update_threads=1)[0]
        candidates["gradient"] = lambda: model.loss_and_grads(x, eps, workspace=ws)
        dense_model, dense_ws = make_step(nv, True, skip_zero_columns=False)[1::2]
        candidates["gradient, dense x"] = lambda: dense_model.loss_and_grads(x, eps, workspace=dense_ws)
        _, grads = model.loss_and_grads(x, eps, workspace=ws)
        grads = {k: g.copy() for k, g in grads.items()}
    else:
        candidates["gradient"] = lambda: model.loss_and_grads(x, eps)
        _, grads = model.loss_and_grads(x, eps)
    try:                                                              # as the step has them: one vector each
        from numpyvae.arrays.inplace import pack
        _, adam_params = pack({k: p.copy() for k, p in model.params.items()})
        _, grads = pack(grads)
    except ImportError:
        adam_params = {k: p.copy() for k, p in model.params.items()}
    adam = nv.Adam(lr=1e-3)
    candidates["adam"] = lambda: adam.step(adam_params, grads)
    adagrad = nv.Adagrad(lr=0.02, weight_decay=2e-5)
    candidates["adagrad"] = lambda: adagrad.step(adam_params, grads)
    if threads > 1:
        adam_1 = nv.Adam(lr=1e-3)
        adam_1.threads = 1
        candidates["adam, 1 thread"] = lambda: adam_1.step(adam_params, grads)
    flat = np.empty(sum(p.size for p in model.params.values()), dtype)
    other = np.ones_like(flat)
    candidates["stream pass"] = lambda: np.add(flat, other, out=flat)   # 3 streams; Adam's floor is 7
    heads = 2 if cfg.get("likelihood", "bernoulli") in ("gaussian", "gaussian_sigmoid") else 1
    floor, n_gemms, flops = _gemm_floor(np, (D, hidden, Z), B, L, dtype, rng, heads)
    candidates["gemm floor"] = floor
    if cfg.get("baseline"):
        base = _import_numpyvae(cfg["baseline"], "numpyvae_baseline")
        base_ws = hasattr(base, "Workspace") and "workspace" in inspect.signature(base.VAE.loss_and_grads).parameters
        candidates["baseline step"] = make_step(base, base_ws)[0]    # its workspace path where it has one

    stages = _stage_times(nv, make_step(nv, True), cfg["stage_steps"]) if cfg["stages"] else None
    if cfg["detail"]:
        import cProfile
        import io
        import pstats

        for _ in range(20):
            step()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(200):
            step()
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
        detail = out.getvalue()
    else:
        detail = None
    results = _interleaved(candidates, cfg["rounds"], cfg["block_s"])
    return {"results": results, "n_gemms": n_gemms, "gflop": flops / 1e9, "detail": detail,
            "stages": stages, "numpy": np.__version__, "kernels": _openblas_kernels(np),
            "data": data_source, "unset": cfg.get("unset", {})}


def _batch(np, nv, cfg, rng, dtype):
    """The minibatch: MNIST (784 pixels) or Frey Face (560) training images, grey values in [0, 1] as
    the reproduction trains, when the files are found; else binary pixels with MNIST's share lit (13 %)."""
    B, D = cfg["batch"], cfg["input_dim"]
    name = {784: "mnist", 560: "frey"}.get(D)
    if name is not None:
        try:
            images = nv.load_dataset(name, dtype=np.float64, download=False).x
        except Exception:
            pass
        else:
            x = images[rng.choice(len(images), B, replace=B > len(images))].astype(dtype)
            return x, f"{name} training images, {int(np.count_nonzero(x.any(axis=0)))} of {D} columns used"
    x = (rng.uniform(size=(B, D)) < 0.13).astype(dtype)
    return x, f"synthetic binary pixels (13 % on), {int(np.count_nonzero(x.any(axis=0)))} of {D} columns used"


def _openblas_kernels(np):
    """The kernel family NumPy's OpenBLAS chose (e.g. 'Haswell'), or '?' when it cannot be asked."""
    from numpyvae.arrays.blas import openblas_corename

    return openblas_corename() or "?"


def _stage_times(nv, made, n_steps):
    """Per-stage ms of the workspace step (median and minimum over steps), by wrapping its parts."""
    import statistics
    import time

    import numpyvae.models.vae as vae_module

    step, model, opt, _ = made
    spent = {}
    optimizer_label = f"optimizer ({type(opt).__name__})"

    def timed(label, fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - t0
        return wrapper

    parts = [(model.encoder, "forward", "encoder forward"), (model.encoder, "backward", "encoder backward"),
             (model.decoder, "forward", "decoder forward"), (model.decoder, "backward", "decoder backward"),
             (model.decoder, "log_prob_forward", "log p(x|z) forward"),
             (model.decoder, "log_prob_backward", "log p(x|z) backward"), (opt, "step", optimizer_label)]
    for obj, attr, label in parts:
        setattr(obj, attr, timed(label, getattr(obj, attr)))
    originals = {}
    for name in ("reparameterize_forward", "reparameterize_backward", "kl_standard_normal_forward",
                 "kl_standard_normal_backward"):
        originals[name] = getattr(vae_module, name)
        setattr(vae_module, name, timed("latent ops (reparam, KL)", originals[name]))
    per_step = {}
    try:
        for i in range(n_steps + 20):
            spent.clear()
            t0 = time.perf_counter()
            step()
            total = time.perf_counter() - t0
            if i >= 20:                                               # warm-up steps are not counted
                for label, t in spent.items():
                    per_step.setdefault(label, []).append(t)
                per_step.setdefault("rest", []).append(total - sum(spent.values()))
                per_step.setdefault("step", []).append(total)
    finally:
        for name, fn in originals.items():
            setattr(vae_module, name, fn)
        for obj, attr, _ in parts:
            delattr(obj, attr)                                        # back to the class's method
    return {label: {"median_ms": 1e3 * statistics.median(t), "min_ms": 1e3 * min(t)} for label, t in per_step.items()}


# ---------------------------------------------------------------------------------------- driver
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    parser.add_argument("--block-s", type=float, default=0.25, help="seconds per block (default 0.25)")
    parser.add_argument("--input-dim", type=int, default=784)
    parser.add_argument("--hidden", type=int, nargs="*", default=[500])
    parser.add_argument("--latent", type=int, default=20)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--samples", type=int, default=1, help="L, noise samples per datapoint")
    parser.add_argument("--likelihood", default="bernoulli",
                        help="the decoder (gaussian_sigmoid with --input-dim 560 --hidden 200: K&W's Frey model)")
    parser.add_argument("--baseline", help="another checkout (its root folder) to time side by side")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin 1-thread runs to a core")
    parser.add_argument("--coretype", help="set OPENBLAS_CORETYPE (e.g. SkylakeX, Haswell) for the runs")
    parser.add_argument("--detail", action="store_true", help="also print a cProfile of the step")
    parser.add_argument("--stages", action="store_true", help="also time the step's stages")
    parser.add_argument("--stage-steps", type=int, default=300, help="steps timed for --stages (default 300)")
    parser.add_argument("--json", help="write all results to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0

    rows = []
    for dtype in args.dtypes:
        for threads in args.threads:
            cfg = {"dtype": dtype, "threads": threads, "rounds": args.rounds, "block_s": args.block_s,
                   "input_dim": args.input_dim, "hidden": args.hidden, "latent": args.latent,
                   "batch": args.batch, "samples": args.samples, "likelihood": args.likelihood,
                   "pin": args.pin, "detail": args.detail,
                   "stages": args.stages, "stage_steps": args.stage_steps,
                   "baseline": str(Path(args.baseline).resolve()) if args.baseline else None}
            env, unset = measuring_env(threads, args.coretype)   # else OpenBLAS's own kernel choice
            cfg["unset"] = unset
            out = run_worker(__file__, cfg, env)
            if out is None:
                return 1
            rows.append({"dtype": dtype, "threads": threads, **out})
            _print_block(dtype, threads, out)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


def _print_block(dtype, threads, out):
    res = out["results"]
    print(f"\n{dtype}, {threads} thread{'s' if threads > 1 else ''}  "
          f"({out['n_gemms']} GEMMs, {out['gflop']:.2f} GFLOP per step; numpy {out['numpy']}, "
          f"OpenBLAS kernels {out['kernels']})")
    unset = out.get("unset") or {}
    print(f"  data: {out.get('data', '?')}; "
          + kernel_note(unset))
    print(f"  {'':<16} {'median ms':>10} {'min ms':>8} {'CPU ms':>8}")
    for label, r in res.items():
        print(f"  {label:<16} {r['median_ms']:>10.3f} {r['min_ms']:>8.3f} {r['cpu_median_ms']:>8.3f}")
    g, f = res["gradient"], res["gemm floor"]
    print(f"  {'gradient - gemm':<16} {g['median_ms'] - f['median_ms']:>10.3f} {g['min_ms'] - f['min_ms']:>8.3f} "
          f"{g['cpu_median_ms'] - f['cpu_median_ms']:>8.3f}   (elementwise work and Python overhead)")
    s = res["step"]
    print(f"  step / gemm floor: {s['median_ms'] / f['median_ms']:.2f} (medians), "
          f"{s['min_ms'] / f['min_ms']:.2f} (minima)")
    if "stream pass" in res:
        stream = res["stream pass"]["median_ms"] * 7 / 3
        print(f"  step / (gemm floor + Adam stream floor {stream:.3f}): "
              f"{s['median_ms'] / (f['median_ms'] + stream):.2f} (medians)")
    if out.get("stages"):
        print(f"  stages of the workspace step   {'median ms':>10} {'min ms':>8}")
        for label, r in out["stages"].items():
            print(f"    {label:<28} {r['median_ms']:>10.3f} {r['min_ms']:>8.3f}")
    if out.get("detail"):
        print(out["detail"])


if __name__ == "__main__":
    sys.exit(main())
