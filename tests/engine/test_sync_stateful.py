"""Random edits in random systems between random syncs, some of them under injected faults.

After every sync that ran without faults, whatever came before:
* the systems agree on every synced field of every contact, except where a conflict is open;
* no value a person typed vanished: it is held by a system, or the history or a conflict has it;
* no contact exists twice in a system, and every contact exists in both;
* a second sync right after writes nothing, and a dry run changes nothing.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import httpx
import pytest
from engine_world import World, seed_catalogues
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from syncengine.mirror import Mirror
from syncengine.rules import load_rules
from syncengine.sim.runner import SimCluster

SYSTEMS = ("apollo", "leadconnector")
PEOPLE = ("ada", "grace", "alan", "edsger")
# Fields both systems hold, by vendor name; tags are a set merged by union.
NAMES = {
    "apollo": {
        "company": "organization_name",
        "city": "city",
        "last_name": "last_name",
        "tags": "label_names",
    },
    "leadconnector": {"company": "companyName", "city": "city", "last_name": "lastName", "tags": "tags"},
}
TEXT = st.sampled_from(["Acme", "Initech", "Globex", "Umbrella", "Hooli", "Zürich AG", "株式会社"])
CITY = st.sampled_from(["Austin", "Boston", "Chicago", "Denver", "Québec"])
SURNAME = st.sampled_from(["Test", "Hopper", "Turing", "Dijkstra", "Núñez", "O'Neil"])
TAG = st.sampled_from(["customer", "prospect", "vip", "partner", "newsletter"])
FAULTS = st.sampled_from(
    [
        {"error_rate": 0.3, "seed": 1},
        {"timeout_rate": 0.2, "timeout_seconds": 0.2, "seed": 2},
        {"drop_rate": 0.15, "drop_after_rate": 0.15, "seed": 3},
        {"burst_429": 2},
    ]
)
CLEAR_FAULTS = {"error_rate": 0, "timeout_rate": 0, "drop_rate": 0, "drop_after_rate": 0, "burst_429": 0}

_cluster: SimCluster | None = None
_dirs = itertools.count()


def shared_cluster() -> SimCluster:
    """One set of simulators for every example (starting them costs seconds); reset per example."""
    global _cluster
    if _cluster is None:
        _cluster = SimCluster(rate_limits=False, env={}, seed=5)
        _cluster.__enter__()
    return _cluster


def email(person: str) -> str:
    return f"{person}@stateful.example"


def vendor(system: str, person: str, values: dict[str, Any]) -> dict[str, Any]:
    names = NAMES[system]
    first = "first_name" if system == "apollo" else "firstName"
    record = {first: person.title(), "email": email(person)}
    record.update({names[k]: v for k, v in values.items()})
    return record


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.cluster = shared_cluster()
        for system in self.cluster.systems:
            self.cluster[system].sim.reset()
        seed_catalogues(self.cluster)
        self.tmp = Path(TMP_ROOT) / f"run{next(_dirs)}"
        self.tmp.mkdir(parents=True)
        self.world = World(self.cluster, Mirror.open(self.tmp / "state.db"), load_rules(), self.tmp)
        # A value a person typed counts once a clean sync has run after it; one they typed over
        # themselves before that (in the same system and field) is theirs to lose.
        self.pending: dict[tuple[str, str, str], Any] = {}
        self.typed: list[tuple[str, str, Any]] = []  # (person, field, value)
        self.synced_clean = False  # a sync without faults or errors ran, and nothing was edited since
        self.checked = False  # the checks ran for that sync

    def teardown(self) -> None:
        self.set_faults(CLEAR_FAULTS)
        self.world.mirror.close()

    # ------------------------------------------------------------------ helpers

    def set_faults(self, faults: dict[str, Any]) -> None:
        for system in SYSTEMS:
            httpx.put(f"{self.cluster[system].admin_url}/faults", json=faults, timeout=10).raise_for_status()

    def record(self, system: str, person: str) -> dict[str, Any] | None:
        found = [
            r for r in self.world.sim(system).contacts() if (r.get("email") or "").lower() == email(person)
        ]
        assert len(found) <= 1, f"{person} exists {len(found)} times in {system}"
        return found[0] if found else None

    # ------------------------------------------------------------------ rules

    @initialize(
        where=st.lists(st.sampled_from([("apollo",), ("leadconnector",), SYSTEMS]), min_size=4, max_size=4),
        company=TEXT,
        city=CITY,
    )
    def people(self, where: list[tuple[str, ...]], company: str, city: str) -> None:
        for person, systems in zip(PEOPLE, where, strict=True):
            for system in systems:
                values = {"last_name": "Test", "company": company, "city": city, "tags": ["customer"]}
                self.world.sim(system).seed_contacts([vendor(system, person, values)])

    @rule(
        system=st.sampled_from(SYSTEMS),
        person=st.sampled_from(PEOPLE),
        # Apollo keeps the address as one line (city alone is derived from it), so edits go to
        # fields each UI edits directly.
        field=st.sampled_from(["company", "last_name"]),
        data=st.data(),
    )
    def edit(self, system: str, person: str, field: str, data: st.DataObject) -> None:
        record = self.record(system, person)
        if record is None:
            return
        value = data.draw(TEXT if field == "company" else SURNAME)
        self.world.sim(system).ui_edit(record["id"], {NAMES[system][field]: value})
        self.pending[(system, person, field)] = value
        self.synced_clean = False

    @rule(system=st.sampled_from(SYSTEMS), person=st.sampled_from(PEOPLE), tag=TAG, add=st.booleans())
    def tag(self, system: str, person: str, tag: str, add: bool) -> None:
        record = self.record(system, person)
        if record is None:
            return
        tags = set(record.get(NAMES[system]["tags"]) or [])
        tags = tags | {tag} if add else tags - {tag}
        self.world.sim(system).ui_edit(record["id"], {NAMES[system]["tags"]: sorted(tags)})
        self.synced_clean = False

    @rule()
    def sync(self) -> None:
        report = self.world.sync()
        assert report.status in ("succeeded", "partial"), report.status
        # A run that put work off (a create whose answer was lost may still land, so it is not sent
        # again yet) is not clean: its people are checked after a run that leaves nothing owed.
        self.synced_clean, self.checked = not report.errors and not report.deferred, False
        if self.synced_clean:
            self.typed.extend((person, field, value) for (_, person, field), value in self.pending.items())
            self.pending.clear()

    @rule(faults=FAULTS)
    def sync_under_faults(self, faults: dict[str, Any]) -> None:
        self.set_faults(faults)
        try:
            self.world.sync()
        except Exception:  # a run may fail outright under faults; the next one resumes
            pass
        finally:
            self.set_faults(CLEAR_FAULTS)
        self.synced_clean = False

    @precondition(lambda self: self.synced_clean)
    @rule()
    def dry_run_changes_nothing(self) -> None:
        before = {s: self.world.sim(s).contacts() for s in SYSTEMS}
        links = self.world.mirror.all_links()
        self.world.clear_journals()
        self.world.sync(dry_run=True)
        assert all(self.world.writes(s) == [] for s in SYSTEMS)
        assert {s: self.world.sim(s).contacts() for s in SYSTEMS} == before
        assert self.world.mirror.all_links() == links

    # ------------------------------------------------------------------ checks after a clean sync

    @invariant()
    def after_a_clean_sync(self) -> None:
        if not self.synced_clean or self.checked:
            return
        self.checked = True
        open_fields = {(c.entity_id, c.field) for c in self.world.mirror.conflicts(status="open")}
        entity_of = {
            email: entity
            for entity, members in self.world.mirror.all_links().items()
            for email in [self.email_of(members)]
            if email
        }
        snapshot = self.world.snapshot()
        for person in PEOPLE:
            held = [snapshot.get(s, {}).get(email(person)) for s in SYSTEMS]
            if not any(held):
                continue
            assert all(held), f"{person} is missing from a system: {held}"
            entity = entity_of.get(email(person))
            base = self.world.mirror.get_base([entity])[entity] if entity else {}
            for field in ("company", "city", "last_name", "tags"):
                if (entity, field) in open_fields:
                    continue
                a, b = (h.get(field) for h in held)
                # A value cleared in one system is held, not copied (allow_blank is false): the
                # other keeps the agreed value, and the run's notes say so.
                held_blank = (not a and b == base.get(field)) or (not b and a == base.get(field))
                assert a == b or held_blank, f"{person}.{field}: apollo {a!r} != leadconnector {b!r}"
        # Nothing a person typed vanished without a trace.
        history = self.world.mirror.history()
        traced = {(h.field, repr(h.old_value)) for h in history} | {
            (h.field, repr(h.new_value)) for h in history
        }
        for conflict in self.world.mirror.conflicts():
            traced |= {(conflict.field, repr(v)) for v in conflict.values.values()}
        for person, field, value in self.typed:
            held = {repr(snapshot.get(s, {}).get(email(person), {}).get(field)) for s in SYSTEMS}
            assert repr(value) in held or (field, repr(value)) in traced, (person, field, value)
        # Echo-free: the next sync has nothing to write.
        self.world.clear_journals()
        again = self.world.sync()
        assert again.plan.ops == [] and all(self.world.writes(s) == [] for s in SYSTEMS), again.plan.ops

    def email_of(self, members: dict[str, str]) -> str | None:
        for system, remote_id in members.items():
            for record in self.world.sim(system).contacts():
                if record["id"] == remote_id or str(record["id"]) == remote_id:
                    return (record.get("email") or "").lower()
        return None


TMP_ROOT = ""


@pytest.fixture(scope="module", autouse=True)
def _stateful_tmp(tmp_path_factory: pytest.TempPathFactory) -> Any:
    global TMP_ROOT
    TMP_ROOT = str(tmp_path_factory.mktemp("stateful"))
    yield
    if _cluster is not None:
        _cluster.__exit__(None, None, None)


def _run(max_examples: int, steps: int) -> None:
    SyncMachine.TestCase.settings = settings(
        max_examples=max_examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    SyncMachine.TestCase().runTest()


def test_random_edits_faults_and_syncs_keep_the_systems_aligned() -> None:
    _run(max_examples=6, steps=10)


@pytest.mark.slow
def test_random_edits_faults_and_syncs_soak() -> None:
    _run(max_examples=200, steps=30)
