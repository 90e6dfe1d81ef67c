"""Each record's fields are exactly its table's columns, so rows copy into records."""

from __future__ import annotations

from dataclasses import fields

import pytest

from rollout.store.convert import RECORD_OF_ROW


@pytest.mark.parametrize("row, record", RECORD_OF_ROW.items(), ids=lambda t: t.__name__)
def test_record_fields_are_the_table_columns(row: type, record: type) -> None:
    columns = {column.key for column in row.__table__.columns}  # type: ignore[attr-defined]
    assert {f.name for f in fields(record)} == columns
