"""The reproduction gives the same numbers as before it moved onto the Trainer (float64, small budget).

``tests/data/repro_before_engine.json`` holds the evaluation records of seven runs made by the
reproduction's own loop (numpyvae 0.1.0 before the one-engine change: ``reproduce/loop.py``), with
the real MNIST and Frey Face files, 3000 training samples, step size 0.02, the first 500 points of
each set scored at intermediate evaluations. The same specs, trained now through the Trainer in
float64, must give the same bounds at every evaluation point to rtol 1e-9: the math is unchanged,
and rounding differences of ~1e-16 in a sum taken in another order grow to ~1e-11 over the 30
training steps (seen on the Frey Face runs).
"""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from numpyvae.reproduce.runs import execute, make_spec

GOLDEN = json.loads((Path(__file__).parent / "data" / "repro_before_engine.json").read_text())
RUNS = {"mnist-3-aevb": ("mnist", 3, "aevb", {}), "mnist-3-wake_sleep": ("mnist", 3, "wake_sleep", {}),
        "frey-2-aevb": ("frey", 2, "aevb", {}), "frey-2-wake_sleep": ("frey", 2, "wake_sleep", {}),
        "mnist-3-mcem": ("mnist", 3, "mcem", {"n_train": 1000, "hidden": 100}),
        "mnist-5-fullvb": ("mnist", 5, "fullvb", {"n_train": 2000}),
        "mnist-3-autoencoder": ("mnist", 3, "autoencoder", {"n_train": 2000})}


def _have(data):
    root = Path(os.environ.get("NUMPYVAE_DATA", "/nonexistent"))
    wanted = {"mnist": "mnist/train-images-idx3-ubyte.gz", "frey": "frey/frey_rawface.mat"}[data]
    return (root / wanted).is_file()


@pytest.mark.parametrize("key", sorted(RUNS))
def test_the_trainer_reproduces_the_old_loop(tmp_path, key):
    data, nz, method, extra = RUNS[key]
    if not _have(data):
        pytest.skip(f"the {data} files are not available (set NUMPYVAE_DATA)")
    spec = make_spec(data, nz, method, 3000, tmp_path, lr=0.02, eval_points=500, dtype="float64", **extra)
    records = execute(spec, log=lambda *a: None)[1]
    old = GOLDEN[key]
    assert [r["samples"] for r in records] == [r["samples"] for r in old]
    for new, ref in zip(records, old):
        for field, value in ref.items():
            if field == "train_loss":                            # now minus the Trainer's batch_bound
                np.testing.assert_allclose(-new["batch_bound"], value, rtol=1e-9)
            elif isinstance(value, float):
                np.testing.assert_allclose(new[field], value, rtol=1e-9, err_msg=f"{key} {field} at {ref['samples']}")
