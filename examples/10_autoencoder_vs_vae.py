"""A plain autoencoder beside a VAE with the same MLPs and a 2-D code, on MNIST.

What it teaches
---------------
Both models map an image to two numbers and back through the same 784-200-2 / 2-200-784 tanh MLPs
with a Bernoulli decoder. The autoencoder (``numpyvae.models.Autoencoder``) minimises only the
reconstruction loss; the VAE also pays KL(q(z | x) || N(0, I)) for its code and must decode well from
noisy codes z = mu + sigma * eps. The figures show what that buys and costs: the autoencoder
reconstructs a little more sharply, but its codes spread over an arbitrary region of the plane, while
the VAE's posterior means fill the region the prior N(0, I) covers, which is what lets it generate new
images by decoding z ~ N(0, I). No label is used in training; colours are digit labels.

Writes ``ae_vs_vae_latents.png`` (the two latent planes side by side) and
``ae_vs_vae_reconstructions.png`` (test digits; VAE reconstructions; autoencoder reconstructions)
into ``--out``. Needs MNIST (NUMPYVAE_DATA or --data-dir).

Run
---
    NUMPYVAE_DATA=../shared/data python examples/10_autoencoder_vs_vae.py
    NUMPYVAE_DATA=../shared/data python examples/10_autoencoder_vs_vae.py --quick
"""
import _common

import sys

import numpy as np

import numpyvae as nv
from numpyvae import plotting
from numpyvae.datasets import DatasetNotFoundError, load_dataset
from numpyvae.models import Autoencoder
from numpyvae.ops import bernoulli_loglik_forward
from numpyvae.training import Trainer


def fit(model, x, args):
    trainer = Trainer(model, epochs=3 if args.quick else 10, batch_size=100, optimizer="adam", lr=3e-3,
                      binarize="none", eval_size=1000, seed=args.seed)
    trainer.fit(x)
    return model


def reconstruction_nats(model, x):
    """Mean -log p(x | z = code(x)) of the test images under the model's Bernoulli decoder."""
    out = model.decode(model.embed(x))                                # {"logits": (N, 784)}
    loglik, _ = bernoulli_loglik_forward(x, out["logits"])            # (N,)
    return -float(np.mean(loglik))


def main(argv=None):
    p = _common.parser(__doc__)
    p.add_argument("--data-dir", default=None, help="folder with the data files (default: NUMPYVAE_DATA)")
    args = p.parse_args(argv)
    out = _common.out_dir(args)
    try:
        train = load_dataset("mnist", "train", data_dir=args.data_dir)
        test = load_dataset("mnist", "test", data_dir=args.data_dir)
    except DatasetNotFoundError as exc:
        print(f"this example needs the data files: {exc}", file=sys.stderr)
        return 2
    x = train.x[:5000] if args.quick else train.x[:20000]
    xt, yt = test.x[:2000], test.labels[:2000]

    vae = fit(nv.VAE(784, (200,), 2, likelihood="bernoulli", init="glorot", rng=args.seed), x, args)
    ae = fit(Autoencoder(784, (200,), 2, loss="bernoulli", init="glorot", rng=args.seed), x, args)

    codes = {"VAE: posterior means E[z | x]": vae.embed(xt), "autoencoder: codes": ae.embed(xt)}
    for name, z in codes.items():
        print(f"{name:32s} mean {np.round(z.mean(0), 2)}, std {np.round(z.std(0), 2)}")
    print(f"reconstruction -log p(x | code), nats per test image: VAE {reconstruction_nats(vae, xt):.1f}, "
          f"autoencoder {reconstruction_nats(ae, xt):.1f}")
    print(f"VAE test bound {float(vae.elbo(xt, rng=args.seed).mean()):.1f} nats per image")

    plt = _common.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    for ax, (name, z) in zip(axes, codes.items()):
        sc = ax.scatter(z[:, 0], z[:, 1], c=yt, cmap="tab10", s=4, alpha=0.7)
        ax.set_title(name)
        ax.set_xlabel("z1")
        ax.set_ylabel("z2")
    fig.colorbar(sc, ax=axes, ticks=range(10), label="digit")
    fig.suptitle("MNIST test images in a 2-D code: VAE (left) and plain autoencoder (right)")
    latents = out / "ae_vs_vae_latents.png"
    fig.savefig(latents, dpi=90)
    plt.close(fig)

    n = 10
    rows = np.concatenate([xt[:n], vae.reconstruct(xt[:n]), ae.reconstruct(xt[:n])])  # (3n, 784)
    recon = plotting.image_grid(rows, test.image_shape, out / "ae_vs_vae_reconstructions.png", nrows=3,
                                title="test digits; VAE reconstructions; autoencoder reconstructions")
    print(f"wrote {latents}, {recon}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
