"""A measurement in its own process: the thread count fixed before NumPy loads, and OpenBLAS left
to choose its kernels (the variables that override the choice are removed for that process only).

Used by the scripts that run themselves as a worker (``--worker CONFIG_JSON``) and read back the
JSON line it prints last.
"""
import json
import os
import subprocess
import sys

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
KERNEL_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def measuring_env(threads, coretype=None):
    """``(env, unset)``: this environment with every library on ``threads`` threads, and either
    ``OPENBLAS_CORETYPE=coretype`` or (None) the kernel overrides removed; ``unset`` names what was
    removed, to be printed with the results."""
    env = {**os.environ, **{v: str(threads) for v in THREAD_VARS}}
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
        return env, {}
    return env, {k: env.pop(k) for k in KERNEL_OVERRIDES if k in env}


def kernel_note(unset):
    """The line that says which kernel overrides were removed for a measurement (``unset`` from
    :func:`measuring_env`), or that none was set."""
    if unset:
        return "unset for this run: " + ", ".join(f"{k}={v}" for k, v in unset.items())
    return "OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE not set"


def run_worker(script, cfg, env):
    """Run ``python script --worker <cfg as JSON>`` in ``env`` and return the JSON of its last line;
    None (its error output written to stderr) when it fails."""
    proc = subprocess.run([sys.executable, str(script), "--worker", json.dumps(cfg)], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])
