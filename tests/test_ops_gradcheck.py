"""Every registered op's backward against central finite differences in float64."""
import dataclasses
import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import numpyvae
from numpyvae.gradcheck import check_op
from numpyvae.ops import OPS


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", sorted(OPS))
def test_op_backward_matches_finite_differences(name, seed):
    report = check_op(OPS[name], rng=seed)
    assert report.rows, f"op {name} checked nothing"
    assert report.passed(1e-6), report.table()


def _all_forward_functions():
    found = []
    for info in pkgutil.walk_packages(numpyvae.__path__, prefix="numpyvae."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for fname, f in inspect.getmembers(module, inspect.isfunction):
            if fname.endswith("_forward") and f.__module__ == module.__name__:
                found.append((module.__name__, fname, f))
    return found


def test_every_forward_function_has_a_registered_check():
    registered = {id(spec.forward) for spec in OPS.values()}
    missing = [f"{m}.{n}" for m, n, f in _all_forward_functions() if id(f) not in registered]
    assert not missing, f"*_forward functions without a gradient check in numpyvae.ops.OPS: {missing}"
    assert len(_all_forward_functions()) >= 14


def test_every_forward_has_its_backward_beside_it():
    for module, name, _ in _all_forward_functions():
        mod = importlib.import_module(module)
        assert hasattr(mod, name[: -len("_forward")] + "_backward"), f"{module}.{name} has no paired backward"


@pytest.mark.parametrize("name", ["linear", "bernoulli_loglik", "reparameterize", "tanh"])
def test_the_op_check_catches_a_wrong_backward(name):
    spec = OPS[name]

    def wrong_backward(dout, cache):
        grads = spec.backward(dout, cache)
        if isinstance(grads, tuple):
            return (grads[0] * 1.001,) + grads[1:]
        return grads * 1.001

    broken = dataclasses.replace(spec, backward=wrong_backward)
    report = check_op(broken, rng=0)
    assert not report.passed(1e-6)
    assert report.max_rel_err > 1e-4
