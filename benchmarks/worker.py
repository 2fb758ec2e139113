"""One thread setting's measurements, run in a subprocess whose environment fixes the threads.

The parent (run.py) sets OMP/OPENBLAS/MKL_NUM_THREADS and XLA_FLAGS before this process
starts; here the process is also pinned to that many cores and torch told the same.
"""

import os
import platform
import time

import numpy as np

from . import correctness, data, floor, timing
from .configs import CONFIGS
from .frameworks import ROWS, load
from .frameworks.common import AdagradConfig, AdamConfig, init_params


def pin_threads(n_threads):
    """Restrict this process to the first ``n_threads`` allowed cores."""
    cores = sorted(os.sched_getaffinity(0))[:n_threads]
    os.sched_setaffinity(0, cores)
    return cores


class MachineLoad:
    """CPU time that other processes used while a measurement ran, from /proc/stat."""

    def __init__(self):
        self.start = self._sample()

    @staticmethod
    def _sample():
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:]]
        except OSError:
            return None
        busy = sum(fields[:3]) + sum(fields[5:8])          # user nice system irq softirq steal
        ticks = os.sysconf("SC_CLK_TCK")
        return busy / ticks, time.perf_counter(), time.process_time()

    def others(self):
        """Cores' worth of CPU used by other processes since construction (e.g. 0.3)."""
        end = self._sample()
        if self.start is None or end is None:
            return float("nan")
        busy = end[0] - self.start[0]
        wall = end[1] - self.start[1]
        own = end[2] - self.start[2]
        return max(0.0, busy - own) / wall if wall > 0 else float("nan")


QUIET = 0.1
"""Cores' worth of CPU that other processes may use while a configuration is timed for it to count
as quiet (``retry_loaded_s``)."""


def wait_until_quiet(max_wait_s, threshold=0.25, window_s=2.0):
    """Wait (at most ``max_wait_s``) until other processes use under ``threshold`` cores.

    Returns the seconds waited.  The machine is shared; this keeps measurements out of the
    busiest moments, and the report still states the load during each measurement.
    """
    start = time.perf_counter()
    while time.perf_counter() - start < max_wait_s:
        meter = MachineLoad()
        time.sleep(window_s)
        if meter.others() < threshold:
            break
    return time.perf_counter() - start


def load_rows(names):
    """{row: (module, options, time_grad)} for the importable rows, and {row: reason} for the rest."""
    modules, missing = {}, {}
    for row in names:
        module_name, options, time_grad = ROWS[row]
        module, reason = load(module_name)
        if module is None:
            missing[row] = reason
        else:
            modules[row] = (module, options, time_grad)
    return modules, missing


def measure_config(config, dtype_name, rows, ref_module, args):
    """Correctness, then interleaved timings of every agreeing row, the GEMM floor and the
    optimizer's streaming floor."""
    dtype = np.dtype(dtype_name)
    spec, B, L = config.spec, config.batch_size, config.n_samples
    rng = np.random.default_rng(args["seed"])
    if "numpyvae" in rows:
        params = rows["numpyvae"][0].initial_params(spec, dtype, seed=args["seed"])
    else:
        params = init_params(spec, rng, dtype)
    x, eps, source = data.batch(config, rng, dtype)
    adam, adagrad = AdamConfig(), AdagradConfig()
    refs = {"adam": correctness.reference(ref_module, spec, params, x, eps, adam)}

    result = {"config": config.name, "label": spec.label, "batch_size": B, "n_samples": L,
              "dtype": dtype_name, "data": source, "check": {}, "compile_s": {}, "times": {}}
    candidates = {}
    for row, (module, options, time_grad) in rows.items():
        optimizer = options.get("optimizer", "adam")
        if optimizer not in refs:                                     # "adagrad": its textbook steps
            refs[optimizer] = correctness.reference_adagrad(ref_module, spec, params, x, eps, adagrad)
        loss, grads = module.loss_and_grads(spec, params, x, eps)
        trainer = module.make_trainer(spec, params, x, eps, adam, **options)
        check = correctness.compare(refs[optimizer], loss, grads, trainer, params, dtype_name)
        result["check"][row] = check
        result["compile_s"][row] = trainer.compile_s
        if check["ok"]:
            candidates[f"{row}|step"] = (trainer.step, trainer.sync)
            if time_grad:
                candidates[f"{row}|grad"] = (trainer.grad, trainer.sync)
    floor_fn, flops = floor.make_floor_step(spec, B, L, dtype)
    candidates["gemm-floor|step"] = (floor_fn, lambda: None)
    result["flops"] = flops
    stream_fn, result["n_params"] = floor.make_stream_floor(spec, dtype)
    candidates["stream-pass|step"] = (stream_fn, lambda: None)

    # time; on a shared machine, time again (within retry_loaded_s) while other processes used more
    # than QUIET cores meanwhile, and keep the quietest attempt
    deadline = time.perf_counter() + args.get("retry_loaded_s", 0.0)
    result["waited_s"], result["attempts"] = 0.0, 0
    best = None
    while True:
        result["waited_s"] += wait_until_quiet(args.get("wait_quiet_s", 0.0))
        load_meter = MachineLoad()
        times = timing.interleaved(candidates, rounds=args["rounds"], block_s=args["block_s"],
                                   warmup_s=args["warmup_s"], max_s=args.get("max_config_s"))
        others = load_meter.others()
        result["attempts"] += 1
        if best is None or others < best[0]:
            best = (others, times)
        if best[0] <= QUIET or time.perf_counter() > deadline:
            break
    result["others_cpu"], times = best
    for key, value in times.items():
        row, kind = key.split("|")
        result["times"].setdefault(row, {})[kind] = value
    return result


def main(args):
    """Run every (config, dtype) for one thread setting; returns a JSON-able dict."""
    n_threads = args["threads"]
    cores = pin_threads(n_threads)
    rows, missing = load_rows(args["rows"])
    if any(ROWS[row][0] == "torch_vae" for row in rows):
        import torch
        torch.set_num_threads(n_threads)
    if "numpyvae" in rows:
        ref_module, ref_name = rows["numpyvae"][0], "numpyvae"
    else:
        ref_module, reason = load("autograd_vae")
        ref_name = "autograd (numpyvae not importable)"
        if ref_module is None:
            raise SystemExit(f"no reference implementation: numpyvae and autograd missing ({reason})")
    out = {"threads": n_threads, "cores": cores, "missing": missing, "reference": ref_name,
           "python": platform.python_version(), "numpy_blas": floor.numpy_blas(),
           "peak_gflops": {}, "results": []}
    for dtype_name in args["dtypes"]:
        out["peak_gflops"][dtype_name] = floor.peak_gflops(np.dtype(dtype_name))
        for name in args["configs"]:
            res = measure_config(CONFIGS[name], dtype_name, rows, ref_module, args)
            out["results"].append(res)
            if args.get("progress"):
                args["progress"](res)
    return out
