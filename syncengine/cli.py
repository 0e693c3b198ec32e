"""The ``syncengine`` command line.

Exit codes (stable, for scripts; the README's table): 0 all systems agree (warnings do not count
unless ``--strict``); 1 the run succeeded but conflicts wait for a person; 2 usage or configuration
error; 3 some records or writes failed (the rest synced); 4 the run failed (a system could not be
reached or refused the credentials, or the state database is unusable); 5 another run holds the state."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from syncengine.sim.runner import SimCluster, serve_until_signalled
from syncengine.systems import NAMES, SYSTEMS

# Help texts are plain text: "[guard]" in an option's help is a rules section, not markup.
app = typer.Typer(
    help="Two-way contact sync between Apollo.io, LeadConnector and CorporateMerch.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.callback()
def main() -> None:
    """Two-way contact sync between Apollo.io, LeadConnector and CorporateMerch."""


_PORT_HELP = "Port of the {} simulator (0: any free)."


def _system_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with options taken from each system's spec: ``--<system>-port`` and one per
    credential its simulator accepts; it receives them as ``ports`` ({system: port}) and
    ``credentials`` ({engine variable: value or None})."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    ports = {f"{spec.name}_port": spec for spec in SYSTEMS}
    credentials = {c.option.replace("-", "_"): c for spec in SYSTEMS for c in spec.simulator.credentials}
    options = [
        *(
            inspect.Parameter(name, keyword, default=spec.simulator.default_port, annotation=Annotated[
                int, typer.Option(f"--{spec.name}-port", help=_PORT_HELP.format(spec.display_name))
            ])
            for name, spec in ports.items()
        ),
        *(
            inspect.Parameter(name, keyword, default=None, annotation=Annotated[
                str | None, typer.Option(f"--{c.option}", help=c.help)
            ])
            for name, c in credentials.items()
        ),
    ]  # fmt: skip
    own = inspect.signature(command, eval_str=True)
    given_here = ("ports", "credentials")
    rest = [p.replace(kind=keyword) for p in own.parameters.values() if p.name not in given_here]

    def with_options(**given: Any) -> None:
        command(
            ports={spec.name: given.pop(name) for name, spec in ports.items()},
            credentials={c.variable: given.pop(name) for name, c in credentials.items()},
            **given,
        )

    with_options.__name__, with_options.__doc__ = command.__name__, command.__doc__
    with_options.__signature__ = own.replace(parameters=[*options, *rest])  # type: ignore[attr-defined]
    return with_options


def _print_lines(lines: list[str]) -> None:
    for line in lines:
        print(line, flush=True)


@app.command()
@_system_options
def sim(
    ports: Mapping[str, int],
    credentials: Mapping[str, str | None],
    systems: str = typer.Option(",".join(NAMES), help="Comma-separated systems to simulate."),
    contacts: int = typer.Option(0, min=0, help="Sample contacts per system (CorporateMerch gets a fifth)."),
    overlap: float = typer.Option(0.5, min=0.0, max=1.0, help="Share of people present in several systems."),
    seed: int = typer.Option(0, help="Seed for ids and sample data (same seed, same data)."),
    state_file: Path | None = typer.Option(
        None, help="Load the simulators' data from this file when it exists; save it there on exit."
    ),
    no_rate_limits: bool = typer.Option(
        False, "--no-rate-limits", help="Turn the simulated rate limits off."
    ),
    webhook_url: str | None = typer.Option(
        None, help="Send LeadConnector's contact webhooks to this URL (a `syncengine webhooks` receiver)."
    ),
) -> None:
    """Start the CRM simulators on 127.0.0.1 and print their base URLs and credentials.

    One line per system, in the form of the environment variables the engine reads, then the public
    keys LeadConnector's webhooks are signed with. Credentials default to the values of those
    variables when set; such values are never printed.
    """
    from syncengine.commands import _guard

    chosen = tuple(s.strip() for s in systems.split(",") if s.strip())
    with _guard():
        cluster = SimCluster(
            systems=chosen,
            ports=ports,
            credentials=credentials,
            contacts=contacts,
            overlap=overlap,
            seed=seed,
            rate_limits=not no_rate_limits,
            state_file=state_file,
            webhook_url=webhook_url,
        )
        serve_until_signalled(cluster, _print_lines)


def _register() -> None:
    from syncengine import commands
    from syncengine.web.command import serve

    for command in (commands.sync, commands.plan, commands.conflicts, commands.resolve, commands.history,
                    commands.show, commands.status, commands.check, commands.run, commands.undo):  # fmt: skip
        app.command()(command)
    app.command()(serve)
    from syncengine.webhooks.command import webhooks

    app.command()(webhooks)
    from syncengine.worker.command import worker

    app.command()(worker)


_register()
