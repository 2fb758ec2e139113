"""Training VAEs on MNIST and Frey Faces, with the pictures: bound curves, samples, reconstructions.

What it teaches
---------------
Kingma & Welling's two experiments, small enough to run in a minute:

- MNIST (binary pixels, Bernoulli decoder from logits, docs/derivations.md#bernoulli), trained on
  a fresh Bernoulli draw of the grey-valued images every epoch (dynamic binarization);
- Frey Faces (continuous pixels in [0, 1], Gaussian decoder whose means pass through a sigmoid and
  whose log-variance is learned, K&W's Frey decoder, docs/derivations.md#gaussian-sigmoid).

Both use ``numpyvae.training.Trainer`` (minibatch SGVB, K&W Algorithm 1) and are evaluated at
1, 2, 5, 10, ... training samples, so the curves read like K&W's Figure 2 (bound against training
samples evaluated, log x-axis, train solid, test dashed). After training the script estimates the
test log-likelihood by importance sampling (docs/derivations.md#log-px) and writes

    mnist_frey_curves.png                    the lower bound during training, one panel per data set
    mnist_samples.png, frey_samples.png      decoder means at z ~ N(0, I)
    mnist_reconstructions.png, frey_reconstructions.png   test images and their reconstructions

Needs the data sets: NUMPYVAE_DATA (or --data-dir) must name a folder holding MNIST's IDX files and
frey_rawface.mat, directly or in mnist/ and frey/ subfolders. The defaults train briefly (MNIST:
all 50000 training images for two epochs, one epoch of 5000 with --quick; Frey: 100 epochs, 15
with --quick) with small networks; K&W train 784-500-Z and 560-200-Z for far longer
(docs/reproduction.md).

Run
---
    NUMPYVAE_DATA=../shared/data python examples/05_train_mnist_frey.py
    NUMPYVAE_DATA=../shared/data python examples/05_train_mnist_frey.py --quick --dataset mnist
"""
import _common

import sys

import numpy as np

import numpyvae as nv
from numpyvae import plotting
from numpyvae.datasets import DatasetNotFoundError, bernoulli_binarize, load_dataset
from numpyvae.training import Trainer


def load(name, data_dir, n_train=None):
    """Train and test splits of a data set (K&W's splits), the training set cut to n_train rows."""
    train = load_dataset(name, "train", data_dir=data_dir)
    test = load_dataset(name, "test", data_dir=data_dir)
    x = train.x if n_train is None else train.x[:n_train]
    return x, test.x, train.image_shape


def run(name, args, out, rng):
    """Train one model, print its numbers, write its pictures; returns the curves for the figure."""
    quick = args.quick
    if name == "mnist":
        x, x_test, shape = load("mnist", args.data_dir, 5000 if quick else None)
        model = nv.VAE(784, hidden_sizes=(200,), latent_dim=20, likelihood="bernoulli", activation="tanh",
                       rng=args.seed)
        settings = dict(epochs=1 if quick else 2, binarize="dynamic", optimizer="adam", lr=3e-3)
    else:
        x, x_test, shape = load("frey", args.data_dir)
        model = nv.VAE(560, hidden_sizes=(200,), latent_dim=10, likelihood="gaussian_sigmoid",
                       activation="tanh", rng=args.seed)
        settings = dict(epochs=15 if quick else 100, optimizer="adam", lr=1e-3)
    print(f"{name}: {model}\n  {x.shape[0]} training and {x_test.shape[0]} test images, {settings}")
    trainer = Trainer(model, batch_size=100, eval_every="log", eval_size=1000, seed=args.seed, **settings)
    history = trainer.fit(x, x_test=x_test)
    last = history[-1]
    print(f"  after {last['samples']:,} training samples ({last['wall_time']:.1f} s): "
          f"bound train {last['train_bound']:.2f}, test {last['test_bound']:.2f} nats per image")

    # the test set as the model sees it: one fixed binarization for MNIST, grey values for Frey
    x_eval = bernoulli_binarize(x_test, np.random.default_rng(args.seed)) if name == "mnist" else x_test
    n_is, k_is = (50, 20) if quick else (200, 200)
    n_is = min(n_is, x_eval.shape[0])
    log_px, se = nv.importance_sampled_log_px(model, x_eval[:n_is], n_samples=k_is, rng=rng)
    elbo = model.elbo(x_eval[:n_is], rng=rng, n_samples=10).mean()
    print(f"  first {n_is} test images: ELBO {elbo:.2f}, importance-sampled log p(x) with K = {k_is}: "
          f"{log_px.mean():.2f} (mean standard error {se.mean():.2f})")

    samples = model.sample(100, rng=rng)                              # decoder means at z ~ N(0, I)
    plotting.image_grid(samples, shape, out / f"{name}_samples.png", nrows=10,
                        title=f"{name}: decoder means at z ~ N(0, I)")
    plotting.reconstruction_grid(x_eval[:20], model.reconstruct(x_eval[:20]), shape,
                                 out / f"{name}_reconstructions.png", n=20, ncols=10)
    return [{"label": f"{name} train", "samples": [r["samples"] for r in history[1:]],
             "bound": [r["train_bound"] for r in history[1:]]},
            {"label": f"{name} test", "samples": [r["samples"] for r in history[1:]],
             "bound": [r["test_bound"] for r in history[1:]]}]


def main(argv=None):
    p = _common.parser(__doc__)
    p.add_argument("--dataset", choices=("mnist", "frey", "both"), default="both")
    p.add_argument("--data-dir", default=None, help="folder with the data files (default: NUMPYVAE_DATA)")
    args = p.parse_args(argv)
    out = _common.out_dir(args)
    rng = np.random.default_rng(args.seed)
    names = ("mnist", "frey") if args.dataset == "both" else (args.dataset,)
    panels = []
    try:
        for name in names:
            panels.append(run(name, args, out, rng))
    except DatasetNotFoundError as exc:
        print(f"this example needs the data files: {exc}", file=sys.stderr)
        return 2
    plotting.training_curve_panels(panels, out / "mnist_frey_curves.png", titles=list(names),
                                   suptitle="lower bound per datapoint during training (cf. K&W Figure 2)")
    print(f"\nwrote {', '.join(sorted(f.name for f in out.glob('*.png') if f.stem.split('_')[0] in names))}"
          f" into {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
