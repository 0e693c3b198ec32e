"""CorporateMerch: a bearer token; 40 calls a minute; whole-record (replace) updates."""

from __future__ import annotations

from syncengine.connectors.ratelimit import corporatemerch_limits
from syncengine.systems.spec import SimCredential, SimulatorSpec, SystemSpec, bearer

SPEC = SystemSpec(
    name="corporatemerch",
    display_name="CorporateMerch",
    secret_env="CORPORATEMERCH_TOKEN",
    base_url_env="CORPORATEMERCH_BASE_URL",
    default_base_url="https://api.corporatemerch.com/v2",
    auth=bearer(),
    limits=corporatemerch_limits,
    connector="syncengine.connectors.corporatemerch:CorporateMerchConnector",
    field_map="syncengine.fieldmaps.corporatemerch:CorporateMerchMap",
    simulator=SimulatorSpec(
        app="syncengine.sim.corporatemerch.simulator:CorporateMerchSim",
        path="/v2",
        default_port=8703,
        credentials=(
            SimCredential(
                "CORPORATEMERCH_TOKEN",
                "token",
                "sim-cm-token",
                "corporatemerch-token",
                "Token the CorporateMerch simulator accepts.",
            ),
        ),
    ),
)
