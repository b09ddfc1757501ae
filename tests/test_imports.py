"""The house's shape (issue 16): no import cycle among the bot's packages, imports inside functions
counted too (an import hidden in a function to dodge a cycle is still a cycle)."""
import ast
from pathlib import Path

from motcua import PROJECT_ROOT

PACKAGES = ("bot", "motcua", "actions", "nlu")


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def import_graph() -> dict[str, set[str]]:
    """module → the project's modules it imports anywhere in its body."""
    modules = _modules()

    def known(name: str):
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets |= {base} | {f"{base}.{a.name}" for a in node.names}
        graph[name] = {m for t in targets if (m := known(t)) and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    graph = import_graph()
    assert {"bot.gateway", "bot.inbox", "bot.notify", "motcua.store.models", "actions.dossiers"} <= set(graph)
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_layers_import_downwards_only():
    """bot/ and actions/ may use motcua/ and nlu/; motcua/ and nlu/ use neither; bot/ and
    actions/ never each other (they meet through Rasa and the store)."""
    allowed = {"bot": {"bot", "motcua", "nlu"}, "actions": {"actions", "motcua", "nlu"},
               "motcua": {"motcua", "nlu"}, "nlu": {"nlu"}}
    wrong = sorted((module, target) for module, targets in import_graph().items() for target in targets
                   if target.split(".")[0] not in allowed[module.split(".")[0]])
    assert wrong == []
