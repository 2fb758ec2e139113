"""Monte Carlo EM on K&W's Figure 3 model, instrumented: what the chains and the step sizes do, and
what the marginal-likelihood estimator sees. Findings and commands: docs/reproduction/mcem.md.

MNIST (the reproduction's data and model: 784-100-3, tanh, Bernoulli, N(0, 0.01^2) init), the first
``--n-train`` training points, minibatches of 100, Adagrad with weight decay 1/N, the algorithm
``numpyvae.algorithms.MonteCarloEM`` with the options given by ``--opt key=value`` (e.g.
``--opt n_transitions=3``). The loop is the Trainer's (a fresh permutation every epoch, the last
partial minibatch dropped) written out, so that every step can be looked at. It records

- every ``--log-every`` steps: the mean HMC acceptance probability, the quantiles of the per-datapoint
  step sizes (all chains), the mean distance a chain moves per visit |z_new - z_old|, the fraction of
  chains that moved, the M-step loss -(1/B) sum_b log p(x_b, z_b) before the first and after the
  last weight update, and the median |z| of the chains;
- at each ``--eval-at`` sample count, on the first ``--ml-points`` training and test points: log p(x)
  by the appendix-D estimator (``numpyvae.evaluation.marginal_likelihood``, ``--hmc-burnin``
  burn-in transitions, ``--hmc-samples`` + ``--hmc-samples`` samples), with the burn-in's multi-start
  search and without it (``n_starts=1``: the chains start at the encoder mean, as before the search
  existed); and the posterior around each persistent chain under the current theta (fresh HMC from
  the chain): its smallest and largest standard deviation, the chain's squared Mahalanobis distance
  from it (median 2.37 for a draw in 3-D), its mean log p(x, z) against the chain's, and the chain's
  step size over the smallest standard deviation.

``--state run.npz`` keeps the run in the library's checkpoint format (resumed if it exists, written at
the end; ``--max-minutes`` stops early), so that long runs go in short pieces.

``--probe --state run.npz`` only scores a saved state: the appendix-D estimator with each search setting
of ``--search K:T,...`` (K starts, T search transitions; ``1:1`` = no search) and, with ``--starts K``
> 1, a reference that does not lose modes: importance sampling from a mixture of Gaussians fitted to
K chains per datapoint (the persistent chain or the encoder mean, and K - 1 prior draws).

One BLAS thread. Examples:

    python benchmarks/mcem_diagnostics.py --budget 3e6 --eval-at 1e5,3e5,6e5,1e6,2e6,3e6 --lr 0.1 \\
        --max-minutes 9 --state /tmp/mcem/base.npz --out /tmp/mcem/base.json        # repeat to go on
    python benchmarks/mcem_diagnostics.py --probe --state /tmp/mcem/base.npz --ml-points 100 \\
        --hmc-burnin 200 --hmc-samples 50 --starts 10 --out /tmp/mcem/probe.json
"""
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")                                  # before NumPy loads

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from numpyvae.algorithms import MonteCarloEM  # noqa: E402
from numpyvae.evaluation import marginal_likelihood as ml  # noqa: E402
from numpyvae.evaluation.hmc import HMCSampler  # noqa: E402
from numpyvae.evaluation.marginal_likelihood import (fit_gaussian, gaussian_logpdf,  # noqa: E402
                                                     hmc_marginal_likelihood)
from numpyvae.ops.stable import logmeanexp  # noqa: E402
from numpyvae.models.log_joint import log_joint  # noqa: E402
from numpyvae.optim import Adagrad  # noqa: E402
from numpyvae.reproduce import runs  # noqa: E402
from numpyvae.training.checkpoint import (load_checkpoint, make_checkpoint, rng_from_state, rng_state,  # noqa: E402
                                          write_checkpoint)


