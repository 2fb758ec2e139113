"""How much training a useful latent space needs: the accuracy of a linear classifier on the posterior means.

Trains the paper's MNIST model (784-500-20, tanh, Bernoulli, Adam 1e-3, batch 100, float32) through
``nv.Estimator`` on the first N training images for E epochs, for each ``NxE`` given, then fits a
logistic regression (scikit-learn) to the 20 posterior means of the first 10000 training images and
prints its accuracy on the 10000 test images, the test ELBO, how many latent dimensions carry a mean
KL above 0.01 nats, and the fit's CPU time (one BLAS thread) and wall time.

    python benchmarks/latent_classifier.py 3000x2 50000x1 50000x10 50000x30

Needs the MNIST files (NUMPYVAE_DATA), scikit-learn and threadpoolctl.
"""
import argparse
import resource
import time


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", metavar="NxE", help="training images x epochs, e.g. 3000x2")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    import numpyvae as nv

    train, test = nv.load_dataset("mnist", "train"), nv.load_dataset("mnist", "test")
    print("| training | test ELBO | accuracy | dims with mean KL > 0.01 | fit CPU (1 thread) | fit wall |")
    print("|---|---|---|---|---|---|")
    with threadpool_limits(1, user_api="blas"):
        for run in args.runs:
            n, epochs = (int(v) for v in run.lower().split("x"))
            t0, c0 = time.perf_counter(), cpu_seconds()
            est = nv.Estimator("vae", hidden_sizes=(500,), latent_dim=20, dtype="float32", epochs=epochs,
                               random_state=args.seed).fit(train.x[:n])
            cpu, wall = cpu_seconds() - c0, time.perf_counter() - t0
            clf = LogisticRegression(max_iter=2000).fit(est.transform(train.x[:10000]), train.labels[:10000])
            accuracy = clf.score(est.transform(test.x), test.labels)
            kl, _ = nv.evaluation.latent_activity(est.model_, test.x[:2000])
            print(f"| {n} images, {epochs} epoch{'s' if epochs > 1 else ''} | {est.score(test.x):.1f} | "
                  f"{accuracy:.3f} | {int((kl > 0.01).sum())} | {cpu:.1f} s | {wall:.1f} s |", flush=True)


if __name__ == "__main__":
    main()
