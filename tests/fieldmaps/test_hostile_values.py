"""Values no CRM should receive: control and bidi characters, text longer than a target documents."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from syncengine.connectors.base import WriteOp
from syncengine.connectors.partial import leave_out
from syncengine.fieldmaps.corporatemerch import MAX_LENGTH, CorporateMerchMap
from syncengine.fieldmaps.leadconnector import LeadConnectorMap
from tests.strategies import HOSTILE_CHARS, over_long_text


@given(HOSTILE_CHARS)
def test_a_record_holding_a_control_character_reports_that_field_and_reads_the_others(char: str) -> None:
    raw = {"id": "c1", "firstName": f"Ada{char}", "lastName": "Lovelace", "email": "ada@example.com"}

    canonical = LeadConnectorMap().to_canonical(raw)

    assert set(canonical.invalid) == {"first_name"}
    assert f"U+{ord(char):04X}" in canonical.invalid["first_name"].reason
    assert canonical.values["last_name"] == "Lovelace" and canonical.values["email"] == "ada@example.com"


@given(over_long_text(MAX_LENGTH), st.sampled_from(["first_name", "company", "title", "city"]))
def test_text_longer_than_corporatemerch_takes_is_left_out(text: str, field: str) -> None:
    op = WriteOp("u1", "corporatemerch", "update", remote_id="1", values={field: text, "department": "Ops"})

    built = leave_out(op, lambda o: CorporateMerchMap().update_body(o.values))

    assert built.value == {"department": "Ops"}
    [left] = built.left_out
    assert left.field == field and f"{MAX_LENGTH} characters" in left.reason


def test_leadconnector_documents_no_length_limit_so_a_long_name_is_sent() -> None:
    name = "A" * 5000  # apis.md and the v2/v3 specs give no maxLength for contact fields

    assert LeadConnectorMap().update_body({"first_name": name}) == {"firstName": name}
