"""The package's shape, checked statically (no dbt runs): what the wheel ships,
which way imports point, how big a module grows, and the few places allowed to
pick an engine or open a Snowflake connection.

Each rule is a function of a project root returning its violations, so the
`test_rule_catches_*` tests can show on a small broken tree that it fails."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PROJECT_DIR

from snowcart.settings import TARGETS

PACKAGE = "snowcart"
CLI_MODULE = "snowcart.cli"
MAX_MODULE_LINES = 500
HEAVY = ("dbt", "duckdb", "pandas", "snowflake", "pyarrow", "numpy")
# Value types and the engine interface: importing them must never load an engine.
LIGHT_MODULES = ("snowcart.engines.base", "snowcart.settings", "snowcart.errors")
PYTHON_FOLDERS = ("snowcart", "scripts", "dashboard", "benchmarks")
SNOWFLAKE_CONNECT = "snowflake.connector.connect"
CONNECTION_MODULE = "snowcart/engines/snowflake/connection.py"
ENGINE_CHOOSERS = ("snowcart/engines/__init__.py", CONNECTION_MODULE)
DBT_FOLDERS_WITHOUT_ENGINE_CHECKS = ("models", "snapshots", "tests/dbt", "seeds", "dbt_project.yml")
TARGET_TYPE = re.compile(r"\btarget\s*(\.\s*type\b|\[\s*['\"]type['\"]\s*\])")


# ---------------------------------------------------------------- reading code


def python_files(root: Path, folder: str) -> list[Path]:
    base = root / folder
    return sorted(path for path in base.rglob("*.py") if "__pycache__" not in path.parts)


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import that can run, with whether it runs at import time (outside
    any function); the bodies of `if TYPE_CHECKING:` never run."""

    def walk(node: ast.AST, at_module_level: bool) -> Iterator:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and is_type_checking(child.test):
                for other in child.orelse:
                    yield from walk_one(other, at_module_level)
                continue
            yield from walk_one(child, at_module_level)

    def walk_one(node: ast.AST, at_module_level: bool) -> Iterator:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, at_module_level
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from walk(node, False)
        else:
            yield from walk(node, at_module_level)

    yield from walk(tree, True)


