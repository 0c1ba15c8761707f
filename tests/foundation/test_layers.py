"""The layering rules of ARCHITECTURE.md, read from the imports of every module under portal/ and workers/.

Nodes are the packages under portal/ (``portal.guests``, ``portal.sync``...); the modules directly under portal/
and ``portal.models`` are the base layer, one node. The app factory (portal/__init__.py) registers every feature
and is left out.
"""
import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP_FACTORY = ROOT / "portal" / "__init__.py"
BASE_PACKAGES = {"models"}
BASE = "portal"
# Imports inside functions hide a dependency until the function runs: keep them out (the factory aside).
MAX_FUNCTION_LEVEL_IMPORTS = 0


@dataclass
class Import:
    source: str  # the importing module
    path: Path
    line: int
    target: str  # the imported module, or module.name
    in_function: bool

    def __str__(self) -> str:
        return f"{self.source} ({self.path.name}:{self.line}) imports {self.target}"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, source: str | None = None) -> list[Import]:
    """Every import of the module (named ``source``, by default from its path), ``importlib.import_module("...")``
    with a literal name included."""
    source, found = source or module_name(path), []
    package = source if path.name == "__init__.py" else source.rpartition(".")[0]

    def visit(node: ast.AST, in_function: bool) -> None:
        for target in _targets(node, package):
            found.append(Import(source, path, node.lineno, target, in_function))
        inside = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(ast.parse(path.read_text(), filename=str(path)), False)
    return found


