"""Print convscope's import graph between floors (top-level packages) and the largest modules.

    python tools/import_graph.py            # floors: who imports whom, two-way pairs
    python tools/import_graph.py --sizes 12 # and the 12 largest modules by lines

Type-checking imports count: a type named in an annotation is a dependency too. The contracts
that keep this graph one-way are in `.importlinter` (run `lint-imports`).
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

import grimp

PACKAGE = "convscope"


def floor(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(package root)"


def floor_graph(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = collections.defaultdict(set)
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if floor(module) != floor(imported):
                edges[floor(module)].add(floor(imported))
    return edges


def largest(count: int) -> list[tuple[int, str]]:
    root = Path(__file__).resolve().parent.parent / PACKAGE
    sizes = [(len(path.read_text().splitlines()), str(path.relative_to(root.parent)))
             for path in root.rglob("*.py")]
    return sorted(sizes, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, default=0, help="also list this many largest modules")
    args = parser.parse_args()
    graph = grimp.build_graph(PACKAGE)
    edges = floor_graph(graph)
    for name in sorted(edges):
        print(f"{name:16s} -> {', '.join(sorted(edges[name]))}")
    pairs = sorted((a, b) for a in edges for b in edges[a] if a < b and a in edges.get(b, set()))
    print("two-way pairs:", ", ".join(f"{a} <-> {b}" for a, b in pairs) or "none")
    for lines, path in largest(args.sizes):
        print(f"{lines:6d}  {path}")


if __name__ == "__main__":
    main()