def imported_names(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """Absolute dotted names an import statement asks for (`from a import b`: a.b)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, *([base] if base else [])])
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


class ImportGraph:
    """snowcart module → the snowcart modules it imports (function bodies too)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.paths = {module_name(root, path): path for path in python_files(root, PACKAGE)}
        self.edges: dict[str, set[str]] = {module: set() for module in self.paths}
        self.module_level: dict[str, set[str]] = {module: set() for module in self.paths}
        self.heavy: dict[str, list[str]] = {module: [] for module in self.paths}
        for module, path in self.paths.items():
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            is_package = path.name == "__init__.py"
            for node, at_module_level in runtime_imports(tree):
                for name in self._targets(node, module, is_package):
                    self.edges[module].add(name)
                    if at_module_level:
                        self.module_level[module].add(name)
                if at_module_level:
                    for name in imported_names(node, module, is_package):
                        if name.split(".")[0] in HEAVY:
                            self.heavy[module].append(f"{name} (line {node.lineno})")

    def _targets(
        self, node: ast.Import | ast.ImportFrom, module: str, is_package: bool
    ) -> set[str]:
        """The snowcart modules an import names: `from a import b` names the module
        a.b if there is one, else a; `import a.b.c` the longest known prefix. (The
        packages on the way run too, but a package lazily importing its own
        sub-modules is no cycle.)"""
        names = imported_names(node, module, is_package)
        if isinstance(node, ast.ImportFrom):
            base = names.pop()
            names = [name if name in self.paths else base for name in names]
        found = set()
        for name in names:
            parts = name.split(".")
            while parts and ".".join(parts) not in self.paths:
                parts.pop()
            if parts and ".".join(parts) != module:
                found.add(".".join(parts))
        return found

    def cycles(self) -> list[list[str]]:
        """Strongly connected groups of more than one module (Tarjan)."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        groups: list[list[str]] = []

        def visit(module: str) -> None:
            index[module] = low[module] = len(index)
            stack.append(module)
            on_stack.add(module)
            for imported in sorted(self.edges[module]):
                if imported not in index:
                    visit(imported)
                    low[module] = min(low[module], low[imported])
                elif imported in on_stack:
                    low[module] = min(low[module], index[imported])
            if low[module] == index[module]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))

        for module in sorted(self.paths):
            if module not in index:
                visit(module)
        return groups

    def loaded_at_import(self, module: str) -> set[str]:
        """Every snowcart module importing `module` runs: its packages, what they
        import at module level, and so on."""
        seen, todo = set(), [module]
        while todo:
            current = todo.pop()
            if current in seen or current not in self.paths:
                continue
            seen.add(current)
            parts = current.split(".")
            todo += [".".join(parts[:end]) for end in range(1, len(parts))]
            todo += self.module_level[current]
        return seen


def qualified_names(tree: ast.Module) -> Iterator[tuple[ast.expr, str]]:
    """Each name or attribute chain that resolves to an imported object, as the
    dotted name it was imported under (`sc.connect` after `import snowflake.connector as sc`)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def resolve(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = resolve(node.value)
            return None if base is None else f"{base}.{node.attr}"
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Name | ast.Attribute) and (name := resolve(node)):
            yield node, name


def parsed(root: Path, folders: tuple[str, ...]) -> Iterator[tuple[str, ast.Module]]:
    for folder in folders:
        if not (root / folder).is_dir():
            continue
        for path in python_files(root, folder):
            relative = path.relative_to(root).as_posix()
            yield relative, ast.parse(path.read_text(encoding="utf-8"), relative)


def in_line_order(found: list[str]) -> list[str]:
    """`path:line: …` entries, files in scan order, lines ascending (ast.walk is breadth-first)."""
    files = list(dict.fromkeys(item.split(":")[0] for item in found))
    return sorted(
        found, key=lambda item: (files.index(item.split(":")[0]), int(item.split(":")[1]))
    )


# ---------------------------------------------------------------- the rules


def import_cycles(root: Path) -> list[str]:
    return [" ↔ ".join(group) for group in ImportGraph(root).cycles()]


def library_imports_of_cli(root: Path) -> list[str]:
    graph = ImportGraph(root)
    return [
        module
        for module, imported in sorted(graph.edges.items())
        if module != CLI_MODULE and CLI_MODULE in imported
    ]


def heavy_imports_of_light_modules(root: Path) -> list[str]:
    """Heavy module-level imports anywhere in what importing a light module runs."""
    graph = ImportGraph(root)
    found = []
    for light in LIGHT_MODULES:
        for module in sorted(graph.loaded_at_import(light)):
            found += [f"{light} → {module}: {heavy}" for heavy in graph.heavy[module]]
    return found


def long_modules(root: Path) -> list[str]:
    found = []
    for path in python_files(root, PACKAGE):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            found.append(f"{path.relative_to(root).as_posix()}: {lines} lines")
    return found


def sys_path_edits(root: Path) -> list[str]:
    """sys.path.insert/append/extend/remove, assignments to sys.path, site.addsitedir."""
    edits = {f"sys.path.{verb}" for verb in ("insert", "append", "extend", "remove")}
    edits.add("site.addsitedir")
    found = []
    for relative, tree in parsed(root, PYTHON_FOLDERS):
        for node, name in qualified_names(tree):
            if name in edits:
                found.append(f"{relative}:{node.lineno}: {name}")
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                inner = target.value if isinstance(target, ast.Subscript) else target
                if ast.unparse(inner) == "sys.path":
                    found.append(f"{relative}:{node.lineno}: assigns sys.path")
    return in_line_order(found)


def snowflake_connects(root: Path) -> list[str]:
    """Every `snowflake.connector.connect` outside tests, however it is imported."""
    return in_line_order(
        [
            f"{relative}:{node.lineno}"
            for relative, tree in parsed(root, PYTHON_FOLDERS)
            for node, name in qualified_names(tree)
            if name == SNOWFLAKE_CONNECT
        ]
    )


def target_constants(tree: ast.Module) -> set[str]:
    """Module-level names bound to a target name (DEV = "dev")."""
    names = set()
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and node.value.value in TARGETS
        ):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


