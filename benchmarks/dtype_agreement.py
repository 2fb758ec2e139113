"""Float32 against float64 training of the paper's MNIST model: the same bound within run-to-run noise.

Trains K&W's MNIST model (784-500-N_z, Adagrad, batch 100, AEVB) through the reproduction's runs
(numpyvae.reproduce.runs.execute) for ``--budget`` samples three times: float32 and float64 with the
same seed, and float32 with another seed (the run-to-run noise), and prints the bounds at every
common evaluation point, the float32 - float64 difference and the seed-to-seed difference.

    python benchmarks/dtype_agreement.py --out ~/numpyvae-runs/dtype-check --budget 1e6 --nz 20
"""
import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--budget", type=float, default=1e6)
    p.add_argument("--nz", type=int, default=20)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--table", default=None, help="also write the table (markdown) here")
    args = p.parse_args(argv)
    from numpyvae.reproduce.runs import execute, make_spec

    runs = {}
    for label, dtype, seed in (("float32, seed 0", "float32", 0), ("float64, seed 0", "float64", 0),
                               ("float32, seed 1", "float32", 1)):
        spec = make_spec("mnist", args.nz, "aevb", args.budget, args.out, lr=args.lr, dtype=dtype, seed=seed)
        t0 = time.perf_counter()
        _, records = execute(spec, log=lambda *a: None)[:2]
        runs[label] = {r["samples"]: r for r in records}
        print(f"{label}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    a, b, c = runs.values()
    common = sorted(set(a) & set(b) & set(c))
    lines = [f"MNIST, N_z = {args.nz}, AEVB with Adagrad (lr {args.lr}), batch 100; test bound (nats) and "
             "training time per run", "",
             "| samples | float32 seed 0 | float64 seed 0 | float32 seed 1 | f32 - f64 (same seed) | seed 0 - seed 1 |",
             "|---|---|---|---|---|---|"]
    for s in common:
        ta, tb, tc = a[s]["test_bound"], b[s]["test_bound"], c[s]["test_bound"]
        lines.append(f"| {s:,} | {ta:.3f} | {tb:.3f} | {tc:.3f} | {ta - tb:+.3f} | {ta - tc:+.3f} |")
    last = common[-1]
    lines += ["", "| run | training time (s) |", "|---|---|"]
    lines += [f"| {label} | {r[last]['wall_s']:.0f} |" for label, r in runs.items()]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.table:
        with open(args.table, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
