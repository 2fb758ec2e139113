"""Every numbered example in examples/ runs in quick mode, exits 0 and writes the files it promises.

Each example runs in a subprocess, as a user would run it, with a non-interactive matplotlib backend
and a temporary output folder. Examples that need the real data sets are skipped when
NUMPYVAE_DATA does not point at them.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
_ABSENT = [p for p in ("examples", "docs", "numpyvae") if not (REPO / p).is_dir()]
pytestmark = pytest.mark.skipif(bool(_ABSENT), reason=f"{', '.join(_ABSENT)} not beside the tests: they run "
                                                      f"from an installed package, without the source checkout")

# name -> (files written into --out, data sets it reads, text its output must contain)
SPECS = {
    "01_elbo_by_hand.py": ((), (), "by-hand values match the library"),
    "02_reparam_vs_score_function.py": (("reparam_vs_score.png",), (), "variance ratio"),
    "03_backprop_one_layer.py": (("fd_error_vs_step.png",), (), "best central step"),
    "04_gradcheck_a_vae.py": ((), (), "as expected"),
    "05_train_mnist_frey.py": (("mnist_frey_curves.png", "mnist_samples.png", "mnist_reconstructions.png",
                                "frey_samples.png", "frey_reconstructions.png"), ("mnist", "frey"),
                               "importance-sampled log p(x)"),
    "06_manifold_2d.py": (("frey_manifold.png", "mnist_manifold.png", "mnist_latent_scatter.png"),
                          ("mnist", "frey"), "wrote"),
    "07_iwae_bounds.py": (("iwae_bounds.png",), ("mnist",), "IWAE - VAE"),
    "08_beta_vae_tradeoff.py": (("beta_tradeoff.png", "beta_reconstructions.png"), ("mnist",), "active units"),
    "09_ppca_vs_linear_vae.py": (("ppca_vs_linear_vae.png",), (), "principal angles"),
    "10_autoencoder_vs_vae.py": (("ae_vs_vae_latents.png", "ae_vs_vae_reconstructions.png"), ("mnist",),
                                 "reconstruction -log p(x | code)"),
}


def numbered_examples():
    return sorted(p.name for p in EXAMPLES.glob("[0-9][0-9]_*.py"))


def test_every_numbered_example_is_tested():
    assert numbered_examples() == sorted(SPECS), "add the new example to SPECS in tests/test_examples.py"


def test_output_folder_is_ignored_by_git():
    ignored = subprocess.run(["git", "check-ignore", "-q", "examples/output/x.png"], cwd=REPO)
    if ignored.returncode == 128:
        pytest.skip("not a git checkout")
    assert ignored.returncode == 0, "examples/output/ must be listed in .gitignore"


def _missing_data(names):
    """Why the data sets ``names`` cannot be read (None when they all can), found as the examples find them."""
    from numpyvae.datasets import DatasetNotFoundError, find_dataset_files

    for name in names:
        for split in ("train", "test"):
            try:
                find_dataset_files(name, split, download=False)
            except DatasetNotFoundError:
                where = os.environ.get("NUMPYVAE_DATA")
                setting = f"NUMPYVAE_DATA={where}" if where else "NUMPYVAE_DATA is not set"
                return f"{name} files not found ({setting})"
    return None


def _missing_modules(name):
    """numpyvae submodules the example imports that this checkout does not have (parts still to land)."""
    import ast
    import importlib.util

    wanted = set()
    for node in ast.walk(ast.parse((EXAMPLES / name).read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("numpyvae."):
            wanted.add(node.module)
        elif isinstance(node, ast.Import):
            wanted.update(a.name for a in node.names if a.name.startswith("numpyvae."))
    return sorted(m for m in wanted if importlib.util.find_spec(m) is None)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_example_runs_in_quick_mode(name, tmp_path):
    files, needed, marker = SPECS[name]
    missing = _missing_modules(name)
    if missing:
        pytest.skip(f"needs {', '.join(missing)}, not in this checkout")
    reason = _missing_data(needed)
    if reason:
        pytest.skip(reason)
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(REPO))
    # the examples multiply small matrices: one BLAS thread each keeps them fast when tests run in parallel
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), "--quick", "--out", str(out)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    log = f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, log
    assert marker in proc.stdout, log
    for f in files:
        path = out / f
        assert path.is_file() and path.stat().st_size > 0, f"{name} did not write {f}\n{log}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_example_has_a_docstring_saying_how_to_run_it(name):
    import ast

    doc = ast.get_docstring(ast.parse((EXAMPLES / name).read_text()))
    assert doc and "Run" in doc and f"examples/{name}" in doc, \
        f"{name}: the docstring must say what it teaches and how to run it"


# ---------------------------------------------------------------- the docs name only code that exists
DOCS = [REPO / "docs" / "derivations.md", REPO / "docs" / "index.md", REPO / "docs" / "variants.md",
        REPO / "README.md"]


def _definitions():
    """{relative path: names it defines} for every module of the package: module-level functions,
    classes and constants, and ``Class.method`` for every method."""
    import ast

    defs = {}
    for path in (REPO / "numpyvae").rglob("*.py"):
        names = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
                if isinstance(node, ast.ClassDef):
                    names.update(f"{node.name}.{m.name}" for m in node.body if isinstance(m, ast.FunctionDef))
            elif isinstance(node, ast.Assign):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        defs[path.relative_to(REPO).as_posix()] = names
    return defs


def test_docs_name_functions_in_the_files_that_define_them():
    import re

    defs = _definitions()
    every = set().union(*defs.values())
    problems = []
    for doc in DOCS:
        text = doc.read_text()
        # "`f` in numpyvae/x.py", "`f` / `g` in `numpyvae/x.py`": each name must be defined in that file
        for m in re.finditer(r"((?:`[\w.]+`(?:,| /| and| or)?\s*)+)in `?(numpyvae/[\w/]+\.py)`?", text):
            path = m.group(2)
            if path not in defs:
                problems.append(f"{doc.name}: no file {path}")
                continue
            for name in re.findall(r"`([\w.]+)`", m.group(1)):
                if name not in defs[path]:
                    problems.append(f"{doc.name}: {name} is not defined in {path}")
        # any Class.method or *_forward / *_backward named anywhere must exist somewhere
        for name in set(re.findall(r"`([A-Z]\w*\.\w+|\w+_(?:forward|backward))`", text)):
            if name not in every:
                problems.append(f"{doc.name}: {name} is not defined in numpyvae")
        # files and tests named in the docs must exist
        for path in set(re.findall(r"\b((?:numpyvae|tests|examples)/[\w/]+\.py)\b", text)):
            if not (REPO / path).is_file():
                problems.append(f"{doc.name}: {path} does not exist")
        tests_text = "\n".join(p.read_text() for p in (REPO / "tests").glob("test_*.py"))
        for test in set(re.findall(r"`(test_\w+)`", text)):
            if f"def {test}(" not in tests_text:
                problems.append(f"{doc.name}: no test named {test}")
    assert not problems, "\n".join(problems)
