"""The migrations build exactly the schema the models describe.

The tests share one migrated database per run (tests/conftest.py), so this is where a model
changed without its migration (or the reverse) shows up by name, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from backend.models import Base


def test_the_migrated_database_has_the_models_tables_columns_and_indexes(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_a_model_without_its_migration_is_reported(engine):
    from sqlalchemy import Column, Integer, MetaData, Table

    metadata = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    Table("not_migrated", metadata, Column("id", Integer, primary_key=True))
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert [difference[0] for difference in differences] == ["add_table"]
