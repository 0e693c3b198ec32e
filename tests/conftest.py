"""Suite-wide options: ``--soak`` runs the long fault soaks that CI leaves out; skips are summed up
in one line at the end, and with ``CI`` set a skip other than a soak test fails the run."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import settings

SOAK_REASON = "soak test: run with --soak"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", help="also run the slow soak tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason=SOAK_REASON)
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# CI runs hypothesis with a fixed seed, so one commit passes or fails the same way every time;
# local runs keep exploring new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])


def _reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


def _refuse_in_ci(report: pytest.CollectReport | pytest.TestReport) -> None:
    """In CI a test that cannot run (no PostgreSQL, chromium or spec files) is a failure."""
    if os.environ.get("CI") and report.skipped and _reason(report) != SOAK_REASON:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run it: {_reason(report)}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    _refuse_in_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome = yield
    _refuse_in_ci(outcome.get_result())


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line saying what was skipped and why, so a local run does not pass by skipping quietly."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons = Counter(_reason(r) for r in skipped)
    shown = "; ".join(f"{count} × {reason}" for reason, count in reasons.most_common())
    terminalreporter.write_line(f"skipped {len(skipped)}: {shown}", yellow=True)
