"""What the marginal-likelihood estimators cost: the appendix-D estimator's HMC chains by chain batch
and by what the backward pass computes, and importance sampling by chunk size.

The estimator (:func:`numpyvae.evaluation.marginal_likelihood.hmc_marginal_likelihood`) runs the
chains of ``batch_size`` datapoints together, and the multi-start search that begins each burn-in
runs 16 chains per datapoint, so at ``batch_size=1000`` one transition moves 16,000 chains. Each
transition is 11 evaluations of U(z) = -log p(x, z) and dU/dz (one at the start, ten leapfrog steps).

Timed here, on the Figure 3 model (MNIST, N_z = 3, 100 hidden units, Bernoulli decoder; the weights
of a fresh model, which do not change the cost), one thread, interleaved:

1. **Parameter gradients or not.** dU/dz needs the decoder's backward pass down to z, but not the
   gradients of its weights (x^T dy per layer, as costly as the forward product). The library asks
   for dz alone (``log_joint(..., need_params=False)``); the other candidate computes and drops
   the weight gradients, as the estimator did before.
   **U at the end of the trajectory only.** The accept/reject step needs U at the trajectory's two
   ends; the nine leapfrog steps between need dU/dz alone, which on a Bernoulli decoder is
   x - sigmoid(eta) without the softplus pass of the value (``need_value=False``). The candidate
   "U at every step" forms it at every step, as the estimator did before; both give the same numbers.
2. **Chains per call.** The same work in calls of 16,000, 4,000, 1,600, 1,000, 400 and 100 chains:
   the decoder's (chains, 784) arrays are 50 MB at 16,000 chains in float32 and leave the cache.

Reported: ms per 1,000 chain-transitions (median over interleaved rounds; process CPU ms beside).
Then the whole estimator on 200 test points (short settings: 40 burn-in transitions, 10 + 10
samples) at ``batch_size`` 1000 and 100, CPU seconds, with the estimates (which differ only by the
random numbers the batches draw).

3. **Importance-sampling chunks.** :func:`numpyvae.evaluation.importance.importance_sampled_log_px`
   draws the K samples of a batch of 100 datapoints in chunks; each chunk's decoder outputs are a
   (chunk x 100, 784) array. Timed: K = 2000 on 100 test points with chunks of 510 samples (the
   earlier default, 4e7 outputs / (100 x 784)), 100, 25, 12 (the default now, 1e6 outputs), 4 and 2,
   CPU seconds, two rounds alternating. The estimates are the same for every chunk size: the noise
   is drawn sample-major, so the chunks together draw the same numbers.

Every run is a process of its own with OPENBLAS_NUM_THREADS=1 set before NumPy loads;
``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` are removed from that process's environment (this
command only) so OpenBLAS picks its own kernels, which are printed.

Usage::

    python benchmarks/estimator_layouts.py
    python benchmarks/estimator_layouts.py --dtype float64 --rounds 9
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
from isolated import kernel_note, measuring_env, run_worker  # noqa: E402

CHAIN_BATCHES = (16000, 4000, 1600, 1000, 400, 100)
IS_CHUNKS = (510, 100, 25, 12, 4, 2)


def worker(cfg):
    sys.path.insert(0, str(HERE.parent))
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import numpy as np
    import numpyvae as nv
    from numpyvae.arrays.blas import openblas_corename
    from numpyvae.evaluation import hmc
    from numpyvae.evaluation.marginal_likelihood import hmc_marginal_likelihood
    from numpyvae.models.log_joint import log_joint
    from timing import interleaved

    dtype = np.dtype(cfg["dtype"]).type
    rng = np.random.default_rng(0)
    try:
        images, source = nv.load_dataset("mnist", "test", dtype=np.float64, download=False).x, "MNIST test images"
    except Exception as err:                                          # files absent: synthetic, said so
        images, source = (rng.random((2000, 784)) < 0.13).astype(np.float64), f"synthetic ({type(err).__name__})"
    model = nv.VAE(784, (100,), 3, dtype=dtype, rng=0, init="glorot")
    potential_without = hmc.potential_and_grad

    def potential_with_params(model, x, z, need_value=True):         # the weight gradients computed, dropped
        ones = model.backend.xp.ones(x.shape[0], dtype=model.dtype)
        logp, _, dz = log_joint(model, x, z, ones, need_params=True)
        return -logp, -dz

    def potential_every_step(model, x, z, need_value=True):          # U formed at every leapfrog step too
        return potential_without(model, x, z)

    def transition(n_chains, potential):
        x = model._data(images[rng.integers(0, len(images), n_chains)])
        z = rng.standard_normal((n_chains, 3)).astype(dtype)
        step = np.full(n_chains, 0.1)
        per = max(1, 16000 // n_chains)                               # 16,000 chain-transitions per call
        seed = np.random.default_rng(1)

        def call():
            hmc.potential_and_grad = potential
            try:
                for _ in range(per):
                    hmc.hmc_transition(model, x, z, step, seed)
            finally:
                hmc.potential_and_grad = potential_without
        return call

    candidates = {}
    for n in CHAIN_BATCHES:
        candidates[f"{n:>6} chains, dz alone"] = (transition(n, potential_without), lambda: None)
    for n in (16000, 100):
        candidates[f"{n:>6} chains, with weight gradients"] = (transition(n, potential_with_params), lambda: None)
    for n in (1000, 100):
        candidates[f"{n:>6} chains, dz alone, U at every step"] = (transition(n, potential_every_step), lambda: None)
    timed = interleaved(candidates, rounds=cfg["rounds"], block_s=cfg["block_s"])
    results = {k: {"ms_per_1000": v["median"] * 1e3 / 16, "cpu_ms_per_1000": v["cpu_median"] * 1e3 / 16}
               for k, v in timed.items()}

    whole = {}
    x = images[:200]
    for bs in (1000, 100, 1000, 100):                                 # twice each, alternating
        t = time.process_time()
        lp = hmc_marginal_likelihood(model, x, rng=0, n_samples=10, n_burnin=40, batch_size=bs)
        whole.setdefault(bs, []).append((time.process_time() - t, float(np.mean(lp))))
    from numpyvae.evaluation.importance import importance_sampled_log_px
    chunks = {}
    for _ in range(2):
        for cs in IS_CHUNKS:
            t = time.process_time()
            lp, _ = importance_sampled_log_px(model, images[:100], n_samples=2000, rng=0, chunk_size=cs)
            chunks.setdefault(cs, []).append((time.process_time() - t, float(np.mean(lp))))
    return {"kernels": openblas_corename(), "numpy": np.__version__, "source": source, "results": results,
            "whole": {str(k): v for k, v in whole.items()}, "chunks": {str(k): v for k, v in chunks.items()}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--block-s", type=float, default=0.5)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    env, unset = measuring_env(1)
    out = run_worker(__file__, {"dtype": args.dtype, "rounds": args.rounds, "block_s": args.block_s}, env)
    if out is None:
        return 1
    print(f"# estimator_layouts.py --dtype {args.dtype} --rounds {args.rounds}")
    print(f"Figure 3 model 784-100-3 Bernoulli, {args.dtype}, one thread; data: {out['source']}; OpenBLAS kernels "
          f"{out['kernels']}, numpy {out['numpy']}; "
          + kernel_note(unset))
    print("\n| chains per call, backward pass | ms per 1,000 chain-transitions | process CPU ms |")
    print("|---|---|---|")
    for label, r in out["results"].items():
        print(f"| {label.strip()} | {r['ms_per_1000']:.2f} | {r['cpu_ms_per_1000']:.2f} |")
    print("\nWhole estimator, 200 test points, 40 burn-in transitions, 10 + 10 samples (CPU s, estimate):")
    for bs, runs in out["whole"].items():
        print(f"  batch_size {bs:>5}: " + ", ".join(f"{s:.1f} s ({m:.2f})" for s, m in runs))
    print("\nImportance sampling, K = 2000 on 100 test points, by samples per chunk (CPU s, estimate):")
    for cs, runs in out["chunks"].items():
        print(f"  chunk {cs:>4}: " + ", ".join(f"{s:.2f} s ({m:.4f})" for s, m in runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
