#!/usr/bin/env python3
"""Lists cycles between the crate's modules (a module and the modules inside
it count as one unit for the edges between them). Test-only code is
skipped: `#[cfg(test)]` items and the files of test modules. Exit 1 on a
cycle. Run from the repository root: python3 scripts/module-cycles.py"""
import os, re, sys

SRC = "src"
files = {}
for root, _, names in os.walk(SRC):
    for n in names:
        if n.endswith(".rs"):
            path = os.path.join(root, n)
            rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel in (["lib"], ["main"]):
                rel = []
            files[path] = rel

def strip_tests(text):
    # Drop `#[cfg(test)]` items: the attribute, then one line or a braced block.
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        if lines[i].strip() == "#[cfg(test)]":
            i += 1
            if i < len(lines) and lines[i].rstrip().endswith("{"):
                depth = lines[i].count("{") - lines[i].count("}")
                i += 1
                while i < len(lines) and depth > 0:
                    depth += lines[i].count("{") - lines[i].count("}")
                    i += 1
            else:
                i += 1
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)

test_files = {p for p, m in files.items() if m and m[-1] in ("tests", "fuzz", "test_support", "testing")
              or any(part == "tests" for part in m)}
modules = {tuple(m) for m in files.values()}

def resolve(path):
    """The longest known module that is a prefix of `path`."""
    for k in range(len(path), 0, -1):
        if tuple(path[:k]) in modules:
            return tuple(path[:k])
    return None

edges = {}
for path, mod in files.items():
    if path in test_files:
        continue
    text = strip_tests(open(path).read())
    text = re.sub(r"//[^\n]*", "", text)
    for m in re.finditer(r"\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)", text):
        parts = m.group(1).split("::")
        base = list(mod)
        if parts[0] == "crate":
            base, parts = [], parts[1:]
        elif parts[0] == "self":
            parts = parts[1:]
        else:
            while parts and parts[0] == "super":
                base, parts = base[:-1], parts[1:]
        target = resolve(base + parts)
        if target is None:
            continue
        a, b = tuple(mod), target
        # A module and those inside it are one unit for their edges.
        if a[: len(b)] == b or b[: len(a)] == a:
            continue
        # Compare siblings: the two children of their deepest common parent.
        k = 0
        while k < min(len(a), len(b)) and a[k] == b[k]:
            k += 1
        edges.setdefault(a[: k + 1], set()).add(b[: k + 1])

# Tarjan's strongly connected components.
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(comp)
sys.setrecursionlimit(10000)
for v in list(edges):
    if v not in index:
        visit(v)
for comp in sccs:
    names = sorted("::".join(c) for c in comp)
    print("cycle:", ", ".join(names))
    for c in comp:
        print("  ", "::".join(c), "->", ", ".join(sorted("::".join(d) for d in edges.get(c, ()) if d in comp)))
sys.exit(1 if sccs else 0)
