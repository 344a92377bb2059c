"""Imports run one way: ingest <- qa_service <- eval <- reportqa (the CLI). No module imports a layer above its
own, not even inside a function; relative imports are resolved first. A failure names the file and line."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("ingest", "qa_service", "eval", "reportqa")  # each may import only itself and the layers before it


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module an ImportFrom names (`from ..x import y` inside a.b.c -> a.x)."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, absolute module) for every import in the tree: top level, in functions, in classes, and
    `importlib.import_module("x")` / `__import__("x")` with a literal name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, _resolve(node, module, is_package)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                yield node.lineno, node.args[0].value


def backward_imports(root: Path, layers: tuple[str, ...] = LAYERS) -> list[str]:
    """`path:line: module imports target` for every import of a layer above the importing module's own."""
    rank = {name: i for i, name in enumerate(layers)}
    found = []
    for layer in layers:
        for path in sorted((root / layer).rglob("*.py")):
            module = module_name(path, root)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, target in imported_modules(tree, module, path.name == "__init__.py"):
                top = target.split(".")[0]
                if top in rank and rank[top] > rank[layer]:
                    found.append(f"{path.relative_to(root)}:{line}: {module} ({layer}) imports {target} ({top})")
    return found


def test_every_module_is_walked():
    walked = {module_name(p, ROOT) for layer in LAYERS for p in (ROOT / layer).rglob("*.py")}
    assert {"ingest.index_reader", "qa_service.service", "eval.runner", "reportqa.cli"} <= walked


def test_no_backward_import():
    found = backward_imports(ROOT)
    assert not found, "imports against ingest <- qa_service <- eval <- reportqa:\n" + "\n".join(found)


def test_the_check_finds_hidden_and_relative_imports(tmp_path: Path):
    """The check itself: an import inside a function, a relative import climbing into another package and an
    importlib call are each reported with their file and line; downward imports are not."""
    for pkg in LAYERS:
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "ingest" / "zh").mkdir()
    (tmp_path / "ingest" / "zh" / "__init__.py").write_text("from .. import models\n", encoding="utf-8")
    (tmp_path / "ingest" / "deep.py").write_text(
        "import json\n\n\ndef f():\n    from qa_service.config import Settings\n    return Settings\n", encoding="utf-8"
    )
    (tmp_path / "qa_service" / "ok.py").write_text("from ingest import models\nfrom . import config\n", encoding="utf-8")
    (tmp_path / "eval" / "climb.py").write_text("from ..reportqa import cli\n", encoding="utf-8")
    (tmp_path / "eval" / "dyn.py").write_text("import importlib\nimportlib.import_module('reportqa.cli')\n", encoding="utf-8")
    (tmp_path / "reportqa" / "cli.py").write_text("import eval.runner\nimport qa_service\nimport ingest\n", encoding="utf-8")
    found = backward_imports(tmp_path)
    assert found == [
        "ingest/deep.py:5: ingest.deep (ingest) imports qa_service.config (qa_service)",
        "eval/climb.py:1: eval.climb (eval) imports reportqa (reportqa)",
        "eval/dyn.py:2: eval.dyn (eval) imports reportqa.cli (reportqa)",
    ]