def _targets(node: ast.AST, package: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = package.rsplit(".", node.level - 1)[0] if node.level else ""  # ``from . import x`` is package.x
        module = ".".join(part for part in (base, node.module) if part)
        return [f"{module}.{alias.name}" for alias in node.names]  # ``from portal import jobs`` is portal.jobs
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
            return [node.args[0].value]
    return []


def layer(module: str) -> str | None:
    """The node of a module under portal/ (None for anything else)."""
    parts = module.split(".")
    if parts[0] != "portal":
        return None
    if len(parts) > 1 and (ROOT / "portal" / parts[1] / "__init__.py").is_file() and parts[1] not in BASE_PACKAGES:
        return f"portal.{parts[1]}"
    return BASE


def all_imports() -> list[Import]:
    paths = sorted(path for package in ("portal", "workers") for path in (ROOT / package).rglob("*.py"))
    return [found for path in paths if path != APP_FACTORY for found in imports_of(path)]


def package_edges(imports: list[Import]) -> dict[str, dict[str, list[Import]]]:
    edges: dict[str, dict[str, list[Import]]] = {}
    for found in imports:
        source, target = layer(found.source), layer(found.target)
        if source and target and source != target:
            edges.setdefault(source, {}).setdefault(target, []).append(found)
    return edges


def find_cycle(edges: dict[str, dict]) -> list[str] | None:
    """One cycle of the graph as a list of nodes (first == last), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(edges.get(node, {})):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return all_imports()


def test_portal_never_imports_workers_or_the_sandbox(imports):
    """Jobs are named by dotted path (portal.jobs); ``flask toast sandbox`` arrives through an entry point."""
    offenders = [str(found) for found in imports
                 if layer(found.source) and found.target.split(".")[0] in ("workers", "toast_sandbox")]
    assert offenders == [], "portal/ imports workers/ or toast_sandbox/: " + "; ".join(offenders)


def test_no_two_packages_under_portal_import_each_other_even_around_a_loop(imports):
    edges = package_edges(imports)
    cycle = find_cycle(edges)
    detail = [str(edges[a][b][0]) for a, b in zip(cycle, cycle[1:])] if cycle else []
    assert cycle is None, "import cycle " + " -> ".join(cycle or []) + ": " + "; ".join(detail)


def test_the_base_layer_imports_no_feature_package(imports):
    offenders = [str(found) for found in imports
                 if layer(found.source) == BASE and layer(found.target) not in (None, BASE)]
    assert offenders == [], "the base layer imports a feature: " + "; ".join(offenders)


def test_imports_inside_functions_stay_rare(imports):
    inside = [str(found) for found in imports if found.in_function]
    assert len(inside) <= MAX_FUNCTION_LEVEL_IMPORTS, "imports inside functions: " + "; ".join(inside)


# The core (ARCHITECTURE.md): what the sync engine, guest ingest, segments and scoring compute with, taking a session
# and plain values. A package name stands for every module in it.
CORE = (
    "portal.toast", "portal.predict", "portal.models", "portal.config", "portal.dialects", "portal.dbutil",
    "portal.contacts", "portal.dates", "portal.errors", "portal.localtime", "portal.privacy.links",
    "portal.guests.loading", "portal.guests.checks", "portal.guests.identity", "portal.guests.resolution",
    "portal.guests.check_writes", "portal.guests.figures", "portal.guests.daily",
    "portal.segments.rules", "portal.segments.compile", "portal.segments.scored", "portal.scoring",
)
# What the core never reaches: the web framework and its extensions, the app's extension singletons (the
# Flask-SQLAlchemy ``db``), blueprints and routes, job entrypoints.
WEB_PACKAGES = ("flask", "flask_login", "flask_wtf", "flask_limiter", "flask_sqlalchemy", "flask_migrate", "workers")
WEB_MODULES = ("portal.extensions",)
WEB_MODULE_NAMES = ("routes", "list_routes", "blueprint")


def project_module(target: str) -> str | None:
    """The module under portal/ an import names (``module`` or ``module.name``), or None."""
    for name in (target, target.rpartition(".")[0]):
        path = ROOT.joinpath(*name.split("."))
        if name.startswith("portal.") and ((path / "__init__.py").is_file() or path.with_suffix(".py").is_file()):
            return name
    return None


def is_web(target: str) -> bool:
    return target.split(".")[0] in WEB_PACKAGES or any(
        target == module or target.startswith(module + ".") for module in WEB_MODULES) or bool(
        (module := project_module(target)) and module.rpartition(".")[2] in WEB_MODULE_NAMES)


def core_modules() -> list[str]:
    found = []
    for name in CORE:
        path = ROOT.joinpath(*name.split("."))
        found += [module_name(p) for p in sorted(path.rglob("*.py"))] if path.is_dir() else [name]
    return found


def web_reached_from(start: str, imports: list[Import]) -> list[str]:
    """Each import of a web module on the way from ``start`` through the project's modules (the packages a module
    sits in included: importing ``portal.guests.checks`` runs ``portal/guests/__init__.py``; the app factory,
    portal/__init__.py, is the one package left out), as "a -> b -> c imports flask.g"."""
    by_source: dict[str, list[Import]] = {}
    for found in imports:
        by_source.setdefault(found.source, []).append(found)
    seen, queue, offenders = {start: [start]}, [start], []
    while queue:
        module = queue.pop(0)
        parts = module.split(".")
        steps = [(".".join(parts[:i]), None) for i in range(2, len(parts))]  # its packages, the factory aside
        steps += [(project_module(found.target), found) for found in by_source.get(module, [])]
        for target, found in steps:
            if found is not None and is_web(found.target):
                offenders.append(" -> ".join(seen[module]) + f" imports {found.target} ({found.path.name}:{found.line})")
            elif target and target not in seen:
                seen[target] = seen[module] + [target]
                queue.append(target)
    return offenders


def test_the_core_imports_no_flask_extensions_routes_or_workers(imports):
    """The core runs in jobs, commands and benchmarks without an app: it takes a session and plain values
    (``portal.config.Settings``), never ``current_app``, ``db`` or ``url_for``."""
    offenders = [line for module in core_modules() for line in web_reached_from(module, imports)]
    assert offenders == [], "the core imports Flask, portal.extensions, routes or workers: " + "; ".join(offenders)


@pytest.mark.parametrize(("module", "code", "rule"), [
    ("portal.guests.probe", "from workers import sync\n", test_portal_never_imports_workers_or_the_sandbox),
    ("portal.sync.probe", "import importlib\nimportlib.import_module('workers.sync')\n",
     test_portal_never_imports_workers_or_the_sandbox),
    ("portal.sync.probe", "from toast_sandbox import cli\n", test_portal_never_imports_workers_or_the_sandbox),
    ("portal.guests.probe", "from portal.segments import service\n",  # segments imports guests
     test_no_two_packages_under_portal_import_each_other_even_around_a_loop),
    ("portal.probe", "from portal.guests import service\n", test_the_base_layer_imports_no_feature_package),
    ("portal.guests.probe", "def later():\n    import portal.audit\n", test_imports_inside_functions_stay_rare),
    ("portal.segments.rules", "from flask import g\n", test_the_core_imports_no_flask_extensions_routes_or_workers),
    ("portal.toast.client", "from portal.extensions import db\n",
     test_the_core_imports_no_flask_extensions_routes_or_workers),
    ("portal.scoring.store", "from portal.guests import routes\n",  # directly: a routes module
     test_the_core_imports_no_flask_extensions_routes_or_workers),
    ("portal.contacts", "from portal.tenancy import scoped\n",  # transitively: tenancy imports flask
     test_the_core_imports_no_flask_extensions_routes_or_workers),
])
def test_the_rules_catch_a_new_offending_import(tmp_path, imports, module, code, rule):
    """Each rule fails once a module breaking it is added (``module``, with ``code`` as its text)."""
    probe = tmp_path / "probe.py"
    probe.write_text(code)
    with pytest.raises(AssertionError):
        rule(imports + imports_of(probe, source=module))


DIALECT_HOMES = {ROOT / "portal" / "dialects.py", ROOT / "portal" / "sqlite.py"}


def test_only_the_dialect_strategies_ask_which_database_this_is():
    """What differs between SQLite and PostgreSQL lives in portal/dialects.py (and the SQLite connection setup in
    portal/sqlite.py); everything else asks its strategy (``dialect_of``), never ``dialect.name``."""
    offenders = []
    for path in sorted((ROOT / "portal").rglob("*.py")):
        if path in DIALECT_HOMES:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Attribute) and node.attr == "name" and \
                    isinstance(node.value, ast.Attribute) and node.value.attr == "dialect":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], "tests the database's name outside portal/dialects.py: " + ", ".join(offenders)
