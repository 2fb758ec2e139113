"""The CuPy backend. Without CuPy or a CUDA device the GPU tests skip, saying which is missing;
the tests above the marker run everywhere and check what a user without a GPU sees."""
import subprocess
import sys

import numpy as np
import pytest

import numpyvae as nv
from numpyvae.arrays.backend import cupy_unavailable_reason, get_backend
from numpyvae.gradcheck import check_model

REASON = cupy_unavailable_reason()
gpu = pytest.mark.skipif(REASON is not None, reason=f"GPU tests need CuPy and a CUDA device: {REASON}")


@pytest.mark.skipif(REASON is None, reason="CuPy and a device are present")
def test_asking_for_cupy_without_it_names_what_is_missing():
    with pytest.raises(RuntimeError, match="'cupy' backend is unavailable: CuPy"):
        get_backend("cupy")
    with pytest.raises(RuntimeError, match="unavailable"):
        nv.VAE(4, (3,), 2, backend="cupy")
    out = subprocess.run([sys.executable, "-m", "numpyvae", "gradcheck", "--backend", "cupy"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "cupy' backend is unavailable" in out.stderr


def test_backend_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("NUMPYVAE_BACKEND", "numpy")
    assert nv.VAE(4, (3,), 2, rng=0).backend.name == "numpy"
    monkeypatch.setenv("NUMPYVAE_BACKEND", "tpu")
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        nv.VAE(4, (3,), 2, rng=0)


def _pair(cp, **kw):
    kwargs = dict(input_dim=12, hidden_sizes=(9, 7), latent_dim=3, rng=0, init="glorot", **kw)
    return nv.VAE(backend="numpy", **kwargs), nv.VAE(backend="cupy", **kwargs)


@gpu
@pytest.mark.gpu
@pytest.mark.parametrize("likelihood", nv.LIKELIHOODS)
@pytest.mark.parametrize("estimator", ["analytic", "mc"])
def test_numpy_and_cupy_give_the_same_loss_and_gradients(likelihood, estimator):
    import cupy as cp

    cpu, dev = _pair(cp, likelihood=likelihood, estimator=estimator)
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(6, 12))
    eps = rng.standard_normal((2, 6, 3))
    l_cpu, g_cpu = cpu.loss_and_grads(x, eps)
    l_dev, g_dev = dev.loss_and_grads(cp.asarray(x), cp.asarray(eps))
    assert abs(l_cpu - l_dev) <= 1e-10 * abs(l_cpu)
    for name in g_cpu:
        np.testing.assert_allclose(cp.asnumpy(g_dev[name]), g_cpu[name], rtol=1e-10,
                                   atol=1e-12 * np.abs(g_cpu[name]).max())


@gpu
@pytest.mark.gpu
def test_finite_difference_check_on_the_gpu():
    import cupy as cp

    _, dev = _pair(cp, likelihood="gaussian_sigmoid", estimator="mc")
    rng = np.random.default_rng(2)
    report = check_model(dev, cp.asarray(rng.uniform(size=(4, 12))), cp.asarray(rng.standard_normal((1, 4, 3))))
    assert report.passed(1e-6), report.table()


@gpu
@pytest.mark.gpu
def test_checkpoints_move_between_gpu_and_cpu(tmp_path):
    import cupy as cp

    _, dev = _pair(cp)
    nv.save_checkpoint(tmp_path / "gpu.npz", dev)
    on_cpu = nv.load_model(tmp_path / "gpu.npz", backend="numpy")
    back = nv.load_model(tmp_path / "gpu.npz", backend="cupy")
    for name, p in dev.params.items():
        np.testing.assert_array_equal(on_cpu.params[name], cp.asnumpy(p))
        np.testing.assert_array_equal(cp.asnumpy(back.params[name]), cp.asnumpy(p))


@gpu
@pytest.mark.gpu
def test_training_on_the_gpu_raises_the_bound():
    import cupy as cp

    rng = np.random.default_rng(0)
    protos = (rng.uniform(size=(4, 30)) > 0.5).astype(float)
    x = protos[rng.integers(0, 4, 400)]
    model = nv.VAE(30, (20,), 2, rng=0, init="glorot", backend="cupy")
    start = float(model.elbo(cp.asarray(x), rng=1).mean())
    model.fit(x, epochs=20, batch_size=50, lr=3e-3)
    assert float(model.elbo(cp.asarray(x), rng=1).mean()) > start + 5


def test_checkpoints_load_onto_a_named_backend(tmp_path):
    model = nv.VAE(6, (5,), 2, rng=0)
    nv.save_checkpoint(tmp_path / "m.npz", model)
    loaded = nv.load_model(tmp_path / "m.npz", backend="numpy")
    assert loaded.backend.name == "numpy"
    for name, p in model.params.items():
        np.testing.assert_array_equal(loaded.params[name], p)
