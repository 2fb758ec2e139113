"""The package's layers: no module imports upward and no import circle, counting imports written
inside functions and the re-exports of package ``__init__`` files (docs/architecture.md)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "numpyvae"
if not ROOT.is_dir():                                     # the tests run from an installed package
    import numpyvae

    ROOT = Path(numpyvae.__file__).parent

LAYERS = [
    ("_version", "arrays", "datasets"),                   # arrays, random generators, data files
    ("ops",),                                             # the hand-written forward/backward pairs
    ("nn", "optim"),                                      # layers, encoders, decoders; optimizers
    ("models",),                                          # the VAE, its variants, the registry
    ("evaluation",),                                      # bounds, importance sampling, HMC, marginal likelihood
    ("algorithms",),                                      # SGVB, wake-sleep, Monte Carlo EM, full VB
    ("gradcheck",),                                       # finite-difference checks of ops and models
    ("training",),                                        # the engine: trainer, checkpoints, logs
    ("plotting",),                                        # figures
    ("estimator", "cli", "reproduce", "__main__"),        # the front ends
]
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}
FRONT_ENDS = set(LAYERS[-1])


def modules():
    """Dotted name -> (path, is_package) of every module of the package."""
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


def imports_of(name, path, is_pkg, known):
    """The package modules that module ``name`` imports anywhere in its text (functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in known else target for a in node.names]
        else:
            continue
        for t in targets:
            if t.split(".")[0] == "numpyvae" and t in known and t != name:
                found.add(t)
    return found


def layer(module):
    """The layer of a dotted module name (its first component below ``numpyvae``)."""
    parts = module.split(".")
    return None if len(parts) == 1 else LAYER_OF.get(parts[1])


MODULES = modules()
GRAPH = {m: imports_of(m, p, pkg, MODULES) for m, (p, pkg) in MODULES.items()}


def test_every_top_level_entry_has_a_layer():
    tops = {m.split(".")[1] for m in MODULES if m != "numpyvae"}
    assert tops - set(LAYER_OF) == set(), "add the new package or module to LAYERS (and docs/architecture.md)"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "numpyvae"))
def test_no_module_imports_upward(module):
    """A module imports only from its own layer or below; only the package's front door (numpyvae/__init__)
    sees everything. Within a layer, two packages may not import each other (see the circle test)."""
    upward = sorted(t for t in GRAPH[module] if t != "numpyvae" and layer(t) > layer(module))
    assert upward == [], f"{module} (layer {layer(module)}) imports from higher layers: {upward}"
    assert "numpyvae" not in GRAPH[module], f"{module} imports the package root (import from the module itself)"


def test_nothing_below_the_front_ends_imports_them():
    for module, targets in GRAPH.items():
        if module == "numpyvae" or module.split(".")[1] in FRONT_ENDS:
            continue
        bad = sorted(t for t in targets if t.split(".")[1] in FRONT_ENDS)
        assert bad == [], f"{module} imports the front ends {bad}"


def test_no_import_circle():
    """Strongly connected components of the import graph (a package's __init__ counts as imported by
    everything that imports one of its modules, as Python runs it first)."""
    graph = {}
    for module, targets in GRAPH.items():
        edges = set()
        for t in targets:
            parts = t.split(".")
            for i in range(2, len(parts) + 1):               # t and the packages above it, below the root
                parent = ".".join(parts[:i])
                if parent in MODULES and parent != module and not module.startswith(parent + "."):
                    edges.add(parent)
        graph[module] = edges
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v, counter=[0]):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == [], f"import circles: {cycles}"


def test_the_walker_sees_imports_inside_functions(tmp_path):
    """The check can fail: an import written inside a function is found."""
    pkg = tmp_path / "numpyvae"
    (pkg / "models").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "models" / "__init__.py").write_text("")
    (pkg / "training.py").write_text("")
    (pkg / "models" / "vae.py").write_text("def f():\n    from ..training import Trainer\n")
    known = {"numpyvae", "numpyvae.models", "numpyvae.models.vae", "numpyvae.training"}
    found = imports_of("numpyvae.models.vae", pkg / "models" / "vae.py", False, known)
    assert found == {"numpyvae.training"} and layer("numpyvae.training") > layer("numpyvae.models.vae")
