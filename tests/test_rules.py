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
        ('[default]\nallow_blank = "yes"\n', "default.allow_blank: must be true or false, got 'yes'"),
        ('match_keys = ["email", "fax"]\n', "match_keys: 'fax' is not one of email, phone, name_company"),
        ('match_keys = ["email", "email"]\n', "match_keys: lists a key twice"),
        ('[fields.title]\nprefer = "apollo"\n', "fields.title.prefer: must be a list of systems"),
        ('[create.corporatemerch]\nwhen_tags_any = "merch"\n', "create.corporatemerch.when_tags_any"),
        ("[create.hubspot]\nenabled = true\n", "create.hubspot: 'hubspot' is not one of"),
        ('[default]\npolicy = "union"\n', "default.policy: 'union' merges sets"),
        ("[fields]\ntitle = 3\n", "fields.title: must be a table"),
    ],
)
def test_invalid_rules_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "default.toml").write_text((ROOT / "rules" / "default.toml").read_text())
    (tmp_path / "team.toml").write_text(text)
    with pytest.raises(RulesError, match=message) as caught:
        load_rules(tmp_path)
    assert "team.toml" in str(caught.value)


def test_the_error_names_the_file_as_given_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "default.toml").write_text('[fields.tags]\npolicy = "unoin"\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RulesError) as caught:
        load_rules("rules")
    expected = "rules/default.toml: fields.tags.policy: 'unoin' is not one of prefer, newest, union, manual"
    assert str(caught.value) == expected


def test_a_single_file_can_be_loaded(tmp_path: Path) -> None:
    only = tmp_path / "strict.toml"
    only.write_text('[default]\npolicy = "manual"\n')
    rules = load_rules(only)
    assert rules.field("title").policy == "manual" and rules.create == {}


def test_a_field_rule_inherits_the_default_for_keys_it_does_not_set(tmp_path: Path) -> None:
    only = tmp_path / "r.toml"
    only.write_text('[default]\nallow_blank = true\n[fields.email]\npolicy = "manual"\n')
    assert load_rules(only).field("email").allow_blank is True


def test_a_missing_rules_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="no such rules"):
        load_rules(tmp_path / "nope")
