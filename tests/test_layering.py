"""Dependencies point one way: comparing, lifting, lowering and placing never reach the host side
(libvirt connections, plan, apply) nor the CLI, so import and compile work without
libvirt-python and the host side can build on them."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

LAYERS = {
    "vmspec.compare": ("vmspec.host", "vmspec.cli", "libvirt"),
    "vmspec.lift": ("vmspec.host", "libvirt"),
    "vmspec.lower": ("vmspec.host", "libvirt"),
    "vmspec.fleet": ("vmspec.host", "vmspec.cli", "libvirt"),
}

# Every module of the package, imported in a fresh interpreter (the package's
# __init__ alone may import nothing), then every module loaded by then.
_IMPORT_ALL = """
import importlib, json, pkgutil, sys
package = importlib.import_module(sys.argv[1])
for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    importlib.import_module(module.name)
print(json.dumps(sorted(sys.modules)))
"""


def _is_within(name: str, forbidden: str) -> bool:
    return name == forbidden or name.startswith(forbidden + ".")


@pytest.mark.parametrize(("package", "forbidden"), LAYERS.items(), ids=list(LAYERS))
def test_a_layer_never_loads_the_host_side(package, forbidden):
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, package], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0, result.stderr  # an import cycle shows here
    loaded = json.loads(result.stdout)
    assert [name for name in loaded if any(_is_within(name, f) for f in forbidden)] == []


@pytest.mark.parametrize(("package", "forbidden"), LAYERS.items(), ids=list(LAYERS))
def test_a_layer_imports_nothing_of_the_host_side_even_inside_a_function(package, forbidden):
    """What only runs when a function is called escapes the test above: a local import
    (the old way round an import cycle) is caught here, in the source."""
    folder = REPO / Path(*package.split("."))
    found = [
        f"{path.relative_to(REPO)}:{node.lineno}: {name}"
        for path in sorted(folder.rglob("*.py"))
        for node, name in _imports(ast.parse(path.read_text(encoding="utf-8")))
        if any(_is_within(name, f) for f in forbidden)
    ]
    assert found == []


def _imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from vmspec import host`` names the module in the alias
            yield from ((node, f"{node.module}.{alias.name}") for alias in node.names)
