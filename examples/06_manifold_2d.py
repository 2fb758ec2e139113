"""The learned 2-D data manifolds of Kingma & Welling's Figure 4, for Frey Faces and MNIST.

What it teaches
---------------
With a two-dimensional latent space the whole generative model can be looked at: lay a grid over
the unit square, map it through the inverse Gaussian CDF (so every tile stands for an equal share
of the prior N(0, I)), and show the decoder's mean at each point (``numpyvae.plotting.manifold_grid``).
Nearby latent points decode to similar images, and the prior's mass is spread over the variations
the data show: pose and expression for the faces, digit identity and slant for MNIST. The latent
means of the MNIST test set, coloured by digit, show how the encoder q(z | x) lays the classes out
in that same plane (``numpyvae.plotting.latent_scatter``); no label was used in training.

Writes ``frey_manifold.png``, ``mnist_manifold.png`` and ``mnist_latent_scatter.png`` into ``--out``.
Needs the data sets (NUMPYVAE_DATA or --data-dir, as for examples/05_train_mnist_frey.py).

Run
---
    NUMPYVAE_DATA=../shared/data python examples/06_manifold_2d.py
    NUMPYVAE_DATA=../shared/data python examples/06_manifold_2d.py --quick --dataset frey
"""
import _common

import sys

import numpyvae as nv
from numpyvae import plotting
from numpyvae.datasets import DatasetNotFoundError, load_dataset
from numpyvae.training import Trainer


def train(name, args):
    """A VAE with a 2-D latent space trained on ``name``; returns the model and the test split."""
    train_set = load_dataset(name, "train", data_dir=args.data_dir)
    test_set = load_dataset(name, "test", data_dir=args.data_dir)
    x = train_set.x
    if name == "mnist":
        x = x[:5000] if args.quick else x
        model = nv.VAE(784, hidden_sizes=(200,), latent_dim=2, likelihood="bernoulli", rng=args.seed)
        settings = dict(epochs=1 if args.quick else 2, binarize="dynamic", lr=3e-3)
    else:
        model = nv.VAE(560, hidden_sizes=(200,), latent_dim=2, likelihood="gaussian_sigmoid", rng=args.seed)
        settings = dict(epochs=15 if args.quick else 100, lr=1e-3)
    trainer = Trainer(model, batch_size=100, optimizer="adam", eval_size=1000, seed=args.seed, **settings)
    history = trainer.fit(x, x_test=test_set.x)
    last = history[-1]
    print(f"{name}: {model}, {last['samples']:,} training samples ({last['wall_time']:.1f} s), "
          f"bound train {last['train_bound']:.2f}, test {last['test_bound']:.2f} nats per image")
    return model, test_set


def main(argv=None):
    p = _common.parser(__doc__)
    p.add_argument("--dataset", choices=("mnist", "frey", "both"), default="both")
    p.add_argument("--data-dir", default=None, help="folder with the data files (default: NUMPYVAE_DATA)")
    p.add_argument("--grid", type=int, default=20, help="tiles per side of the manifold (K&W: 20)")
    args = p.parse_args(argv)
    out = _common.out_dir(args)
    names = ("frey", "mnist") if args.dataset == "both" else (args.dataset,)
    written = []
    try:
        for name in names:
            model, test_set = train(name, args)

            def decode_mean(z, model=model):
                return model.decoder.mean(model.decode(z))           # (n*n, D) in [0, 1]

            written.append(plotting.manifold_grid(
                decode_mean, test_set.image_shape, out / f"{name}_manifold.png", n=args.grid,
                title=f"{name}: decoder means over the Gaussian quantiles of a 2-D latent grid"))
            if test_set.labels is not None:
                mu, _ = model.encode(test_set.x)                      # (N, 2) posterior means
                written.append(plotting.latent_scatter(
                    mu, test_set.labels, out / f"{name}_latent_scatter.png",
                    title=f"{name} test set: posterior means E[z | x], coloured by label"))
    except DatasetNotFoundError as exc:
        print(f"this example needs the data files: {exc}", file=sys.stderr)
        return 2
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