def engine_choices(root: Path) -> list[str]:
    """Comparisons of a target (a name `target`, an attribute `.target`) with a
    target name (a literal in TARGETS, a tuple/list/set of them, or a module
    constant holding one), in `==`, `!=`, `in`, `not in` or a `match`."""
    found = []

    def is_target(node: ast.expr) -> bool:
        return (isinstance(node, ast.Name) and node.id == "target") or (
            isinstance(node, ast.Attribute) and node.attr == "target"
        )

    for relative, tree in parsed(root, PYTHON_FOLDERS):
        constants = target_constants(tree)

        def is_target_name(node: ast.expr, constants: set[str] = constants) -> bool:
            if isinstance(node, ast.Constant):
                return node.value in TARGETS
            if isinstance(node, ast.Name):
                return node.id in constants
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                return any(is_target_name(element) for element in node.elts)
            return False

        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                if any(map(is_target, operands)) and any(map(is_target_name, operands)):
                    found.append(f"{relative}:{node.lineno}: {ast.unparse(node)}")
            elif isinstance(node, ast.Match) and is_target(node.subject):
                for case in node.cases:
                    values = [
                        pattern.value
                        for pattern in ast.walk(case.pattern)
                        if isinstance(pattern, ast.MatchValue)
                    ]
                    if any(map(is_target_name, values)):
                        found.append(f"{relative}:{case.pattern.lineno}: match on a target")
    return in_line_order(found)


