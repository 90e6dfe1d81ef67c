"""Alembic environment for the state store.

At runtime `rollout.store.database.migrate` passes an open connection in
`config.attributes["connection"]`. To write a new revision after changing
`rollout/store/tables.py`, point Alembic at a scratch database that is at head:

    printf '[alembic]\nscript_location = rollout/store/migrations\n' > /tmp/alembic.ini
    alembic -c /tmp/alembic.ini -x url=sqlite:////tmp/scratch.db upgrade head
    alembic -c /tmp/alembic.ini -x url=sqlite:////tmp/scratch.db revision --autogenerate -m "..."
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, create_engine

from rollout.store.tables import FOREIGN_TABLES, Base


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("give the database with -x url=...")
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)


run()
