"""The query plan of a statement, as one string, on SQLite or PostgreSQL: for tests that check
a query uses its index."""

from __future__ import annotations

from sqlalchemy import Connection, text


def query_plan(connection: Connection, query: str) -> str:
    """EXPLAIN (QUERY PLAN) of `query`. On PostgreSQL sequential scans are turned off for the
    connection first: on the tiny tables of a test the planner would rightly prefer them."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET enable_seqscan = off"))
        return " ".join(connection.execute(text(f"EXPLAIN {query}")).scalars())
    return " ".join(row[-1] for row in connection.execute(text(f"EXPLAIN QUERY PLAN {query}")))
