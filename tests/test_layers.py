"""Imports only run down the layers: blueprints and commands → jobs → services → models.

Every import in portal/ is read with ast (function-level ones included), so an import that runs back
up a layer fails here instead of hiding a loop. A new blueprint (studio, library, ...) goes in
BLUEPRINTS; a new layer gets a line in RULES.
"""

import ast
from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parent.parent / "portal"

# Blueprints: request handlers and their packages. `portal.auth` also holds shared sign-in modules
# (access, session, signin, tokens), so only its views and its blueprint object count.
BLUEPRINTS = (
    "portal.account",
    "portal.admin",
    "portal.api",
    "portal.auth.views",
    "portal.auth.bp",
    "portal.library",
    "portal.studio",
    "portal.webhooks",
)
# What builds or runs the whole app: the factory, the commands, the worker entry, `make run`.
ENTRY_POINTS = ("portal.create_app", "portal.commands", "portal.worker", "portal.devserver")

# layer (module prefix)  →  what it must never import (module prefixes)
RULES = {
    "portal.models": ("portal.services", "portal.jobs", *BLUEPRINTS, *ENTRY_POINTS),
    "portal.services": ("portal.jobs", *BLUEPRINTS, *ENTRY_POINTS),
    "portal.jobs": (*BLUEPRINTS, *ENTRY_POINTS),
}


def within(name, prefix):
    """True when module `name` is `prefix` or lies under it."""
    return name == prefix or name.startswith(prefix + ".")


def module_name(path):
    """`portal/services/stream/client.py` → `portal.services.stream.client` (packages without __init__)."""
    parts = list(path.relative_to(PORTAL.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(module, source, is_package=False):
    """Every module or module attribute `source` imports, as absolute dotted names."""
    package = module if is_package else module.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.extend(f"{base}.{alias.name}" for alias in node.names)
    return names


def violations(module, source, is_package=False):
    """(module, imported name, forbidden prefix) for each import that runs back up the layers."""
    found = []
    for layer, forbidden in RULES.items():
        if not within(module, layer):
            continue
        for name in imported_names(module, source, is_package):
            found.extend((module, name, prefix) for prefix in forbidden if within(name, prefix))
    return found


def portal_modules():
    for path in sorted(PORTAL.rglob("*.py")):
        yield module_name(path), path.read_text(encoding="utf-8"), path.name == "__init__.py"


def test_no_import_runs_back_up_the_layers():
    found = [
        v for module, source, is_package in portal_modules() for v in violations(module, source, is_package)
    ]
    assert found == [], "\n".join(f"{m} imports {n} (a {p} layer above it)" for m, n, p in found)


def test_every_layer_in_the_rules_exists():
    modules = {module for module, _, _ in portal_modules()}
    assert all(any(within(m, layer) for m in modules) for layer in RULES)


@pytest.mark.parametrize(
    "module, source",
    [
        ("portal.models.user", "from portal.services.stream import get_client"),
        ("portal.models.user", "def f():\n    from portal.jobs import webhooks"),
        ("portal.services.stream_events", "from portal.auth.views import login"),
        ("portal.services.stream_events", "import portal.webhooks.views"),
        ("portal.services.stream.client", "from ...jobs import webhooks"),
        ("portal.jobs.webhooks", "from portal import create_app"),
        ("portal.jobs.webhooks", "from portal.studio import bp"),
        ("portal.jobs.webhooks", "from portal.worker import AppWorker"),
    ],
)
def test_the_check_catches_an_import_up_the_layers(module, source):
    assert violations(module, source)


@pytest.mark.parametrize(
    "module, source",
    [
        ("portal.services.stream_events", "from portal.models import MediaAsset"),
        ("portal.services.stream_events", "from portal.auth.access import bearer_token"),
        ("portal.jobs.webhooks", "from portal.services import stream_events"),
        ("portal.jobs.webhooks", "from portal.extensions import db"),
        ("portal.webhooks.views", "from portal.jobs.webhooks import schedule_delivery_jobs"),
    ],
)
def test_imports_down_the_layers_are_allowed(module, source):
    assert violations(module, source) == []
