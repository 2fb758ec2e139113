"""Benchmark numpyvae against PyTorch (eager), JAX (jit) and HIPS autograd.

Usage (from the repository root)::

    python benchmarks/run.py                     # the full suite (about 15 minutes on 2 cores)
    python benchmarks/run.py --quick             # smoke run, well under a minute
    python benchmarks/run.py --threads 1,2 --dtype float32,float64 --configs mnist,deep \
        --out benchmarks/results/run.md

Each thread setting runs in its own subprocess (thread pools are sized when the libraries
start), each memory measurement too.  Every implementation must first agree with the float64
reference (benchmarks/correctness.py); one that does not is reported, not timed.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.configs import CONFIGS, QUICK  # noqa: E402
from benchmarks.frameworks import ROWS  # noqa: E402

MEMORY_STEPS = 20

KERNEL_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
"""Variables that override OpenBLAS's own choice of kernels and cache sizes. Some machines set them
for the sake of older OpenBLAS builds; the suite is judged under OpenBLAS's own choice, so it
removes them from its measuring processes (this command only; ``--env`` sets them on purpose)."""


def kernel_overrides():
    """The KERNEL_OVERRIDES set in this environment (removed for the measuring processes)."""
    return {k: os.environ[k] for k in KERNEL_OVERRIDES if k in os.environ}


def thread_env(n_threads):
    """Environment for a subprocess limited to ``n_threads`` threads in every library, with
    OpenBLAS's own kernel choice (KERNEL_OVERRIDES removed)."""
    env = {k: v for k, v in os.environ.items() if k not in KERNEL_OVERRIDES}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(n_threads)
    if n_threads == 1:
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
                            " intra_op_parallelism_threads=1").strip()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def _subprocess_json(argv, env):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.json"
        proc = subprocess.run([sys.executable, __file__, *argv, "--json", str(path)], env=env,
                              cwd=REPO)
        if proc.returncode != 0:
            raise SystemExit(f"subprocess {' '.join(argv)} failed with exit code {proc.returncode}")
        return json.loads(path.read_text())


def _progress(res):
    from benchmarks.report import _median
    parts = []
    for row, check in res["check"].items():
        if not check["ok"]:
            parts.append(f"{row} DISAGREES")
        else:
            parts.append(f"{row} {_median(res, row) * 1e3:.3g}")
    floor = _median(res, "gemm-floor")
    print(f"  {res['dtype']} {res['config']:12s} ms/step: " + ", ".join(parts)
          + f", floor {floor * 1e3:.3g}", file=sys.stderr, flush=True)


