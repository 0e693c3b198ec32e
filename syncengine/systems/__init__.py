"""The CRMs the engine knows: one spec per system (``spec.SystemSpec``), registered here in order.

The order is the one every list of systems follows (settings, status, the simulators' lines). A new
CRM is one more spec module beside these and one more line in ``SYSTEMS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from syncengine.systems import apollo, corporatemerch, leadconnector
from syncengine.systems.spec import SystemSpec

SYSTEMS: tuple[SystemSpec, ...] = (
    apollo.SPEC,
    leadconnector.SPEC,
    corporatemerch.SPEC,
)

SPECS: Mapping[str, SystemSpec] = MappingProxyType({spec.name: spec for spec in SYSTEMS})
NAMES: tuple[str, ...] = tuple(SPECS)

__all__ = ["NAMES", "SPECS", "SYSTEMS", "SystemSpec"]
