"""Driving a running ``SimCluster`` the way fault tests and benchmarks do.

Everything goes through the simulators' admin surface or their Python objects, never through the
engine: reset and re-seed the catalogues, seed sample people, make a person's UI edits, switch
faults on and off, read the faults injected, and find contacts a system holds twice.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import httpx

from syncengine.sim.runner import SimCluster
from syncengine.sim.sampledata import SYSTEMS, UiEdit, catalogues, edits, generate

# Every fault switched off (``PUT /__admin/faults`` replaces the settings whole).
NO_FAULTS: dict[str, Any] = {
    "error_rate": 0, "timeout_rate": 0, "drop_rate": 0, "drop_after_rate": 0, "burst_429": 0, "latency_ms": 0,
}  # fmt: skip


def seed_catalogues(cluster: SimCluster) -> None:
    """The labels, tags, stages, custom fields and lists the sample contacts use."""
    wanted = catalogues()
    with httpx.Client(timeout=10) as client:
        for name, system in cluster.systems.items():
            for key, items in wanted[name].items():
                client.post(f"{system.admin_url}/{key}", json={key: items}).raise_for_status()


def reset(cluster: SimCluster) -> None:
    """Empty every simulator (contacts, journal, faults, clock) and seed the catalogues again."""
    with httpx.Client(timeout=10) as client:
        for system in cluster.systems.values():
            client.post(f"{system.admin_url}/reset").raise_for_status()
    seed_catalogues(cluster)


def seed_people(
    cluster: SimCluster, n: int, *, seed: int = 1, overlap: float = 0.5, cm_share: float = 0.2
) -> None:
    """``n`` deterministic sample people spread over the simulators (``overlap`` of them shared)."""
    records = generate(n, overlap=overlap, seed=seed, cm_share=cm_share, systems=tuple(cluster.systems))
    for name, system in cluster.systems.items():
        system.sim.seed_contacts([{k: v for k, v in r.items() if k != "id"} for r in records[name]])


def set_faults(cluster: SimCluster, **faults: Any) -> None:
    """The same fault settings on every simulator (``PUT /__admin/faults``)."""
    with httpx.Client(timeout=10) as client:
        for system in cluster.systems.values():
            client.put(f"{system.admin_url}/faults", json=faults).raise_for_status()


def faults_injected(cluster: SimCluster) -> dict[str, int]:
    """Faults injected since the last reset, by kind (``error``, ``timeout``, ``drop``,
    ``drop_after``, ``burst``), summed over the simulators (``GET /__admin/counters``)."""
    total: Counter[str] = Counter()
    with httpx.Client(timeout=10) as client:
        for system in cluster.systems.values():
            answer = client.get(f"{system.admin_url}/counters")
            answer.raise_for_status()
            total.update(answer.json()["faults_injected"])
    return dict(total)


def email_of(record: dict[str, Any]) -> str:
    return str(record.get("email") or "").lower()


def ui_edits(cluster: SimCluster, share: float, *, seed: int) -> list[UiEdit]:
    """``sampledata.edits`` over each simulator's contacts taken in email order, so that two
    clusters holding the same people (under other ids) get the same edits of the same people."""
    by_system = {name: sorted(s.sim.contacts(), key=email_of) for name, s in cluster.systems.items()}
    return [edit for chosen in edits(by_system, share, seed=seed).values() for edit in chosen]


def apply_edits(cluster: SimCluster, chosen: list[UiEdit], *, spacing: float = 0.002) -> None:
    """Make the edits one after the other, ``spacing`` seconds apart: the simulators stamp in
    milliseconds, so two systems' edits of one field never tie and the ``newest`` policy picks the
    same winner in every cluster."""
    for edit in chosen:
        cluster[edit.system].sim.ui_edit(edit.contact_id, edit.changes)
        time.sleep(spacing)


def duplicated_emails(cluster: SimCluster) -> dict[str, list[str]]:
    """Per simulator, the email addresses more than one contact holds."""
    out = {}
    for name, system in cluster.systems.items():
        counted = Counter(email_of(r) for r in system.sim.contacts())
        doubled = sorted(e for e, n in counted.items() if n > 1 and e)
        if doubled:
            out[name] = doubled
    return out


__all__ = [
    "NO_FAULTS",
    "SYSTEMS",
    "apply_edits",
    "duplicated_emails",
    "email_of",
    "faults_injected",
    "reset",
    "seed_catalogues",
    "seed_people",
    "set_faults",
    "ui_edits",
]
