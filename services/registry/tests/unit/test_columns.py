"""An entity's columns are spelled in the table and the domain record only: everything else derives from
them, so a column added to one and not the other fails here, not in production."""

from registry.adapters.bulk import STAGING_COLUMNS
from registry.adapters.tables import entities
from registry.adapters.writes import ENTITY_ROW
from registry.domain.directory import RECORD_FIELDS
from registry.domain.import_rows import COLUMNS, ENTITY_COLUMNS


def test_a_saved_record_writes_every_column_but_its_creation_time():
    assert sorted(ENTITY_ROW) == sorted(c.name for c in entities.c if c.name != "created_at")


def test_the_record_is_a_subset_of_the_table():
    assert set(RECORD_FIELDS) <= set(entities.c.keys())


def test_the_import_reads_registration_fields_and_loads_columns_of_the_table():
    assert set(COLUMNS) <= set(RECORD_FIELDS)
    assert set(ENTITY_COLUMNS) <= set(entities.c.keys())
    assert {"departments", "assignment_state", "rule_version", "last_changed_at"} <= set(ENTITY_COLUMNS)
    assert STAGING_COLUMNS[-1] == "line" and len(set(STAGING_COLUMNS)) == len(STAGING_COLUMNS)
