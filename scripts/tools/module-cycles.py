#!/usr/bin/env python3
"""Lists import circles between the source files of Rust crates (issue 19: "no import circle").

A file imports another when its non-test code names `crate::<module path>` (in a `use` or a
path). Re-exports at the crate root (`pub use x::Y;` in lib.rs) are followed to their module.
Comments and `#[cfg(test)]` code are ignored. Exits 1 and prints each circle when one exists.

Usage: scripts/tools/module-cycles.py CRATE_SRC_DIR...
"""
import pathlib
import re
import sys


def modules(src: pathlib.Path) -> dict:
    out = {}
    for f in src.rglob("*.rs"):
        rel = f.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "mod":
            parts = parts[:-1]
        name = "::".join(parts) or "lib"
        text = f.read_text().split("#[cfg(test)]")[0]
        code = "\n".join(l for l in text.splitlines() if not l.strip().startswith("//"))
        out[name] = code
    return out


def edges(mods: dict) -> set:
    def resolve(path):
        parts = path.split("::")
        for i in range(len(parts), 0, -1):
            cand = "::".join(parts[:i])
            if cand in mods:
                return cand
        return None

    root = mods.get("lib", "") + mods.get("main", "")
    reexports = {}
    for target, names in re.findall(r"pub use ([a-z_:]+)::\{?([A-Za-z_, ]+)\}?;", root):
        for n in names.split(","):
            reexports[n.strip()] = resolve(target)
    found = set()
    for name, code in mods.items():
        if name in ("lib", "main"):
            continue
        refs = re.findall(r"crate::([A-Za-z_][A-Za-z_:]*)", code)
        for group in re.findall(r"use crate::\{([^}]*)\}", code):
            refs += [p.strip() for p in group.split(",") if p.strip()]
        for ref in refs:
            target = resolve(ref) or reexports.get(ref.split("::")[0])
            if target and target != name and not name.startswith(target + "::"):
                found.add((name, target))
    return found


def circles(graph_edges: set) -> list:
    graph = {}
    for a, b in graph_edges:
        graph.setdefault(a, set()).add(b)
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    bad = 0
    for src in map(pathlib.Path, sys.argv[1:]):
        for comp in circles(edges(modules(src))):
            print(f"{src}: import circle: {' <-> '.join(comp)}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