def versions():
    import numpy
    found = {"python": platform.python_version(), "numpy": numpy.__version__}
    for name in ("scipy", "torch", "jax", "jaxlib", "autograd", "numpyvae"):
        try:
            from importlib.metadata import version
            found[name] = version(name)
        except Exception:
            try:
                found[name] = getattr(__import__(name), "__version__", "?")
            except ImportError:
                found[name] = "not installed"
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, text=True,
                             capture_output=True).stdout.strip()
        found["repository commit"] = rev or "?"
    except OSError:
        pass
    return found


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: mnist only, few rounds")
    parser.add_argument("--threads", help="comma-separated thread counts (default 1,<all cores>)")
    parser.add_argument("--dtype", help="float32,float64 (default both; --quick: float32)")
    parser.add_argument("--configs", help=f"comma-separated, from {','.join(CONFIGS)}")
    parser.add_argument("--rows", default=",".join(ROWS), help="implementations to time")
    parser.add_argument("--rounds", type=int, help="timed rounds per configuration (default 9)")
    parser.add_argument("--block", type=float, help="seconds per timed block (default 0.1)")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help="before each configuration wait up to this long for other "
                             "processes to use under 0.25 cores (a shared machine)")
    parser.add_argument("--retry-loaded", type=float, default=0.0, metavar="SECONDS",
                        help="time a configuration again (for up to this long) while other processes "
                             "used more than 0.1 cores during its timing; the quietest attempt is kept")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    parser.add_argument("--malloc-tuned", action="store_true",
                        help="set MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ in the subprocesses")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment variable for the subprocesses (repeatable), "
                             "e.g. OPENBLAS_CORETYPE=SKYLAKEX")
    parser.add_argument("--out", help="Markdown file for the tables (a PNG plot goes beside it)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memory-worker", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    n_cores = len(os.sched_getaffinity(0))
    args.threads = [int(t) for t in (args.threads or ("1" if args.quick else f"1,{n_cores}")).split(",")]
    args.dtype = (args.dtype or ("float32" if args.quick else "float32,float64")).split(",")
    args.configs = (args.configs or ",".join(QUICK if args.quick else CONFIGS)).split(",")
    args.rows = args.rows.split(",")
    args.rounds = args.rounds or (3 if args.quick else 9)
    args.block = args.block or (0.03 if args.quick else 0.1)
    for what, values, allowed in (("--dtype", args.dtype, ("float32", "float64")),
                                  ("--configs", args.configs, CONFIGS), ("--rows", args.rows, ROWS)):
        unknown = [v for v in values if v not in allowed]
        if unknown:
            parser.error(f"{what}: unknown {unknown}; choose from {list(allowed)}")
    env = []
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--env: expected KEY=VALUE, got {item!r}")
        env.append((key, value))
    args.env = env
    bad = [t for t in args.threads if not 1 <= t <= n_cores]
    if bad:
        parser.error(f"--threads: {bad} outside 1..{n_cores} (cores available)")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.worker:
        from benchmarks import worker
        out = worker.main({"threads": args.threads[0], "dtypes": args.dtype, "configs": args.configs,
                           "rows": args.rows, "rounds": args.rounds, "block_s": args.block,
                           "warmup_s": 2 * args.block, "seed": args.seed, "progress": _progress,
                           "wait_quiet_s": args.wait_quiet, "max_config_s": 60.0,
                           "retry_loaded_s": args.retry_loaded})
        Path(args.json).write_text(json.dumps(out))
        return
    if args.memory_worker:
        from benchmarks import memory
        out = memory.main(args.memory_worker, args.configs[0], args.dtype[0], MEMORY_STEPS)
        Path(args.json).write_text(json.dumps(out))
        return

    extra_env = dict(args.env)
    if args.malloc_tuned:
        extra_env.update({"MALLOC_MMAP_THRESHOLD_": "33554432",
                          "MALLOC_TRIM_THRESHOLD_": "1073741824"})
    common = ["--configs", ",".join(args.configs), "--rows", ",".join(args.rows),
              "--rounds", str(args.rounds), "--block", str(args.block), "--seed", str(args.seed),
              "--wait-quiet", str(args.wait_quiet), "--retry-loaded", str(args.retry_loaded)]
    sections = {}
    for n_threads in args.threads:
        print(f"[{n_threads} thread(s)] measuring {', '.join(args.configs)} in "
              f"{', '.join(args.dtype)}", file=sys.stderr, flush=True)
        env = {**thread_env(n_threads), **extra_env}
        info = _subprocess_json(["--worker", "--threads", str(n_threads),
                                 "--dtype", ",".join(args.dtype), *common], env)
        for dtype in args.dtype:
            results = [r for r in info["results"] if r["dtype"] == dtype]
            sections[(n_threads, dtype)] = (info, results)

    memory = {}
    memory_config = "mnist"
    if not args.no_memory:
        print(f"[memory] {memory_config}, {MEMORY_STEPS} steps per implementation",
              file=sys.stderr, flush=True)
        for dtype in args.dtype:
            for row in args.rows:
                memory[(row, dtype)] = _subprocess_json(
                    ["--memory-worker", row, "--configs", memory_config, "--dtype", dtype,
                     "--threads", "1"], {**thread_env(1), **extra_env})

    from benchmarks import report
    command = "python benchmarks/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    header = [
        "# numpyvae vs PyTorch, JAX and HIPS autograd: training-step timings",
        "",
        f"Command: `{command.strip()}`",
        "",
        f"Date: {datetime.datetime.now().isoformat(timespec='seconds')}; machine: {cpu_model()}, "
        f"{os.cpu_count()} cores; " + ", ".join(f"{k} {v}" for k, v in versions().items()) + ".",
        "",
        "Method: every implementation starts from the same parameters, data batch and noise eps "
        "(L=1, fixed across steps). A *step* is one gradient evaluation plus one Adam update "
        "(lr 1e-3, betas 0.9/0.999, eps 1e-8); *grad* is the loss and gradients alone. "
        "Implementations run interleaved in rounds (order rotated each round), each round one "
        f"block of about {args.block:g} s; we report the median and min–max over {args.rounds} "
        "rounds of the seconds per call, after warm-up. JAX compile time is excluded and given "
        "apart. *GEMM floor* runs only the step's matrix products (numpy, same shapes, same "
        "transposes, same thread count), timed in the same rounds; *×floor* is a step's time "
        "over it. *CPU/wall* is process CPU time over wall time while timing the step "
        "(about 1 for one busy core). *Others' load* is the CPU, in cores, that other processes "
        "on this shared machine used while a configuration was timed (0: quiet; the machine has "
        f"{os.cpu_count()} cores). Each thread setting runs in its own process pinned to "
        "that many cores, with OMP/OPENBLAS/MKL_NUM_THREADS, torch.set_num_threads and, for one "
        "thread, XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1."
        + (" Unset for this command (OpenBLAS's own kernel choice): "
           + ", ".join(f"{k}={v}" for k, v in kernel_overrides().items()) + "."
           if kernel_overrides() else " OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE: not set"
           " (OpenBLAS's own kernel choice).")
        + (" Extra environment: " + " ".join(f"{k}={v}" for k, v in extra_env.items()) + "."
           if extra_env else " No other environment settings (glibc malloc as it comes)."),
        "",
        "Data: each configuration's batch is drawn from its own data set when the files are found "
        "(MNIST configurations: MNIST training images, grey values; Frey: Frey Face images), else "
        "synthetic; each configuration's section names it. numpyvae's first layer skips the pixel "
        "columns that are zero in every image of the batch; the other implementations compute them.",
    ]
    memory_note = (f"Each implementation in its own process (one thread): {memory_config} model, "
                   f"{MEMORY_STEPS} training steps; peak is the kernel's high-water mark after "
                   "the imports (counter reset), so *peak − import* is what the model and "
                   "training added.")
    text = report.markdown(header, sections, memory, memory_note)
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        raw = {"command": command.strip(), "memory": [[list(k), v] for k, v in memory.items()],
               "sections": [[list(k), info, results] for k, (info, results) in sections.items()]}
        out.with_suffix(".json").write_text(json.dumps(raw))
        png = out.with_suffix(".png")
        report.plot(sections, png)
        print(f"wrote {out}, {png} and the raw measurements {out.with_suffix('.json')}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
