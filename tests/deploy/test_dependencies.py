"""Each service's image installs what its code imports. The Dockerfile installs ``libs/common`` and one service
with their declared dependencies (``constraints.txt`` only pins versions, it installs nothing); the repository's
virtualenv has every service and the developer tools at once, so an import no one declared works here and fails
in the image (``No module named 'jwt'``: every container exits at start)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml"))
FIRST_PARTY = {"jsp_common", *SERVICES}


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


FIRST_PARTY_DISTS = {"jsp-common", *(_name(tomllib.loads((ROOT / "services" / s / "pyproject.toml").read_text())
                                          ["project"]["name"]) for s in SERVICES)}


def _declared(pyproject: Path) -> list[Requirement]:
    return [Requirement(r) for r in tomllib.loads(pyproject.read_text())["project"]["dependencies"]]


def _installed_closure(requirements: list[Requirement]) -> set[str]:
    """The distributions a clean install of ``requirements`` brings (their extras and their own dependencies, for
    this interpreter), by name."""
    seen: set[str] = set()
    todo = [(r, frozenset(r.extras)) for r in requirements]
    while todo:
        req, extras = todo.pop()
        name = _name(req.name)
        if name in FIRST_PARTY_DISTS or name in seen and not extras:
            continue
        seen.add(name)
        for text in metadata.distribution(req.name).requires or []:
            sub = Requirement(text)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras or {""}):
                todo.append((sub, frozenset(sub.extras)))
    return seen


def _imported(src: Path) -> set[str]:
    """The top-level modules the code under ``src`` imports, outside the standard library and the project."""
    names: set[str] = set()
    for path in src.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in FIRST_PARTY}


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_s_image_installs_every_module_its_code_imports(service):
    common, own = ROOT / "libs" / "common", ROOT / "services" / service
    installed = _installed_closure(_declared(common / "pyproject.toml") + _declared(own / "pyproject.toml"))
    providers = metadata.packages_distributions()
    missing = {module: sorted(_name(d) for d in providers.get(module, [module]))
               for module in _imported(common / "src") | _imported(own / "src")
               if not installed & {_name(d) for d in providers.get(module, [module])}}
    assert missing == {}, f"{service}: imported, not installed by its image (declare them): {missing}"
