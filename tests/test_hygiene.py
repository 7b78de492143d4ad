"""Package hygiene, found by walking the files rather than from hand-written lists.

* every module of the core and the sandbox imports without loading a UI toolkit;
* (issue 12 §1) no module over ~400 lines, no import cycle among module-level imports,
  no module reaching into another module's private (underscore) names.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import repo_env

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "smtpdbg"
MAX_LINES = 400
UI = ("textual", "prompt_toolkit", "rich")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_under(*packages: str) -> list[str]:
    """Every importable module of these packages, found on disk (``__main__`` would run a program: left out)."""
    found = []
    for package in packages:
        for path in sorted((ROOT / package.replace(".", "/")).rglob("*.py")):
            if path.name != "__main__.py":
                found.append(module_name(path))
    return found


# -- no UI toolkit in the core ---------------------------------------------------------------------------

PROBE = textwrap.dedent("""\
    import importlib, json, sys
    banned = set(sys.argv[2].split(","))
    blamed = {}
    for name in sys.argv[1].split(","):
        importlib.import_module(name)
        loaded = sorted({m.split(".")[0] for m in sys.modules} & banned)
        if loaded:
            blamed[name] = loaded
            break  # later modules would only be blamed for what this one loaded
    print(json.dumps(blamed))
    """)


def loaded_by(modules: list[str], banned: tuple[str, ...]) -> dict[str, list[str]]:
    """Import the modules one after another in a fresh interpreter; the first that loads a banned package."""
    result = subprocess.run([sys.executable, "-c", PROBE, ",".join(modules), ",".join(banned)], capture_output=True,
                            text=True, env=repo_env(), timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_no_module_of_the_core_or_the_sandbox_loads_a_ui_toolkit():
    modules = modules_under("smtpdbg.core", "smtpdbg.sandbox")
    assert "smtpdbg.core.traced" in modules and "smtpdbg.sandbox.server" in modules and len(modules) > 40
    assert loaded_by(modules, UI) == {}


def test_the_cli_runner_and_library_load_no_ui_toolkit_nor_server():
    modules = ["smtpdbg", "smtpdbg.cli", "smtpdbg.runner", "smtpdbg.library"]
    assert loaded_by(modules, UI + ("aiosmtpd", "trustme")) == {}


# -- the package's shape, from its ASTs ---------------------------------------------------------------------


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    lines: int
    is_package: bool
    imports: set[str] = field(default_factory=set)
    """Modules of the package this one imports when it is imported (module-level statements)."""
    own_private: set[str] = field(default_factory=set)
    """Underscore names this module defines (functions, classes, attributes set on self, class bodies)."""


def _load() -> dict[str, Module]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        name = module_name(path)
        modules[name] = Module(name, path, ast.parse(source, str(path)), len(source.splitlines()),
                               path.name == "__init__.py")
    for module in modules.values():
        module.imports = _module_level_imports(module, modules)
        module.own_private = _private_definitions(module.tree)
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _top_level(body: list[ast.stmt]):
    """Statements run when the module is imported: the body, into if/try/with blocks, not into functions/classes."""
    for node in body:
        yield node
        if isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *[h.body for h in node.handlers]):
                yield from _top_level(block)
        elif isinstance(node, ast.With):
            yield from _top_level(node.body)


def _resolve(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.name.split(".")
    base = base if module.is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _module_level_imports(module: Module, modules: dict[str, Module]) -> set[str]:
    found = set()
    for node in _top_level(module.tree.body):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            for alias in node.names:
                target = f"{source}.{alias.name}"
                if target in modules:  # from package import submodule
                    found.add(target)
                elif source in modules:
                    found.add(source)
    found.discard(module.name)
    return found


def _private_definitions(tree: ast.Module) -> set[str]:
    """Functions, methods and classes; names bound in the module's or a class's body; ``self._x``/``cls._x``."""
    names = set()
    bodies = [tree.body]
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            if isinstance(node, ast.ClassDef):
                bodies.append(node.body)
        elif (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
              and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            names.add(node.attr)
    for body in bodies:
        for statement in _top_level(body):
            targets = statement.targets if isinstance(statement, ast.Assign) else \
                [statement.target] if isinstance(statement, ast.AnnAssign) else []
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return {n for n in names if _private(n)}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def oversized(modules: dict[str, Module]) -> list[str]:
    return sorted(f"{m.name}: {m.lines} lines" for m in modules.values() if m.lines > MAX_LINES)


def import_cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Strongly connected groups of module-level imports (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for target in sorted(modules[name].imports):
            if target not in index:
                visit(target)
                low[name] = min(low[name], low[target])
            elif target in on_stack:
                low[name] = min(low[name], index[target])
        if low[name] == index[name]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == name:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for name in sorted(modules):
        if name not in index:
            visit(name)
    return sorted(cycles)


def private_access(modules: dict[str, Module]) -> list[str]:
    """Where a module uses another smtpdbg module's underscore names.

    * ``from smtpdbg.x import _name`` and ``x._name`` on an imported smtpdbg module;
    * ``obj._attr`` (obj not ``self``/``cls``/``super()``) where ``_attr`` is defined by some other
      smtpdbg module and not by this one (an object's own class may touch its peers' privates).
    Underscore names of other libraries (``socket._GLOBAL_DEFAULT_TIMEOUT``) are not counted.
    """
    defined_by: dict[str, set[str]] = {}
    for module in modules.values():
        for name in module.own_private:
            defined_by.setdefault(name, set()).add(module.name)
    found = []
    for module in modules.values():
        aliases = {}  # local name -> smtpdbg module it is bound to
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules:
                        aliases[alias.asname or alias.name.split(".")[0]] = alias.name
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(module, node)
                for alias in node.names:
                    if f"{source}.{alias.name}" in modules:
                        aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
                    elif source in modules and _private(alias.name):
                        found.append(f"{module.name}:{node.lineno}: from {source} import {alias.name}")
        for node in ast.walk(module.tree):
            if not (isinstance(node, ast.Attribute) and _private(node.attr)):
                continue
            owner = node.value
            where = f"{module.name}:{node.lineno}"
            if isinstance(owner, ast.Name) and owner.id in aliases:
                if aliases[owner.id] != module.name:
                    found.append(f"{where}: {aliases[owner.id]}.{node.attr}")
                continue
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
                continue
            others = defined_by.get(node.attr, set()) - {module.name}
            if others and node.attr not in module.own_private:
                found.append(f"{where}: {ast.unparse(owner)}.{node.attr} (defined in {', '.join(sorted(others))})")
    return sorted(set(found))


@pytest.fixture(scope="module")
def package() -> dict[str, Module]:
    return _load()


def test_the_walk_sees_the_whole_package(package):
    assert {"smtpdbg", "smtpdbg.cli", "smtpdbg.core.traced", "smtpdbg.tui.app", "smtpdbg.sandbox.server"} <= set(package)
    assert "smtpdbg.core.events" in package["smtpdbg.core.transcript"].imports


def test_no_module_is_over_400_lines(package):
    assert oversized(package) == []


def test_no_import_cycle_among_module_level_imports(package):
    assert import_cycles(package) == []


def test_no_module_reads_another_modules_private_names(package):
    assert private_access(package) == []


def test_the_checks_catch_what_they_look_for(tmp_path):
    """The walkers on a made-up package: a cycle, a long module, private access of each kind."""
    files = {
        "a.py": "from pkg import b\nfrom pkg.b import _helper\n" + "x = 1\n" * 400,
        "b.py": "import pkg.a\n\ndef _helper():\n    pass\n\nclass B:\n    def __init__(self):\n        self._state = 1\n",
        "c.py": "from pkg import b\n\ndef use(thing):\n    return b._helper, thing._state\n",
        "d.py": "class D:\n    def __init__(self):\n        self._state = 0\n\n    def same(self, other):\n"
                "        return other._state\n",
    }
    fake = {}
    for filename, source in files.items():
        name = f"pkg.{filename[:-3]}"
        fake[name] = Module(name, tmp_path / filename, ast.parse(source), len(source.splitlines()), False)
    fake["pkg"] = Module("pkg", tmp_path / "__init__.py", ast.parse(""), 0, True)
    for module in fake.values():
        module.imports = _module_level_imports(module, fake)
        module.own_private = _private_definitions(module.tree)
    assert oversized(fake) == ["pkg.a: 402 lines"]
    assert import_cycles(fake) == [["pkg.a", "pkg.b"]]
    assert private_access(fake) == [
        "pkg.a:2: from pkg.b import _helper",
        "pkg.c:4: pkg.b._helper",
        "pkg.c:4: thing._state (defined in pkg.b, pkg.d)",
    ]


if __name__ == "__main__":  # what the checks find now: python -m tests.test_hygiene
    found = _load()
    print("\n".join(["over the limit:", *oversized(found), "cycles:", *map(str, import_cycles(found)),
                     "private access:", *private_access(found)]))