def _value(text):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def multistart_log_px(model, x, z_first, rng, n_starts=10, n_burnin=200, n_samples=50, n_is=2000, inflate=1.5):
    r"""log p(x) by importance sampling from a mixture of Gaussians fitted to HMC chains from several starts.

    For each datapoint, ``n_starts`` chains (the first from ``z_first`` (B, Z), the others from prior draws)
    run ``n_burnin`` adapted HMC transitions, then give ``n_samples`` samples each; a Gaussian is fitted
    to each chain (covariance times ``inflate``) and

        log p(x) ~= log (1/S) sum_s p(x, z_s) / q(z_s),   z_s ~ q = (1/K) sum_k N(m_k, inflate S_k),

    whose expectation in p is exact for any q, and which (unlike one chain's appendix-D estimate) does
    not lose the posterior mass of the modes that one chain never visits. Also returns, per start, the
    appendix-D estimate from that chain alone (B, K) and the mean log p(x, z) of its samples.
    Shapes: x (B, D) -> (B,), (B, K), (B, K).
    """
    xp, to_np = model.backend.xp, model.backend.to_numpy
    B, Z, K = x.shape[0], z_first.shape[1], int(n_starts)
    xk = xp.tile(x, (K, 1))                                           # (K*B, D), start-major
    z0 = np.concatenate([to_np(z_first)[None], rng.standard_normal((K - 1, B, Z))]).reshape(K * B, Z)
    sampler = HMCSampler(model, n_starts=1)                          # the starts are the ones given here
    z, step = sampler.run(xk, model.backend.asarray(z0, model.dtype), np.full(K * B, 0.05), n_burnin, rng)
    fit, z, step = sampler.sample(xk, z, step, n_samples, rng)
    ev, z, step = sampler.sample(xk, z, step, n_samples, rng)
    fit, ev = to_np(fit).astype(np.float64), to_np(ev).astype(np.float64)            # (L, K*B, Z)
    mean, chol = fit_gaussian(fit)                                    # (K*B, Z), (K*B, Z, Z)

    def logp_of(zs):                                                  # zs (L, K*B, Z) -> (L, K*B)
        L = zs.shape[0]
        flat = model.backend.asarray(zs.reshape(-1, Z), model.dtype)
        return to_np(log_joint(model, xp.tile(xk, (L, 1)), flat)).astype(np.float64).reshape(L, -1)

    lp_ev = logp_of(ev)
    per_start = -logmeanexp(gaussian_logpdf(ev, mean, chol) - lp_ev, axis=0).reshape(K, B).T       # (B, K)
    per_start_logp = lp_ev.mean(0).reshape(K, B).T
    chol_q = np.sqrt(inflate) * chol
    comp = rng.integers(K, size=(n_is, B))                            # (S, B) which component
    idx = comp * B + np.arange(B)[None]                               # rows of (K*B)
    zs = mean[idx] + np.einsum("sbij,sbj->sbi", chol_q[idx], rng.standard_normal((n_is, B, Z)))   # (S, B, Z)
    logq = np.stack([gaussian_logpdf(zs, mean[k * B:(k + 1) * B], chol_q[k * B:(k + 1) * B]) for k in range(K)])
    logq = logmeanexp(logq, axis=0)                                   # (S, B)  mixture density
    flat = model.backend.asarray(zs.reshape(-1, Z), model.dtype)
    lp = to_np(log_joint(model, xp.tile(x, (n_is, 1)), flat)).astype(np.float64).reshape(n_is, B)
    return logmeanexp(lp - logq, axis=0), per_start, per_start_logp


def appendix_d(model, x, rng, n_samples, n_burnin, n_starts=None, n_search=None):
    """``hmc_marginal_likelihood`` with its sampler's search set (None: the library's defaults; n_starts=1:
    no search, the chains start at the encoder mean as before the search existed). Returns (B,), details."""
    kw = {k: v for k, v in (("n_starts", n_starts), ("n_search", n_search)) if v is not None}
    ml.HMCSampler = functools.partial(HMCSampler, **kw)
    try:
        return hmc_marginal_likelihood(model, x, rng=rng, n_samples=n_samples, n_burnin=n_burnin, return_details=True)
    finally:
        ml.HMCSampler = HMCSampler


