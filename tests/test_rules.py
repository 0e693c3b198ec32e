"""Rules files: the shipped defaults, overrides by later files, and errors naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncengine.rules import RulesError, load_rules

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_defaults() -> None:
    rules = load_rules()
    assert rules.systems == ("apollo", "leadconnector", "corporatemerch")
    assert rules.field("title").policy == "newest" and not rules.field("title").allow_blank
    assert rules.field("tags").policy == "union"
    assert rules.create["corporatemerch"].when_tags_any == frozenset({"merch"})
    assert rules.create["corporatemerch"].defaults == {"contact_type": "client"}


def test_a_later_file_overrides_key_by_key(tmp_path: Path) -> None:
    (tmp_path / "default.toml").write_text((ROOT / "rules" / "default.toml").read_text())
    (tmp_path / "team.toml").write_text('[fields.title]\npolicy = "prefer"\nprefer = ["leadconnector"]\n')
    rules = load_rules(tmp_path)
    assert rules.field("title").policy == "prefer"
    assert rules.order("title")[0] == "leadconnector"
    assert rules.field("tags").policy == "union"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[fields.tags]\npolicy = "unoin"\n',
            "fields.tags.policy: 'unoin' is not one of prefer, newest, union, manual",
        ),
        ('[fields.title]\npolicy = "union"\n', "fields.title.policy: 'union' merges sets"),
        ('[fields.shoe_size]\npolicy = "manual"\n', "fields.shoe_size: unknown canonical field"),
        ('systems = ["apollo", "hubspot"]\n', "systems: 'hubspot' is not one of"),
        ("colour = 1\n", "colour: unknown key"),
        (
            '[create.corporatemerch]\ndefaults = { contact_type = "boss" }\n',
            "create.corporatemerch.defaults.contact_type",
        ),
        ("[default\n", "team.toml"),
    ],
)
def test_invalid_rules_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "default.toml").write_text((ROOT / "rules" / "default.toml").read_text())
    (tmp_path / "team.toml").write_text(text)
    with pytest.raises(RulesError, match=message) as caught:
        load_rules(tmp_path)
    assert "team.toml" in str(caught.value)


def test_a_missing_rules_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="no such rules"):
        load_rules(tmp_path / "nope")
