"""LeadConnector (GoHighLevel): a bearer token and a pinned API version, every contact call scoped
to one location (sub-account); a burst interval and a daily budget per location."""

from __future__ import annotations

from syncengine.connectors.ratelimit import leadconnector_limits
from syncengine.systems.spec import SimCredential, SimulatorSpec, SystemSpec, bearer

# The API version the connector is written against; LeadConnector refuses calls without one.
API_VERSION = "2021-07-28"

SPEC = SystemSpec(
    name="leadconnector",
    display_name="LeadConnector",
    secret_env="LEADCONNECTOR_TOKEN",
    base_url_env="LEADCONNECTOR_BASE_URL",
    default_base_url="https://services.leadconnectorhq.com",
    auth=bearer(Version=API_VERSION),
    limits=leadconnector_limits,
    connector="syncengine.connectors.leadconnector:LeadConnectorConnector",
    field_map="syncengine.fieldmaps.leadconnector:LeadConnectorMap",
    simulator=SimulatorSpec(
        app="syncengine.sim.leadconnector.simulator:LeadConnectorSim",
        path="",
        default_port=8702,
        credentials=(
            SimCredential(
                "LEADCONNECTOR_TOKEN",
                "token",
                "sim-lc-token",
                "leadconnector-token",
                "Token the LeadConnector simulator accepts.",
            ),
            SimCredential(
                "LEADCONNECTOR_LOCATION_ID",
                "location_id",
                "SimLocation000000001",
                "leadconnector-location",
                "LeadConnector location id.",
            ),
        ),
    ),
    location_env="LEADCONNECTOR_LOCATION_ID",
)
