"""The separation rule: fusion takes nothing from the simulation (nor from services or the
evaluation), directly or through the modules it imports, and its class model's numbers are
its own (docs/architecture.md, docs/sensors.md "The separation rule")."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import json
import subprocess
import sys
from pathlib import Path

import perimeter.fusion
from perimeter.fusion.classify import ClassModel

FUSION_DIR = Path(perimeter.fusion.__file__).parent
FORBIDDEN = ("sim", "services", "perimeter.evaluation")


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def _imports(tree: ast.AST) -> list[str]:
    """Every module named by an import statement or an ``import_module``/``__import__`` call
    with a literal name."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if called in ("import_module", "__import__") and isinstance(first, ast.Constant) \
                    and isinstance(first.value, str):
                names.append(first.value)
    return names


def test_no_fusion_module_imports_the_simulation_services_or_the_evaluation() -> None:
    files = sorted(FUSION_DIR.rglob("*.py"))
    assert len(files) > 10
    bad = {f"{path.name}: {name}" for path in files
           for name in _imports(ast.parse(path.read_text(encoding="utf-8"))) if _forbidden(name)}
    assert not bad, sorted(bad)


def test_the_check_catches_what_it_should() -> None:
    tree = ast.parse("import sim.signatures\nfrom services import up\n"
                     "import importlib\nimportlib.import_module('perimeter.evaluation.run')\n"
                     "from perimeter.geometry import bearing_deg\n")
    assert [n for n in _imports(tree) if _forbidden(n)] == [
        "sim.signatures", "services", "perimeter.evaluation.run"]


def test_importing_all_of_fusion_loads_none_of_them_indirectly() -> None:
    modules = [f"perimeter.fusion.{p.stem}" for p in sorted(FUSION_DIR.glob("*.py"))
               if p.stem != "__init__"]
    code = ("import json, sys\n" + "".join(f"import {m}\n" for m in modules)
            + "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    loaded = json.loads(out.stdout)
    assert "perimeter.fusion.engine" in loaded
    assert [m for m in loaded if _forbidden(m)] == []


def _is_data(value: object) -> bool:
    """Numbers and containers (what a copied constant would be), not functions or classes."""
    return isinstance(value, int | float | dict | tuple | list | frozenset | set)


def test_the_class_models_numbers_are_defined_in_fusion_itself() -> None:
    """Each default of the class model (priors, sizes, speeds, heights, hint tables) is built
    in a module of ``perimeter.fusion`` from literals and that package's own names; none is a
    value imported from elsewhere."""
    owner = importlib.import_module(ClassModel.__module__)
    assert ClassModel.__module__.startswith("perimeter.fusion.")
    sources = {ClassModel.__module__}
    sources |= {f"perimeter.fusion.{p.stem}" for p in FUSION_DIR.glob("prior*.py")}
    for module_name in sorted(sources):
        module = importlib.import_module(module_name)
        tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                    and not node.module.startswith("perimeter.fusion"):
                source = importlib.import_module(node.module)
                values = [a.name for a in node.names
                          if _is_data(getattr(source, a.name, None))]
                assert not values, f"{module_name} takes {values} from {node.module}"
    model = ClassModel()
    numbers = [f.name for f in dataclasses.fields(model)
               if isinstance(getattr(model, f.name), int | float | dict | tuple)]
    assert {"prior", "size_m", "speed_mean_mps", "height_m"} <= set(numbers)
    assert owner.__file__ is not None and Path(owner.__file__).parent == FUSION_DIR


def test_every_nominal_in_fusions_priors_names_its_source() -> None:
    """Fusion's priors module documents each nominal value: its source, or that it is
    assumed."""
    modules = [importlib.import_module(f"perimeter.fusion.{p.stem}")
               for p in sorted(FUSION_DIR.glob("prior*.py"))]
    nominals = []
    for module in modules:
        nominal_type = getattr(module, "Nominal", None)
        if nominal_type is None:
            continue
        for value in vars(module).values():
            found = [value] if isinstance(value, nominal_type) else []
            if isinstance(value, tuple):  # e.g. the animal kinds, each holding nominals
                found += [v for item in value if dataclasses.is_dataclass(item)
                          for v in (getattr(item, f.name) for f in dataclasses.fields(item))
                          if isinstance(v, nominal_type)]
            nominals += found
    assert modules, "fusion's priors module (perimeter/fusion/priors.py) is missing"
    assert len(nominals) >= 5
    assert all(n.source.strip() for n in nominals), [n for n in nominals if not n.source.strip()]
    assert all(n.lo <= n.hi for n in nominals)
