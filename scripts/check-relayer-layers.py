#!/usr/bin/env python3
"""The relayer's layering rules (docs/architecture.md), read off its `use` paths.

1. `platform/` imports no domain and nothing from the composition root (lib.rs, state.rs, ...).
2. A domain imports the platform and itself. Of another domain it may name only what that
   domain's `mod.rs` exports at its root (a service handle), never a submodule.
3. Neither a domain nor the platform imports the composition root.
4. No import cycles between files.

A path is every `crate::…` in code (including inside `use crate::{…}` trees) and every
`super::…`/`self::…` in a `use`, resolved to the file that defines the module it names.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "relayer" / "src"
PLATFORM = "platform"


def module_of(path: pathlib.Path) -> tuple:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return tuple(parts)


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def expand_tree(tree: str) -> list:
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r"\s+", "", tree)
    out = []

    def walk(prefix: str, s: str):
        depth, start, items = 0, 0, []
        for i, ch in enumerate(s):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                items.append(s[start:i])
                start = i + 1
        items.append(s[start:])
        for item in filter(None, items):
            if "{" in item:
                head, rest = item.split("{", 1)
                walk(prefix + head, rest[:-1])
            else:
                out.append(prefix + item.split(" as ")[0].split("as")[0] if " as " in item else prefix + re.sub(r"as\w+$", "", item))

    walk("", tree)
    return out


def references(path: pathlib.Path, module: tuple, is_dir_module: bool) -> list:
    text = strip_comments(path.read_text())
    paths = []
    for m in re.finditer(r"\buse\s+((?:crate|super|self)(?:::\w+)*::\{)", text):
        start = m.end()
        depth, i = 1, start
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        paths += [m.group(1)[:-1] + p for p in expand_tree(text[start : i - 1])]
    for m in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", text):
        paths.append(m.group(1))
    resolved = []
    # The module a `super::` is relative to: a file `a/b.rs` is module a::b; its parent is a.
    for p in paths:
        segs = p.split("::")
        base = list(module)
        if segs[0] == "crate":
            base, segs = [], segs[1:]
        elif segs[0] == "self":
            segs = segs[1:]
        else:
            while segs and segs[0] == "super":
                base = base[:-1]
                segs = segs[1:]
        resolved.append(tuple(base + segs))
    return resolved


def main() -> int:
    files = {}
    for path in sorted(ROOT.rglob("*.rs")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] == "bin" or rel.name == "main.rs":
            continue
        files[module_of(path)] = path
    domains = sorted(
        p.name for p in ROOT.iterdir() if p.is_dir() and p.name not in (PLATFORM, "bin")
    )
    edges, errors = set(), []
    for module, path in files.items():
        for ref in references(path, module, path.name == "mod.rs"):
            # The longest prefix of `ref` that is a file module.
            target = next(
                (ref[:n] for n in range(len(ref), 0, -1) if ref[:n] in files), ()
            )
            if target == module or not ref:
                continue
            where = str(path.relative_to(ROOT))
            named = "::".join(ref)
            src_layer = module[0] if module else "root"
            dst_layer = ref[0]
            if src_layer not in domains and src_layer != PLATFORM:
                src_layer = "root"
            if dst_layer not in domains and dst_layer != PLATFORM:
                dst_layer = "root"
            if src_layer == PLATFORM and dst_layer != PLATFORM:
                errors.append(f"{where}: the platform imports `crate::{named}` ({dst_layer})")
            if src_layer in domains and dst_layer == "root":
                errors.append(f"{where}: a domain imports the composition root `crate::{named}`")
            if src_layer in domains and dst_layer in domains and dst_layer != src_layer:
                if len(target) > 1:
                    errors.append(
                        f"{where}: `crate::{named}` reaches into domain '{dst_layer}'; use what its mod.rs exports"
                    )
            if target:
                edges.add((module, target))
    # Cycles between files (Tarjan's strongly connected components).
    graph = {m: sorted(t for (s, t) in edges if s == m) for m in files}
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
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
                sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            strong(v)
    for comp in sccs:
        names = ", ".join(str(files[m].relative_to(ROOT)) for m in sorted(comp))
        errors.append(f"import cycle between files: {names}")
    for e in sorted(set(errors)):
        print(f"layering: relayer: {e}")
    if not errors:
        print(
            f"layering: relayer ok ({len(files)} files, {len(edges)} imports, domains: {', '.join(domains)})"
        )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
