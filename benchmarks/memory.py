"""Peak resident memory of a short training run, one implementation per process.

The process imports only NumPy and the one implementation, records its resident set size,
resets the kernel's peak counter (``/proc/self/clear_refs``), builds the model and trains for
a few steps, then reads the peak (VmHWM; ru_maxrss where the reset is unavailable).
"""

import resource

import numpy as np

from .configs import CONFIGS
from .frameworks import ROWS, load
from .frameworks.common import AdamConfig, init_params, make_batch


def _status_kib(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def main(row, config_name, dtype_name, steps):
    """Measure one row; returns {"import_mib", "peak_mib", "train_mib", "peak_source"}."""
    module_name, options, _ = ROWS[row]
    module, reason = load(module_name)
    if module is None:
        return {"error": reason}
    config = CONFIGS[config_name]
    dtype = np.dtype(dtype_name)
    rng = np.random.default_rng(0)
    params = init_params(config.spec, rng, dtype)
    x, eps = make_batch(config.spec, config.batch_size, config.n_samples, rng, dtype)
    after_import = _status_kib("VmRSS")
    reset = _reset_peak()
    trainer = module.make_trainer(config.spec, params, x, eps, AdamConfig(), **options)
    for _ in range(steps):
        trainer.step()
    trainer.sync()
    if reset and _status_kib("VmHWM") is not None:
        peak, source = _status_kib("VmHWM"), "VmHWM after reset"
    else:
        peak, source = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "ru_maxrss"
    return {"import_mib": after_import / 1024 if after_import else float("nan"),
            "peak_mib": peak / 1024, "train_mib": (peak - after_import) / 1024
            if after_import else float("nan"), "peak_source": source}
