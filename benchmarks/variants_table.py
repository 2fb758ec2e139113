"""Train the VAE variants on MNIST and print the comparison table of docs/variants.md.

For each model: the test ELBO, the test log p(x) by importance sampling (k = 5000 by default, with
its standard error), and the number of active latent units (Burda et al. 2015, section 5.2), beside
the numbers Burda et al. 2015 report in their Table 1 where they exist.

Protocol: MNIST, 60000 training and 10000 test images (Burda et al.'s split), pixel intensities in
[0, 1] used as Bernoulli probabilities; training batches are binarized afresh at every step
("dynamic binarization"), the test images once with a fixed seed. The architectures are those of
Burda et al.: 784-200-200-50 (one stochastic layer) and 784-200-200-100-100-100-50 (two), tanh,
Bernoulli decoder. Their budget was 3280 passes over the data (3^i passes at learning rate
1e-3 * 10^(-i/7), i = 0..7, batch 20); the command line sets ours and the table states it.

Usage (from the repository root):

    python benchmarks/variants_table.py --epochs 1 --n-test 1000 --out docs/variants_table.md
    python benchmarks/variants_table.py --models iwae5,hvae --epochs 20      # a subset, longer

Reads MNIST with :func:`numpyvae.datasets.load_dataset` from --data (default $NUMPYVAE_DATA, else
../shared/data); it never downloads.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpyvae as nv  # noqa: E402
from numpyvae.datasets import bernoulli_binarize, load_dataset  # noqa: E402
from numpyvae.evaluation import active_units, importance_sampled_log_px  # noqa: E402
from numpyvae.models import IWAE, FullCovVAE, HierarchicalVAE  # noqa: E402

TEST_BINARIZATION_SEED = 12345
ONE_LAYER = dict(input_dim=784, hidden_sizes=(200, 200), latent_dim=50, activation="tanh")
TWO_LAYERS = dict(input_dim=784, hidden_sizes=(200, 200), latent_dims=(100, 50), hidden_sizes2=(100, 100),
                  activation="tanh")

# name -> (label, objective, factory(dtype, rng), Burda et al. 2015 Table 1: (NLL, active units) or None)
ROWS = {
    "vae": ("VAE", "ELBO (analytic KL)", lambda dt, r: nv.VAE(**ONE_LAYER, dtype=dt, rng=r, init="glorot"),
            (86.76, "19")),
    "iwae5": ("IWAE", "L_5", lambda dt, r: IWAE(**ONE_LAYER, k=5, dtype=dt, rng=r, init="glorot"), (85.54, "22")),
    "iwae50": ("IWAE", "L_50", lambda dt, r: IWAE(**ONE_LAYER, k=50, dtype=dt, rng=r, init="glorot"),
               (84.78, "25")),
    "hvae": ("hierarchical VAE", "ELBO", lambda dt, r: HierarchicalVAE(**TWO_LAYERS, k=1, dtype=dt, rng=r,
                                                                         init="glorot"), (85.33, "16+5")),
    "hiwae5": ("hierarchical IWAE", "L_5", lambda dt, r: HierarchicalVAE(**TWO_LAYERS, k=5, dtype=dt, rng=r,
                                                                          init="glorot"), (83.89, "21+5")),
    "hiwae50": ("hierarchical IWAE", "L_50", lambda dt, r: HierarchicalVAE(**TWO_LAYERS, k=50, dtype=dt, rng=r,
                                                                            init="glorot"), (82.90, "26+7")),
    "fullcov": ("full-covariance VAE", "ELBO (analytic KL)",
                lambda dt, r: FullCovVAE(**ONE_LAYER, dtype=dt, rng=r, init="glorot"), None),
}


def load_mnist(data_dir):
    """Grey-level training images (60000, 784) and the test images (10000, 784) binarized once."""
    train = load_dataset("mnist", "train", data_dir=data_dir, protocol="official", download=False)
    test = load_dataset("mnist", "test", data_dir=data_dir, protocol="official", binarize="static",
                        rng=TEST_BINARIZATION_SEED, download=False)
    return train.x, test.x


def train(model, x_train, epochs, batch_size, lr, rng, log_every):
    opt = nv.Adam(lr=lr, eps=1e-4)
    n = x_train.shape[0]
    step = 0
    for epoch in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):
            probs = x_train[order[start:start + batch_size]]
            xb = bernoulli_binarize(probs, rng).astype(model.dtype)           # a fresh draw at every step
            loss, grads = model.loss_and_grads(xb, rng=rng)
            opt.step(model.params, grads)
            step += 1
            if log_every and step % log_every == 0:
                print(f"    epoch {epoch + 1} step {step}: loss {loss:.2f}", file=sys.stderr, flush=True)
    return step


def evaluate(model, x_test, eval_k, rng):
    elbo = np.concatenate([nv.backend.NUMPY.to_numpy(model.elbo(x_test[s:s + 500], rng=rng, n_samples=10))
                           for s in range(0, x_test.shape[0], 500)])
    log_px, mc_stderr = importance_sampled_log_px(model, x_test, n_samples=eval_k, rng=rng, batch_size=100)
    au = active_units(model, x_test, rng=rng, n_samples=100)
    n = x_test.shape[0]
    return {"elbo": float(elbo.mean()), "elbo_se": float(elbo.std() / np.sqrt(n)),
            "log_px": float(log_px.mean()), "log_px_se": float(log_px.std() / np.sqrt(n)),
            "log_px_mc_se": float(np.sqrt((mc_stderr ** 2).sum()) / n),
            "active_units": "+".join(str(c) for c in au["counts"]), "active_total": au["total"]}


def table(results, args):
    lines = [
        f"Command: `python benchmarks/variants_table.py {' '.join(args.argv)}`",
        "",
        f"Budget: {args.epochs} epoch(s) of {60000 // args.batch_size} steps (batch {args.batch_size}, Adam lr "
        f"{args.lr:g}, eps 1e-4), {args.dtype}; evaluated on {args.n_test} test images, log p(x) with "
        f"k = {args.eval_k} importance samples. Burda et al. trained for 3280 passes.",
        "",
        "| model | objective | test ELBO | test log p(x) | active units | Burda et al. log p(x) | Burda et al. active "
        "units | train time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, r in results.items():
        label, objective, _, published = ROWS[key]
        pub = ("-", "-") if published is None else (f"{-published[0]:.2f}", published[1])
        lines.append(f"| {label} | {objective} | {r['elbo']:.2f} ± {r['elbo_se']:.2f} | {r['log_px']:.2f} ± "
                     f"{r['log_px_se']:.2f} | {r['active_units']} | {pub[0]} | {pub[1]} | "
                     f"{r['train_s'] / 60:.1f} min |")
    lines += ["", "± is the standard error of the mean over the test images; the Monte-Carlo standard error of "
              "each log p(x) mean is below " + f"{max(r['log_px_mc_se'] for r in results.values()):.3f} nats."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--models", default=",".join(ROWS), help=f"comma-separated subset of {', '.join(ROWS)}")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--n-test", type=int, default=10000, help="test images evaluated (the first n)")
    parser.add_argument("--eval-k", type=int, default=5000, help="importance samples for log p(x)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=os.environ.get("NUMPYVAE_DATA", str(REPO.parent / "shared" / "data")),
                        help="folder holding mnist/ (default: $NUMPYVAE_DATA)")
    parser.add_argument("--out", help="also write the markdown table (and a .json beside it) here")
    parser.add_argument("--log-every", type=int, default=0, help="print the loss every n steps (to stderr)")
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)
    keys = [k.strip() for k in args.models.split(",") if k.strip()]
    unknown = [k for k in keys if k not in ROWS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {', '.join(ROWS)}")

    x_train, x_test = load_mnist(args.data)
    x_test = x_test[:args.n_test]
    results = {}
    for i, key in enumerate(keys):
        label, objective, factory, _ = ROWS[key]
        rng = np.random.default_rng(args.seed + i)
        model = factory(np.dtype(args.dtype), rng)
        print(f"{label} ({objective}): training {args.epochs} epoch(s)", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        train(model, x_train, args.epochs, args.batch_size, args.lr, rng, args.log_every)
        train_s = time.perf_counter() - t0
        print(f"  trained in {train_s:.0f} s; evaluating", file=sys.stderr, flush=True)
        results[key] = {**evaluate(model, x_test.astype(model.dtype), args.eval_k, rng), "train_s": train_s}
        print(f"  {results[key]}", file=sys.stderr, flush=True)
    text = table(results, args)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
        Path(args.out).with_suffix(".json").write_text(json.dumps({"args": args.argv, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