def dbt_engine_checks(root: Path) -> list[str]:
    found = []
    for entry in DBT_FOLDERS_WITHOUT_ENGINE_CHECKS:
        base = root / entry
        paths = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in paths:
            text = path.read_text(encoding="utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), start=1):
                if TARGET_TYPE.search(line):
                    found.append(f"{path.relative_to(root).as_posix()}:{number}: {line.strip()}")
    return found


# ---------------------------------------------------------------- the wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A regular (not editable) wheel, built from a copy of the project so the
    build's egg-info and build/ never land in the working tree."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "setup.cfg", "MANIFEST.in", "LICENSE"):
        if (PROJECT_DIR / name).exists():
            shutil.copy2(PROJECT_DIR / name, source / name)
    shutil.copytree(
        PROJECT_DIR / PACKAGE,
        source / PACKAGE,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(work),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel_path,) = work.glob("snowcart-*.whl")
    return wheel_path


def packages_in_tree(root: Path) -> list[str]:
    return sorted(
        path.parent.relative_to(root).as_posix()
        for path in (root / PACKAGE).rglob("__init__.py")
        if "__pycache__" not in path.parts
    )


def test_wheel_ships_every_sub_package_and_the_snowflake_sql(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    missing = [
        f"{package}/__init__.py"
        for package in packages_in_tree(PROJECT_DIR)
        if f"{package}/__init__.py" not in names
    ]
    sql_folder = PROJECT_DIR / PACKAGE / "engines" / "snowflake" / "sql"
    missing += [
        path.relative_to(PROJECT_DIR).as_posix()
        for path in sorted(sql_folder.glob("*.sql"))
        if path.relative_to(PROJECT_DIR).as_posix() not in names
    ]
    assert not missing, f"not in {wheel.name}: {missing}"


def test_installed_wheel_imports_from_its_own_folder(wheel, tmp_path):
    target = tmp_path / "installed"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target)]
        + [str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    packages = [package.replace("/", ".") for package in packages_in_tree(PROJECT_DIR)]
    # PYTHONPATH comes before site-packages, where the editable install's finder
    # lives: every package must come from the wheel's folder, with its data files.
    check = (
        "import importlib, importlib.resources, sys\n"
        f"for name in {packages!r}:\n"
        "    module = importlib.import_module(name)\n"
        "    print(name, module.__file__)\n"
        "sql = importlib.resources.files('snowcart.engines.snowflake') / 'sql'\n"
        "print('sql', sql if sql.is_dir() else '')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    imported = subprocess.run(
        [sys.executable, "-c", check],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    locations = dict(line.split(" ", 1) for line in imported.stdout.splitlines())
    outside = {
        name: location
        for name, location in locations.items()
        if location and not Path(location).resolve().is_relative_to(target.resolve())
    }
    assert not outside, f"imported from outside the installed wheel: {outside}"
    assert set(packages) <= set(locations)
    if (PROJECT_DIR / PACKAGE / "engines" / "snowflake" / "sql").is_dir():
        assert locations["sql"], "snowcart/engines/snowflake/sql is not installed"


# ---------------------------------------------------------------- imports


def test_installed_wheel_runs_the_project_of_the_working_directory(wheel, tmp_path):
    """Installed (not editable), the package finds the dbt project from the
    working directory, and says in one line when there is none."""
    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target)]
        + [str(wheel)],
        check=True,
        timeout=300,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("SNOWCART_PROJECT_DIR", None)
    probe = "import snowcart.settings as s; print(s.__file__); print(s.PROJECT_DIR)"
    inside = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_DIR / "models", env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    module_file, project = inside.stdout.split()
    assert Path(module_file).resolve().is_relative_to(target.resolve())
    assert Path(project) == PROJECT_DIR.resolve()
    elsewhere = subprocess.run(
        [sys.executable, "-c", "from snowcart.cli import setup_main; setup_main(['--target', 'dev'])"],
        cwd=tmp_path, env={**env, "SNOWCART_HOME": str(tmp_path / "home")},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "no dbt project in" in elsewhere.stderr and "SNOWCART_PROJECT_DIR" in elsewhere.stderr
    assert len(elsewhere.stderr.strip().splitlines()) == 1, elsewhere.stderr


def test_no_import_cycles():
    assert import_cycles(PROJECT_DIR) == []


def test_library_code_never_imports_the_cli():
    assert library_imports_of_cli(PROJECT_DIR) == []


def test_value_types_and_the_interface_import_nothing_heavy():
    assert heavy_imports_of_light_modules(PROJECT_DIR) == []


@pytest.mark.parametrize("module", LIGHT_MODULES)
def test_importing_a_light_module_loads_no_engine(module, tmp_path):
    check = (
        f"import sys, {module}\n"
        f"print(' '.join(sorted(name for name in {HEAVY!r} if name in sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", check], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == [], f"importing {module} loads {loaded.stdout.strip()}"


# ---------------------------------------------------------------- size and paths


def test_no_module_over_the_line_limit():
    assert long_modules(PROJECT_DIR) == []


def test_no_sys_path_edits():
    assert sys_path_edits(PROJECT_DIR) == []


# ---------------------------------------------------------------- one place each


def test_one_place_opens_a_snowflake_connection():
    """`snowflake.connector.connect` only in engines/snowflake/connection.py (the
    tests connect to fakesnow themselves to check what landed; they are not scanned)."""
    places = snowflake_connects(PROJECT_DIR)
    assert places, f"{SNOWFLAKE_CONNECT} is gone from {CONNECTION_MODULE}"
    assert {place.split(":")[0] for place in places} == {CONNECTION_MODULE}, places


def test_one_place_picks_an_engine():
    """The rule: comparing a target (a variable `target` or any `.target`
    attribute) with a target name ('dev', 'snowflake', 'fakesnow', a tuple of
    them, or a module constant holding one) by ==, !=, in, not in or `match`
    picks an engine, and happens only in engines/__init__.py (engine_for) and
    engines/snowflake/connection.py (fakesnow's connection settings).

    Not choices, so not counted: checking a name against the TARGETS tuple
    (settings.py validates it) and comparing two targets (the CLI checking a
    flag belongs to the chosen --target). The rule cannot see a choice spelled
    another way (isinstance on an engine class, a dict keyed by target name)."""
    places = engine_choices(PROJECT_DIR)
    assert any(place.startswith(ENGINE_CHOOSERS[0]) for place in places), places
    assert {place.split(":")[0] for place in places} <= set(ENGINE_CHOOSERS), places


def test_engine_checks_live_in_macros_only():
    assert dbt_engine_checks(PROJECT_DIR) == []


# ---------------------------------------------------------------- the rules can fail


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_rule_catches_an_import_cycle_through_a_function_but_not_type_checking(tmp_path):
    root = write(
        tmp_path,
        {
            "snowcart/__init__.py": "",
            "snowcart/a.py": "from snowcart import b\n",
            "snowcart/b.py": "def f():\n    from snowcart.a import x\n",
            "snowcart/c.py": "from typing import TYPE_CHECKING\nimport snowcart.a\n",
            "snowcart/d.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from . import c\n",
        },
    )
    assert import_cycles(root) == ["snowcart.a ↔ snowcart.b"]
    (root / "snowcart/a.py").write_text("from .d import y\n")
    (root / "snowcart/c.py").write_text("from snowcart.d import z\n")
    assert import_cycles(root) == []


def test_rule_catches_library_code_importing_the_cli(tmp_path):
    root = write(
        tmp_path,
        {
            "snowcart/__init__.py": "",
            "snowcart/cli.py": "import snowcart.loop\n",
            "snowcart/loop.py": "def main():\n    from snowcart.cli import run\n",
        },
    )
    assert library_imports_of_cli(root) == ["snowcart.loop"]


def test_rule_catches_a_heavy_import_behind_a_light_module(tmp_path):
    root = write(
        tmp_path,
        {
            "snowcart/__init__.py": "",
            "snowcart/errors.py": "",
            "snowcart/settings.py": "from snowcart.errors import E\n"
            "def load():\n    import duckdb\n",
            "snowcart/engines/__init__.py": "",
            "snowcart/engines/base.py": "from typing import TYPE_CHECKING\n"
            "from snowcart.engines.values import V\n"
            "if TYPE_CHECKING:\n    import pandas\n",
            "snowcart/engines/values.py": "import numpy as np\n",
        },
    )
    assert heavy_imports_of_light_modules(root) == [
        "snowcart.engines.base → snowcart.engines.values: numpy (line 1)"
    ]


def test_rule_catches_long_modules_and_sys_path_edits(tmp_path):
    root = write(
        tmp_path,
        {
            "snowcart/__init__.py": "x = 1\n" * (MAX_MODULE_LINES + 1),
            "scripts/run.py": "import sys\nsys.path.insert(0, '.')\n",
            "benchmarks/b.py": "import sys\nsys.path += ['.']\n",
            "dashboard/app.py": "from sys import path\npath.append('.')\n",
        },
    )
    assert long_modules(root) == [f"snowcart/__init__.py: {MAX_MODULE_LINES + 1} lines"]
    assert sys_path_edits(root) == [
        "scripts/run.py:2: sys.path.insert",
        "dashboard/app.py:2: sys.path.append",
        "benchmarks/b.py:2: assigns sys.path",
    ]


def test_rule_catches_a_second_connection_and_a_scattered_engine_choice(tmp_path):
    root = write(
        tmp_path,
        {
            "snowcart/__init__.py": "",
            "snowcart/loop.py": "import snowflake.connector as sc\nDEV = 'dev'\n"
            "def go(settings):\n"
            "    if settings.target == DEV:\n        return sc.connect()\n"
            "    if 'fakesnow' != settings.target:\n        pass\n",
            "scripts/x.py": "from snowflake.connector import connect\n"
            "def f(target, other):\n    match target:\n        case 'snowflake':\n"
            "            connect()\n    return target in ('dev',) or other.target == target\n",
        },
    )
    assert snowflake_connects(root) == ["snowcart/loop.py:5", "scripts/x.py:5"]
    assert engine_choices(root) == [
        "snowcart/loop.py:4: settings.target == DEV",
        "snowcart/loop.py:6: 'fakesnow' != settings.target",
        "scripts/x.py:4: match on a target",
        "scripts/x.py:6: target in ('dev',)",
    ]


def test_rule_catches_target_type_outside_macros(tmp_path):
    root = write(
        tmp_path,
        {
            "macros/engine.sql": "{% if target.type == 'duckdb' %}{% endif %}\n",
            "models/a.sql": "select 1\n{% if target['type'] == 'snowflake' %}{% endif %}\n",
            "dbt_project.yml": 'vars:\n  x: "{{ target.type }}"\n',
            "tests/dbt/t.sql": "select 1\n",
        },
    )
    assert dbt_engine_checks(root) == [
        "models/a.sql:2: {% if target['type'] == 'snowflake' %}{% endif %}",
        'dbt_project.yml:2: x: "{{ target.type }}"',
    ]
