"""Apollo.io: an API key in ``x-api-key``; minute, hour and day budgets per endpoint action."""

from __future__ import annotations

from syncengine.connectors.ratelimit import apollo_limits
from syncengine.systems.spec import SimCredential, SimulatorSpec, SystemSpec, header

SPEC = SystemSpec(
    name="apollo",
    display_name="Apollo",
    secret_env="APOLLO_API_KEY",
    base_url_env="APOLLO_BASE_URL",
    default_base_url="https://api.apollo.io/api/v1",
    auth=header("x-api-key"),
    limits=apollo_limits,
    connector="syncengine.connectors.apollo:ApolloConnector",
    field_map="syncengine.fieldmaps.apollo:ApolloMap",
    simulator=SimulatorSpec(
        app="syncengine.sim.apollo.simulator:ApolloSim",
        path="/api/v1",
        default_port=8701,
        credentials=(
            SimCredential(
                "APOLLO_API_KEY",
                "api_key",
                "sim-apollo-key",
                "apollo-key",
                "API key the Apollo simulator accepts.",
            ),
        ),
    ),
)
