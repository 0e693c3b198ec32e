"""One spec per CRM: every registered system provides every piece, and the rest of the engine lists
systems only through the registry, so a new CRM is its own files plus one registry line."""

from __future__ import annotations

import ast
import dataclasses
import importlib
from pathlib import Path

import pytest

from syncengine import rules
from syncengine.connectors import registry, settings
from syncengine.connectors.ratelimit import LimitSpec, default_limits
from syncengine.systems import NAMES, SPECS, SYSTEMS
from syncengine.systems.spec import SystemSpec

PACKAGE = Path(__file__).resolve().parents[1] / "syncengine"
# Modules that name several systems on purpose: the sample contacts are rendered in each bundled
# CRM's own record shape, and a pairings file gives each system its own table keys.
NAMING_ON_PURPOSE = {"sim/sampledata.py", "pairings.py"}


def test_the_registry_lists_each_system_once_in_order() -> None:
    assert NAMES == tuple(spec.name for spec in SYSTEMS) == tuple(SPECS)
    assert len(set(NAMES)) == len(NAMES)
    assert all(name.isidentifier() and name.islower() for name in NAMES)


@pytest.mark.parametrize("spec", SYSTEMS, ids=NAMES)
def test_every_spec_provides_every_piece(spec: SystemSpec) -> None:
    for field in dataclasses.fields(spec):
        if field.name != "location_env":
            assert getattr(spec, field.name), f"{spec.name}: {field.name} is empty"
    assert settings.check_base_url(spec.default_base_url).startswith("https://")
    assert "secret-value" in "".join(spec.auth("secret-value").values())
    limits = spec.limits()
    assert isinstance(limits, LimitSpec) and limits.windows
    assert spec.connector_class().system == spec.name  # type: ignore[attr-defined]
    field_map = spec.field_map_class()
    assert field_map.system == spec.name
    assert Path(importlib.import_module(field_map.__module__).__file__ or "").with_suffix(".toml").is_file()
    credentials = spec.simulator.credentials
    assert {c.variable for c in credentials} == {spec.secret_env, *filter(None, [spec.location_env])}
    sim = spec.simulator.simulator_class()(**{c.keyword: c.default for c in credentials}, seed=0)
    try:
        assert callable(sim.app)
    finally:
        if callable(getattr(sim, "close", None)):
            sim.close()


def test_variables_ports_and_options_are_unique_across_systems() -> None:
    variables = [v for spec in SYSTEMS for v in spec.env_vars]
    ports = [spec.simulator.default_port for spec in SYSTEMS]
    options = [c.option for spec in SYSTEMS for c in spec.simulator.credentials]
    for values in (variables, ports, options):
        assert len(set(values)) == len(values), values


def test_settings_limits_connectors_rules_and_status_read_the_registry() -> None:
    from syncengine import commands

    assert settings.SYSTEMS == rules.KNOWN_SYSTEMS == commands.SYSTEM_NAMES == NAMES
    assert tuple(registry.CONNECTORS) == NAMES
    env = {spec.secret_env: "secret" for spec in SYSTEMS}
    env.update({spec.location_env: "location" for spec in SYSTEMS if spec.location_env})
    assert settings.load_settings(env).configured == NAMES
    for spec in SYSTEMS:
        assert default_limits(spec.name) == spec.limits()
        assert registry.connector_class(spec.name) is spec.connector_class()


def test_the_simulators_and_their_command_line_read_the_registry() -> None:
    from typer.main import get_command

    from syncengine.cli import app
    from syncengine.sim import runner

    assert tuple(runner.SPECS) == NAMES
    assert {spec.name: spec.simulator.default_port for spec in SYSTEMS} == runner.DEFAULT_PORTS
    sim = get_command(app).commands["sim"]  # type: ignore[attr-defined]
    options = {opt for param in sim.params for opt in param.opts}
    for spec in SYSTEMS:
        assert f"--{spec.name}-port" in options
        assert {f"--{c.option}" for c in spec.simulator.credentials} <= options


def _crm_module(relative: Path) -> bool:
    """A connector, field map or simulator of one CRM: named after it, or inside its package."""
    if relative.parts[0] == "systems":
        return True
    if relative.parts[0] not in ("connectors", "fieldmaps", "sim"):
        return False
    names = [*relative.parts[1:-1], relative.stem]
    return any(part == name or part.startswith(f"{name}_") for part in names for name in NAMES)


def _hand_made_lists(tree: ast.AST) -> list[tuple[int, list[str]]]:
    """Literal tuples, lists, sets and dict keys naming two or more systems, or variables of two or
    more systems."""
    owner = {var: spec.name for spec in SYSTEMS for var in spec.env_vars}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = node.elts
        elif isinstance(node, ast.Dict):
            items = [key for key in node.keys if key is not None]
        else:
            continue
        texts = {i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)}
        if len(texts & set(NAMES)) >= 2 or len({owner[t] for t in texts if t in owner}) >= 2:
            found.append((node.lineno, sorted(texts & {*NAMES, *owner})))
    return found


def test_no_module_outside_a_crms_own_files_lists_the_systems_by_hand() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if _crm_module(relative) or relative.as_posix() in NAMING_ON_PURPOSE:
            continue
        for line, names in _hand_made_lists(ast.parse(path.read_text(encoding="utf-8"))):
            offenders.append(f"syncengine/{relative.as_posix()}:{line}: {', '.join(names)}")
    assert not offenders, "read these from syncengine.systems instead:\n" + "\n".join(offenders)
