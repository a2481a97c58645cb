"""The floors hold: every import of the project's code, read with ast (module level and inside
functions alike), goes down a floor or stays in its package, and no files import each other in a
circle. docs/architecture.md draws the floors."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# package -> floor. A package may import its own modules and those of lower floors only.
FLOORS = {"app": 1, "harness": 1, "stack": 2, "alerts": 3, "backup": 3, "loadtests": 3, "bench": 3, "chaos": 4,
          "dashboard": 5, "chaostoolkit_caplab": 5}
# Packages that do not sit at the root: the folder that holds them (the Chaos Toolkit extension is
# its own distribution, in ctk/).
PLACES = {"chaostoolkit_caplab": ROOT / "ctk"}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in FLOORS:
        base = PLACES.get(pkg, ROOT)
        for path in (base / pkg).rglob("*.py"):
            parts = path.relative_to(base).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module that ``name`` (an imported module, or module.attribute) is, or None."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> set[str]:
    """Every project module that ``module`` imports, wherever the import statement stands."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        found |= {m for m in map(_resolve, names) if m and m != module}
    return found


GRAPH = {m: imports_of(m) for m in MODULES}
NOT_YET: set[str] = set()  # upward imports still to remove (none left)


def test_the_graph_is_read():
    assert len(MODULES) > 100 and GRAPH["stack.target"] >= {"stack", "stack.config"}
    assert "harness.history" in GRAPH["chaos.run.runner"]  # a module-level import
    assert "stack.compose" in imports_of("stack.target")


def test_no_import_goes_up_a_floor():
    bad = sorted(f"{m} -> {t}" for m, targets in GRAPH.items() for t in targets
                 if m.split(".")[0] != t.split(".")[0] and FLOORS[t.split(".")[0]] >= FLOORS[m.split(".")[0]])
    assert set(bad) == NOT_YET, ("imports that go up a floor or sideways (docs/architecture.md):\n"
                                 + "\n".join(sorted(set(bad) ^ NOT_YET)))


def test_backup_imports_nothing_of_chaos_and_stack_nothing_of_the_tools():
    for low, forbidden in (("backup", ("chaos",)), ("stack", ("chaos", "alerts", "backup", "loadtests", "bench")),
                           ("app", tuple(p for p in FLOORS if p != "app")),
                           ("harness", tuple(p for p in FLOORS if p != "harness"))):
        bad = sorted(f"{m} -> {t}" for m, ts in GRAPH.items() if m.split(".")[0] == low
                     for t in ts if t.split(".")[0] in forbidden and f"{m} -> {t}" not in NOT_YET)
        assert not bad, "\n".join(bad)


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_the_circle_finder_finds_a_hidden_circle():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_no_circle_between_modules():
    # A package's __init__ that re-exports its modules is not a circle of files: a module of the
    # package importing a sibling through the package's name is. Edges into an __init__ from its
    # own package's modules are kept; only __init__ -> own submodule edges are what packages are.
    graph = {m: {t for t in ts if not (MODULES[m].name == "__init__.py" and t.startswith(m + "."))}
             for m, ts in GRAPH.items()}
    circles = _circles(graph)
    assert not circles, "modules that import each other in a circle:\n" + "\n".join(" <-> ".join(c) for c in circles)
