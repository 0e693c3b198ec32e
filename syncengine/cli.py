"""The ``syncengine`` command line."""

from __future__ import annotations

import signal
import threading

import typer

from syncengine.sim.runner import DEFAULT_PORTS, SimCluster

app = typer.Typer(
    help="Two-way contact sync between Apollo.io, LeadConnector and CorporateMerch.", no_args_is_help=True
)


@app.callback()
def main() -> None:
    """Two-way contact sync between Apollo.io, LeadConnector and CorporateMerch."""


@app.command()
def sim(
    apollo_port: int = typer.Option(
        DEFAULT_PORTS["apollo"], help="Port of the Apollo simulator (0: any free)."
    ),
    leadconnector_port: int = typer.Option(
        DEFAULT_PORTS["leadconnector"], help="Port of the LeadConnector simulator (0: any free)."
    ),
    apollo_key: str | None = typer.Option(None, help="API key the Apollo simulator accepts."),
    leadconnector_token: str | None = typer.Option(None, help="Token the LeadConnector simulator accepts."),
    leadconnector_location: str | None = typer.Option(None, help="LeadConnector location id."),
    seed: int = typer.Option(0, help="Seed for generated ids."),
    no_rate_limits: bool = typer.Option(
        False, "--no-rate-limits", help="Turn the simulated rate limits off."
    ),
) -> None:
    """Start the CRM simulators on 127.0.0.1 and print their base URLs and credentials.

    One line per system, in the form of the environment variables the engine reads. Credentials
    default to the values of those variables when set; such values are never printed.
    """
    cluster = SimCluster(
        ports={"apollo": apollo_port, "leadconnector": leadconnector_port},
        credentials={
            "APOLLO_API_KEY": apollo_key,
            "LEADCONNECTOR_TOKEN": leadconnector_token,
            "LEADCONNECTOR_LOCATION_ID": leadconnector_location,
        },
        rate_limits=not no_rate_limits,
        seed=seed,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with cluster:
        for line in cluster.lines():
            print(line, flush=True)
        stop.wait()
