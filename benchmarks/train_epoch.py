"""Seconds per epoch of the paper's MNIST model, and what the training loop adds to the bare step.

Model: 784-500-20, tanh, Bernoulli decoder, analytic KL, batch 100, L = 1, Adam; 50000 training
images (the first 50000 of MNIST's training set; random grey images of the same shape when the
MNIST files are not found).

For each dtype it times, alternately and ``--repeats`` times:

- **bare**: ``model.loss_and_grads(batch, rng=rng, workspace=ws)`` + ``optimizer.step`` over consecutive slices
  of the data, nothing else;
- **trainer**: :class:`numpyvae.training.Trainer` with its defaults (shuffling, batching, the
  running bound, the train and test bound on 5000-point subsets at the end of every epoch, a CSV
  log and a checkpoint written every epoch), measured from the end of epoch 1 to the end of
  epoch 2 of a 3-epoch run, so it is one steady-state epoch with everything the loop does in it
  (the final evaluation, on the whole sets, comes after it).

Both wall-clock seconds and CPU seconds of the process are reported; on a machine shared with
other jobs the CPU seconds are the steadier measure (``--threads 1`` makes them exact: no BLAS
thread spins waiting for a core). The overhead is trainer / bare - 1 on the fastest of the
repeats (the least disturbed by other processes).

Run: ``python benchmarks/train_epoch.py [--dtypes float32,float64] [--repeats 2] [--threads 1]``.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

if "--threads" in sys.argv:                                             # must be set before NumPy loads BLAS
    _n = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _n

import numpy as np                                                       # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpyvae as nv                                                    # noqa: E402
from numpyvae.training import Trainer                                    # noqa: E402


def load_data(limit):
    try:
        from numpyvae.datasets import load_dataset

        train, test = load_dataset("mnist", "train"), load_dataset("mnist", "test")
        x, xt, source = train.x, test.x, "MNIST"
    except (FileNotFoundError, ValueError) as exc:
        print(f"MNIST not found ({str(exc).splitlines()[0]}); using random grey images")
        rng = np.random.default_rng(0)
        x, xt, source = rng.uniform(size=(50000, 784)), rng.uniform(size=(10000, 784)), "random"
    return x[:limit], xt, source


def make_model(dtype):
    return nv.VAE(784, (500,), 20, likelihood="bernoulli", activation="tanh", dtype=dtype, rng=0)


def clocks():
    return np.array([time.perf_counter(), time.process_time()])


def bare_epoch(x, dtype, batch_size=100):
    """One pass of loss_and_grads + Adam step over consecutive slices: (wall s, CPU s)."""
    model, opt, rng = make_model(dtype), nv.Adam(lr=1e-3), np.random.default_rng(0)
    x = x.astype(dtype)
    ws = nv.Workspace()                                                # as the Trainer does
    t0 = clocks()
    for start in range(0, x.shape[0], batch_size):
        _, grads = model.loss_and_grads(x[start:start + batch_size], rng=rng, workspace=ws)
        opt.step(model.params, grads)
    return clocks() - t0


def trainer_epoch(x, xt, dtype, folder, **settings):
    """(wall s, CPU s) from the end of epoch 1 to the end of epoch 2 of a 3-epoch Trainer run: a
    steady-state epoch with its evaluation, log record and checkpoint."""
    marks = []
    trainer = Trainer(make_model(dtype), epochs=3, batch_size=100, optimizer="adam", seed=0,
                      checkpoint_path=Path(folder) / "checkpoint.npz", log_path=Path(folder) / "log.csv",
                      callback=lambda trainer, record: marks.append(clocks()), **settings)
    trainer.fit(x, x_test=xt)
    return marks[2] - marks[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--limit", type=int, default=50000, help="training images per epoch")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (read before NumPy loads)")
    args = parser.parse_args(argv)
    x, xt, source = load_data(args.limit)
    print(f"data: {source}, {x.shape[0]} training images per epoch; cores: {os.cpu_count()}; "
          f"BLAS threads: {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}; "
          f"load average at start: {os.getloadavg()[0]:.1f}")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.dtypes.split(","):
            dtype = np.dtype(name)
            bare, full = [], []
            for _ in range(args.repeats):
                bare.append(bare_epoch(x, dtype))
                full.append(trainer_epoch(x, xt, dtype, folder))
                print(f"  {name}: bare {bare[-1][0]:.2f} s wall / {bare[-1][1]:.2f} s CPU; "
                      f"trainer {full[-1][0]:.2f} s wall / {full[-1][1]:.2f} s CPU", flush=True)
            bare, full = np.array(bare), np.array(full)
            rows.append((name, bare.min(axis=0), full.min(axis=0)))
    print(f"load average at end: {os.getloadavg()[0]:.1f}\n")
    print("| dtype | bare step, s/epoch (wall / CPU) | trainer, s/epoch (wall / CPU) | overhead wall | overhead CPU |")
    print("|---|---|---|---|---|")
    for name, b, f in rows:
        print(f"| {name} | {b[0]:.2f} / {b[1]:.2f} | {f[0]:.2f} / {f[1]:.2f} | {100 * (f[0] / b[0] - 1):+.1f}% "
              f"| {100 * (f[1] / b[1] - 1):+.1f}% |")


if __name__ == "__main__":
    main()