def probe(a):
    """Estimates of log p(x) at a saved state (``--state``): the appendix-D estimator as the reproduction
    runs it (chains from the encoder mean), the same from the persistent chains (train points), and the
    multi-start mixture importance sampler."""
    ckpt = load_checkpoint(a.state)
    model = ckpt.model
    spec = runs.make_spec("mnist", 3, "mcem", 1, "/tmp/unused", hidden=100, n_train=a.n_train, seed=a.seed,
                          dtype=a.dtype)
    x_train, x_test, _ = runs.load_data(spec)
    chains = ckpt.algorithm_arrays.get("chains")
    rng = np.random.default_rng([a.seed, 99])
    n = a.ml_points
    out = {"samples": ckpt.extra.get("samples")}
    for split, x in (("train", x_train[:n]), ("test", x_test[:n])):
        if split not in a.splits.split(","):
            continue
        xd = model._data(x)
        t = time.time()
        for setting in a.search.split(","):                          # the estimator with K starts, T search steps
            K, T = (int(v) for v in setting.split(":"))
            lp, _ = appendix_d(model, x, rng, a.hmc_samples, a.hmc_burnin, K, T)
            out[f"{split}_appD_starts{K}_search{T}"] = float(lp.mean())
            print(f"{split}: appendix D, search over {K} starts for {T} transitions: {lp.mean():.1f} "
                  f"({time.time() - t:.0f} s)", flush=True)
        if a.starts <= 1:
            continue
        first = chains[:n] if split == "train" else model.backend.to_numpy(model.encode(x)[0])
        mix, per_start, per_logp = multistart_log_px(model, xd, model.backend.asarray(first, model.dtype), rng,
                                                     n_starts=a.starts, n_burnin=a.hmc_burnin,
                                                     n_samples=a.hmc_samples)
        out[f"{split}_multistart_is"] = float(mix.mean())
        out[f"{split}_appD_first_start"] = float(per_start[:, 0].mean())
        out[f"{split}_appD_best_start"] = float(per_start.max(1).mean())
        out[f"{split}_appD_median_start"] = float(np.median(per_start, 1).mean())
        out[f"{split}_distinct_modes_med"] = float(np.median([len(np.unique(np.round(r, 0))) for r in per_start]))
        print(f"{split}: per start: "
              f"first ({'chain' if split == 'train' else 'encoder mean'}) {out[f'{split}_appD_first_start']:.1f}, "
              f"best of {a.starts} {out[f'{split}_appD_best_start']:.1f}, median "
              f"{out[f'{split}_appD_median_start']:.1f}; multi-start mixture IS {out[f'{split}_multistart_is']:.1f} "
              f"(starts with distinct estimates, median {out[f'{split}_distinct_modes_med']:.0f}; {time.time() - t:.0f} s)",
              flush=True)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n-train", type=int, default=1000)
    p.add_argument("--budget", type=float, default=1e6)
    p.add_argument("--eval-at", default="1e5,3e5,1e6", help="sample counts of the log p(x) estimates")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", default="float32")
    p.add_argument("--ml-points", type=int, default=100)
    p.add_argument("--hmc-samples", type=int, default=50)
    p.add_argument("--hmc-burnin", type=int, default=100)
    p.add_argument("--log-every", type=int, default=500, help="steps between logged summaries")
    p.add_argument("--opt", action="append", default=[], help="MonteCarloEM option key=value (repeatable)")
    p.add_argument("--out", required=True, help="JSON file of the records")
    p.add_argument("--state", help="checkpoint (.npz) of the run: resumed from if it exists, written at the end")
    p.add_argument("--probe", action="store_true", help="only estimate log p(x) at --state in several ways")
    p.add_argument("--splits", default="train,test", help="the sets --probe scores")
    p.add_argument("--starts", type=int, default=10, help="chains per datapoint in the --probe reference "
                   "estimate (<= 1: none)")
    p.add_argument("--search", default="1:1", help="K:T,...: the appendix-D estimator with HMCSampler(n_starts=K, "
                   "n_search=T) (1:1 = without the search, as before it existed)")
    p.add_argument("--max-minutes", type=float, default=None, help="stop (and write --state) after this long")
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    if a.probe:
        return probe(a)
    options = dict((kv.split("=", 1)[0], _value(kv.split("=", 1)[1])) for kv in a.opt)
    spec = runs.make_spec("mnist", 3, "mcem", a.budget, "/tmp/unused", hidden=100, n_train=a.n_train,
                          seed=a.seed, dtype=a.dtype)
    x_train, x_test, _ = runs.load_data(spec)
    model = runs.build_model(spec, x_train.shape[1])
    N, M = x_train.shape[0], spec["batch_size"]
    em = MonteCarloEM(model, N, optimizer=Adagrad(lr=a.lr, weight_decay=1.0 / N), rng=a.seed, **options)
    rng = np.random.default_rng([a.seed, 7])
    eval_at = sorted(int(float(s)) for s in a.eval_at.split(",") if s)
    budget = int(a.budget)
    xd = model._data(x_train)
    to_np = model.backend.to_numpy

    def estimate(samples):
        erng = np.random.default_rng([a.seed, samples])
        rec = {"samples": samples}
        for split, x in (("train", x_train[:a.ml_points]), ("test", x_test[:a.ml_points])):
            lp, det = appendix_d(model, x, erng, a.hmc_samples, a.hmc_burnin, n_starts=1)
            rec[f"{split}_ml_nosearch"] = float(np.mean(lp))                # as on main before the search
            rec[f"{split}_eval_accept"] = det["accept_rate"]
            lp, _ = appendix_d(model, x, erng, a.hmc_samples, a.hmc_burnin)
            rec[f"{split}_ml"] = float(np.mean(lp))                         # with the library's default search
        zc = model.backend.asarray(em.chains_[:a.ml_points], dtype=model.dtype)
        rec["train_logp_chain"] = float(np.mean(to_np(log_joint(model, xd[:a.ml_points], zc))))
        rec["step_q"] = [float(q) for q in np.quantile(em.step_sizes_, [0.01, 0.1, 0.5, 0.9, 0.99])]
        # the posterior around each persistent chain under the current theta: fresh HMC from the chain
        sampler = HMCSampler(model, n_leapfrog=em.n_leapfrog, target_accept=em.target_accept, n_starts=1)
        xs = xd[:a.ml_points]
        zf, stf = sampler.run(xs, zc, em.step_sizes_[:a.ml_points].copy(), a.hmc_burnin, erng, adapt=True)
        post, _, _ = sampler.sample(xs, zf, stf, a.hmc_samples, erng)
        post = to_np(post).astype(np.float64)                         # (L, B, Z)
        mean, chol = fit_gaussian(post)
        sd = np.sqrt(np.linalg.eigvalsh(np.einsum("bij,bkj->bik", chol, chol)))   # (B, Z) ascending
        d = np.linalg.solve(chol, (em.chains_[:a.ml_points] - mean)[..., None])[..., 0]
        rec["post_sd_min_med"] = float(np.median(sd[:, 0]))
        rec["post_sd_max_med"] = float(np.median(sd[:, -1]))
        rec["chain_maha2_med"] = float(np.median((d * d).sum(1)))       # chi^2_3 median 2.37 if the chain is a draw
        rec["post_logp_mean"] = float(np.mean(to_np(log_joint(
            model, model.backend.xp.tile(xs, (post.shape[0], 1)),
            model.backend.asarray(post.reshape(-1, post.shape[-1]), model.dtype)))))
        rec["chain_step_over_post_sd"] = float(np.median(em.step_sizes_[:a.ml_points] / sd[:, 0]))
        return rec

    logs, evals, acc = [], [], []
    samples, steps, t0, spent = 0, 0, time.time(), 0.0
    if a.state and Path(a.state).exists():                             # the library's checkpoint format
        ckpt = load_checkpoint(a.state)
        model = ckpt.model
        em = MonteCarloEM(model, N, optimizer=ckpt.optimizer, rng=a.seed, **options)
        em.load_state_arrays(ckpt.algorithm_arrays)
        st = ckpt.extra
        rng = rng_from_state(st["rng"])
        samples, steps, logs, evals, spent = (st[k] for k in ("samples", "steps", "logs", "evals", "spent"))
        eval_at = [s for s in eval_at if s > samples]
        print(f"resumed at {samples:,} samples", flush=True)
    t0 -= spent
    start = time.time()
    while samples < budget and not (a.max_minutes and time.time() - start > 60 * a.max_minutes):
        perm = rng.permutation(N)
        for i in range(0, N - M + 1, M):
            idx = perm[i:i + M]
            z_old = em.chains_[idx].copy()
            loss0 = -float(np.mean(to_np(log_joint(model, xd[idx], model.backend.asarray(z_old, model.dtype)))))
            loss = em.step(x_train[idx], rng, idx)
            move = np.linalg.norm(em.chains_[idx] - z_old, axis=1)
            acc.append((em.accept_rate_, float(move.mean()), float((move > 0).mean()), loss0, float(loss)))
            samples += M
            steps += 1
            if steps % a.log_every == 0:
                m = np.mean(acc, axis=0)
                q = np.quantile(em.step_sizes_, [0.01, 0.5, 0.99])
                znorm = float(np.median(np.linalg.norm(em.chains_, axis=1)))
                logs.append({k: float(v) for k, v in zip(
                    ("samples", "accept", "move", "moved", "loss_before_m", "loss_after_m", "step_q01", "step_med",
                     "step_q99", "chain_norm_med"), (samples, *m, *q, znorm))})
                print(f"{samples:>9,} accept {m[0]:.3f} move {m[1]:.4f} moved {m[2]:.2f} "
                      f"-logp(x,z) {m[3]:.1f}->{m[4]:.1f} step q01/med/q99 {q[0]:.2g}/{q[1]:.2g}/{q[2]:.2g} |z| {znorm:.2f} "
                      f"({time.time() - t0:.0f} s)", flush=True)
                acc = []
            if eval_at and samples >= eval_at[0]:
                eval_at.pop(0)
                te = time.time()
                rec = estimate(samples)
                evals.append(rec)
                print(f"  log p(x) at {samples:,}: train {rec['train_ml']:.1f}  test {rec['test_ml']:.1f}  (without "
                      f"the search {rec['train_ml_nosearch']:.1f} / {rec['test_ml_nosearch']:.1f})  "
                      f"log p(x, z_chain) {rec['train_logp_chain']:.1f}  eval accept "
                      f"{rec['train_eval_accept']:.2f}/{rec['test_eval_accept']:.2f}\n"
                      f"    posterior from the chains: sd min/max {rec['post_sd_min_med']:.3g}/{rec['post_sd_max_med']:.3g}"
                      f"  chain Mahalanobis^2 {rec['chain_maha2_med']:.2f} (2.37 for a draw)  log p(x, z_post) "
                      f"{rec['post_logp_mean']:.1f}  step/sd_min {rec['chain_step_over_post_sd']:.2f}  "
                      f"({time.time() - te:.0f} s)",
                      flush=True)
                t0 += time.time() - te
            if samples >= budget or (a.max_minutes and time.time() - start > 60 * a.max_minutes):
                break
    if a.state:
        extra = {"rng": rng_state(rng), "samples": samples, "steps": steps, "logs": logs, "evals": evals,
                 "spent": time.time() - t0}
        write_checkpoint(a.state, *make_checkpoint(model, em.optimizer, extra=json.loads(json.dumps(extra)),
                                                   algorithm=em))
    out = {"args": vars(a), "options": options, "samples": samples, "logs": logs, "evals": evals,
           "train_seconds": time.time() - t0}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
