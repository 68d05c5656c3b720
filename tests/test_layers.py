"""The app's imports point down only: HTTP layers over the domain, and no cycle among modules.

Read from the source (module-level imports, as Python runs them on import), so a new upward
import or a cycle fails here before it confuses anyone.
"""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "comments"
HTTP = ("comments.api", "comments.views", "comments.forms", "comments.admin", "comments.urls")
DOMAIN = ("comments.models", "comments.querysets", "comments.selectors", "comments.payloads", "comments.services",
          "comments.moderation", "comments.readers", "comments.conf", "comments.versions", "comments.live",
          "comments.sanitize", "comments.signals", "comments.exceptions", "comments.seeding", "comments.hosts")


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(path: Path) -> set[str]:
    """``comments.*`` modules imported at module level (not inside functions)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("comments")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("comments"):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in APP.rglob("*.py") if "migrations" not in path.parts}
    return {name: {m for m in top_level_imports(path) if m in modules and m != name} for name, path in modules.items()}


def is_under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def test_the_domain_never_imports_the_http_layers():
    upward = {(name, target) for name, targets in graph().items() if is_under(name, DOMAIN)
              for target in targets if is_under(target, HTTP)}
    assert upward == set()


def test_no_module_of_the_app_imports_itself_back_in_a_cycle():
    edges = graph()
    cycles = []

    def visit(name: str, path: list[str], done: set[str]) -> None:
        for target in sorted(edges[name]):
            if target in path:
                cycles.append(path[path.index(target):] + [target])
            elif target not in done:
                visit(target, [*path, target], done)
        done.add(name)

    done: set[str] = set()
    for name in sorted(edges):
        if name not in done:
            visit(name, [name], done)
    # A package importing its own submodules (comments.live -> comments.live.events) is not a cycle
    # unless a submodule imports the package back; those would show up here too.
    assert cycles == []
