"""numpyvae.arrays.blas: reading the CPU's flags and OpenBLAS's kernels, and the advice given."""
import os
import platform
import subprocess
import sys

from numpyvae.arrays.blas import AVX512_FLAGS, cpu_flags, faster_coretype, openblas_corename

AVX512 = set(AVX512_FLAGS) | {"avx2", "fma"}


def test_faster_coretype_only_for_avx2_kernels_on_a_cpu_with_every_avx512_subset():
    assert faster_coretype("Haswell", AVX512) == "SkylakeX"
    assert faster_coretype("Zen", AVX512) == "SkylakeX"
    assert faster_coretype("SkylakeX", AVX512) is None              # already AVX-512
    assert faster_coretype("Haswell", {"avx2", "fma"}) is None       # no AVX-512
    assert faster_coretype("Haswell", AVX512 - {"avx512vl"}) is None  # a subset missing
    assert faster_coretype(None, AVX512) is None                     # not OpenBLAS


def test_cpu_flags_reads_the_flags_line(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse2 avx2 avx512f\n\n"
                    "processor\t: 1\nflags\t\t: fpu sse2 avx2 avx512f\n")
    assert cpu_flags(str(path)) == {"fpu", "sse2", "avx2", "avx512f"}
    assert cpu_flags(str(tmp_path / "missing")) == set()


def _info(env):
    out = subprocess.run([sys.executable, "-m", "numpyvae", "info"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_info_names_the_kernels_and_advises_only_when_faster_ones_would_run():
    base = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    text = _info(dict(base, OPENBLAS_CORETYPE="Haswell"))
    assert "backend numpy: available" in text
    if openblas_corename() is None or platform.machine() not in ("x86_64", "AMD64"):
        return
    assert "BLAS kernels: Haswell" in text
    assert "chosen by OPENBLAS_CORETYPE=Haswell" in text
    assert ("set it to SkylakeX" in text) == all(f in cpu_flags() for f in AVX512_FLAGS)
    text = _info(base)                                               # OpenBLAS's own choice
    assert "chosen by OPENBLAS_CORETYPE" not in text
    assert "Faster matrix products" not in text or "BLAS kernels: Haswell" in text


def test_blas_change_names_what_differs_and_nothing_else():
    from numpyvae.arrays.blas import blas_change

    one = {"kernels": "SkylakeX", "threads": 1}
    assert blas_change(one, dict(one)) is None
    assert blas_change(None, one) is None and blas_change(one, None) is None       # not recorded
    assert blas_change({"kernels": None, "threads": 1}, one) is None               # unknown is not different
    two = blas_change(one, {"kernels": "SkylakeX", "threads": 2})
    assert "runs SkylakeX kernels on 2 thread(s) where the checkpoint was saved with SkylakeX kernels on " \
           "1 thread(s)" in two and "not bit for bit" in two
    assert "Haswell kernels on 1 thread(s) where" in blas_change(one, {"kernels": "Haswell", "threads": 1})
