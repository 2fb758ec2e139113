"""The public gradcheck module and its command line."""
import subprocess
import sys

import numpy as np
import pytest

import numpyvae as nv
from numpyvae.gradcheck import check_gradients, check_model


def test_check_gradients_restores_parameters_and_reports_every_parameter(rng):
    params = {"w": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}
    before = {k: v.copy() for k, v in params.items()}
    f = lambda: float(np.sum(np.sin(params["w"]) @ params["b"]))
    grads = {"w": np.cos(params["w"]) * params["b"], "b": np.sin(params["w"]).sum(0)}
    report = check_gradients(f, params, grads)
    assert all(np.array_equal(params[k], before[k]) for k in params)
    assert [r.name for r in report.rows] == ["w", "b"] and report.passed(1e-8)
    assert "max relative error" in report.table()


def test_check_gradients_flags_a_wrong_gradient_in_one_coordinate(rng):
    params = {"w": rng.standard_normal(50)}
    f = lambda: float(np.sum(params["w"] ** 3))
    grads = {"w": 3 * params["w"] ** 2}
    grads["w"][17] += 0.01
    report = check_gradients(f, params, grads, max_coords=50)
    assert not report.passed(1e-6)
    assert report.rows[0].rel_err > 1e-4
    # a subset that misses the wrong entry still sees it through the directional check
    report = check_gradients(f, params, grads, max_coords=5, rng=1)
    assert report.rows[0].directional_rel_err > 1e-6 or report.rows[0].rel_err > 1e-6


def test_float32_models_are_refused(rng):
    model = nv.VAE(4, (3,), 2, dtype=np.float32, rng=0)
    with pytest.raises(ValueError, match="float64"):
        check_model(model, rng.uniform(size=(2, 4)))


@pytest.mark.parametrize("args", [[], ["--likelihood", "gaussian_sigmoid", "--estimator", "mc", "--hidden", "6,5",
                                       "--activation", "elu", "--ops"]])
def test_gradcheck_command(args):
    out = subprocess.run([sys.executable, "-m", "numpyvae", "gradcheck", *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "all gradients match" in out.stdout and "enc.mu.W" in out.stdout


def test_gradcheck_command_rejects_unknown_options():
    out = subprocess.run([sys.executable, "-m", "numpyvae", "gradcheck", "--likelihood", "poisson"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "invalid choice" in out.stderr


def test_round_off_is_not_counted_but_a_resolvable_error_is(rng):
    # f depends on w only through a 1e-9 term: its true gradient is far below f's round-off.
    params = {"w": rng.standard_normal(4), "u": rng.standard_normal(4)}
    f = lambda: float(100.0 + np.sum(params["u"] ** 2) + 1e-9 * np.sum(params["w"] ** 2))
    exact = {"w": 2e-9 * params["w"], "u": 2 * params["u"]}
    report = check_gradients(f, params, exact)
    assert report.passed(1e-6), report.table()
    wrong = {"w": np.zeros(4), "u": 2 * params["u"] * (1 + 1e-4)}  # w's error is below round-off, u's is not
    report = check_gradients(f, params, wrong)
    assert [r.name for r in report.failures(1e-6)] == ["u"]
    assert report.noise > 0 and "round-off level" in report.table()


def test_a_check_of_nothing_never_passes(rng):
    from numpyvae.gradcheck import GradcheckReport

    assert not GradcheckReport().passed(1e-6)                          # no rows: nothing was checked
    params = {"w": rng.standard_normal(3)}
    f = lambda: float(np.sum(params["w"] ** 2))
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="max_coords must be an integer >= 1"):
            check_gradients(f, params, {"w": 2 * params["w"]}, max_coords=bad)
    with pytest.raises(ValueError, match="no parameters to check"):
        check_gradients(f, {}, {})
    with pytest.raises(ValueError, match=r"no analytic gradient for \['w'\]"):
        check_gradients(f, params, {})
    with pytest.raises(ValueError, match="step must be a positive number"):
        check_gradients(f, params, {"w": 2 * params["w"]}, step=0.0)
    report = check_gradients(f, params, {"w": 2 * params["w"]})
    with pytest.raises(ValueError, match="tol must be a finite number"):
        report.passed(float("nan"))
    report.rows[0].n_checked = 0                                       # a row that checked no entry
    assert not report.passed(1e-6) and report.failures(1e-6) == report.rows
