"""Fail when any two modules of reelforge import each other, directly or round a loop.

    PYTHONPATH=src python tools/import_cycles.py

import-linter's `acyclic_siblings` contract (pyproject.toml) checks packages and modules at
every depth but sets aside the imports it lists as known; this check sets aside nothing: every
import in src/, TYPE_CHECKING ones included, must leave the module graph acyclic.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import grimp


def cycles(package: str = "reelforge") -> list[list[str]]:
    """Each strongly connected set of more than one module (Tarjan, iterative)."""
    graph = grimp.build_graph(package, cache_dir=None)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def imported(module: str) -> Iterator[str]:
        return iter(sorted(graph.find_modules_directly_imported_by(module)))

    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, imported(root))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, imported(child)))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def main() -> int:
    found = cycles()
    for component in found:
        print("import circle:", " <-> ".join(component))
    print(f"{len(found)} import circle(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
