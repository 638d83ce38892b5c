"""
Regenerate ``law_names.json``: the public names of law's packages, read from law's own source.

    bench/.venv-law/bin/python tests/data/generate_law_names.py   # (bench/run.py creates that venv)

The script parses law's files with :mod:`ast` (nothing of law is imported or copied): a contrib
package's names are its ``__init__.py``'s ``__all__``; ``law.util``'s are every public function,
class and constant its module defines, since analyses use more than its ``__all__`` lists
(``InsertableDict``, ``colors``). The JSON is what ``tests/test_law_names.py`` checks pipekit
against.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from pathlib import Path

__all__ = ["read_all", "read_defined", "main"]

OUT = Path(__file__).with_name("law_names.json")


def read_all(path: Path) -> list[str]:
    """The literal ``__all__`` of the module at *path*."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__"
                                                for t in node.targets):
            return list(ast.literal_eval(node.value))
    return []


def read_defined(path: Path) -> list[str]:
    """Public functions, classes and assigned names defined at the top of the module at *path*."""
    names: list[str] = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names.extend(t.id for t in node.targets if isinstance(t, ast.Name))
    return [n for n in dict.fromkeys(names) if not n.startswith("_") and n != "logger"]


def main() -> None:
    spec = importlib.util.find_spec("law")
    if spec is None or not spec.origin:
        sys.exit("law is not importable here; run this with the python of bench/.venv-law")
    root = Path(spec.origin).parent
    version = {}
    exec((root / "__version__.py").read_text(), version)
    contrib = {p.name: read_all(p / "__init__.py")
               for p in sorted((root / "contrib").iterdir())
               if p.is_dir() and (p / "__init__.py").exists()}
    data = {
        "law_version": version["__version__"],
        "top_level": read_all(root / "__init__.py"),
        "util": sorted(set(read_all(root / "util.py")) | set(read_defined(root / "util.py"))),
        "contrib": contrib,
    }
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} (law {data['law_version']}, {len(contrib)} contrib packages)")


if __name__ == "__main__":
    main()
