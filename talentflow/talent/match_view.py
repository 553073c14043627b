"""A stored match list as people read it: each entry with the other side's title and why.

Shared by the CLI (`talentflow matches`), the REST API (`GET /matches/{kind}/{id}`) and the
demo, so all three say the same thing.
"""

from __future__ import annotations

from typing import Any

import psycopg

from talentflow.talent import store
from talentflow.talent.entities import Entity


class NoMatches(LookupError):
    """The entity has no stored match list (unknown id, or not matched yet)."""


def explained_matches(conn: psycopg.Connection, ent: Entity, key: str, top: int = 10
                      ) -> dict[str, Any]:
    """{"id", "kind", "title", "matches": [entry + "title" of the other entity, ...]}."""
    entries = store.top_matches(conn, ent, key, top)
    if not entries and not conn.execute(
            f"SELECT 1 FROM {ent.matches_asset} WHERE {ent.id_column} = %s", [key]).fetchone():
        known = conn.execute(f"SELECT 1 FROM {ent.table} WHERE id = %s", [key]).fetchone()
        raise NoMatches(f"{ent.kind} {key!r} has no match list yet (run `talentflow "
                        f"materialize {ent.matches_asset}`)" if known
                        else f"no {ent.kind} with id {key!r}")
    other = ent.other
    titles = dict(conn.execute(
        f"SELECT {other.id_column}, coalesce(target_title, title) FROM "
        f"{other.normalized_table} WHERE {other.id_column} = ANY(%s)",
        [[e["id"] for e in entries]]).fetchall())
    own = conn.execute(f"SELECT coalesce(target_title, title) FROM {ent.normalized_table} "
                       f"WHERE {ent.id_column} = %s", [key]).fetchone()
    return {"id": key, "kind": ent.kind, "title": own[0] if own else None,
            "matches": [{**e, "title": titles.get(e["id"])} for e in entries]}


def explanation_line(entry: dict[str, Any]) -> str:
    """Why, in one line: features, shared skills, missing must-haves."""
    parts = [f"dense {entry['dense']:.2f}", f"lexical {entry['lexical']:.2f}",
             f"skills {entry['skills']:.0%}", f"seniority fit {entry['seniority']:.2f}"]
    if entry["shared_skills"]:
        parts.append("shared: " + ", ".join(entry["shared_skills"][:8]))
    if entry["missing_must_haves"]:
        parts.append("missing must-haves: " + ", ".join(entry["missing_must_haves"][:8]))
    return "; ".join(parts)
