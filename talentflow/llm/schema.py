"""The JSON schema sent as `response_format` for structured output, derived from
`NormalizedProfile` so the two cannot drift apart.

OpenAI's strict mode accepts a subset of JSON Schema: every property listed in `required`,
`additionalProperties: false`, and no length/range keywords (which the pydantic model still
enforces after the answer arrives). OpenAI-compatible servers (vLLM, Ollama) take the same
subset, so one schema serves all.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from talentflow.talent.profile import NormalizedProfile

SCHEMA_NAME = "normalized_profile"

# Keywords strict mode understands; everything else pydantic emits (title, default,
# minLength, maximum, ...) is dropped rather than risk a 400 from a picky server.
_KEEP = {"type", "properties", "required", "additionalProperties", "enum", "items", "anyOf",
         "description", "$defs", "$ref", "const"}

# Descriptions guide the model inside the schema, right where it writes each field.
_DESCRIPTIONS = {
    "title": "Job title as written: for a CV the current/most recent role (never the person's "
    "name, never the company), for a job the advertised role. Brackets kept whole.",
    "seniority": "Seniority level of the person or the advertised role.",
    "years_experience": "Years of professional experience (for a job: the minimum required); "
    "0 if unknown.",
    "skills": "Skills the document shows or asks for: the canonical vocabulary name when one "
    "fits, otherwise the skill as written (a short phrase, at most 5 words); no duplicates.",
    "location": "City / region / country as written, or null if none is given.",
    "remote": "True only if fully remote work is possible (candidate) or offered (job).",
    "summary": "One or two factual sentences, at most 400 characters.",
    "target_title": "CV only: the role the person is seeking when it differs from the current "
    "job (a career change, a first role in a new field), e.g. \"Data Analyst\"; null otherwise "
    "and for a job.",
    "must_have_skills": "Job only: the skills of the requirements / must-have / essential part "
    "(not the nice-to-haves), spelled as in skills; [] for a CV or when not stated.",
}


def _clean(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _clean(v) for k, v in node.items() if k in _KEEP}
        if "properties" in node:
            # `properties` maps field names to schemas: keep every name, clean each schema.
            out["properties"] = {name: _clean(sub) for name, sub in node["properties"].items()}
            out["required"] = list(node["properties"])
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_clean(item) for item in node]
    return node


@cache
def _profile_schema() -> dict[str, Any]:
    schema = _clean(NormalizedProfile.model_json_schema())
    for name, text in _DESCRIPTIONS.items():
        if name in schema["properties"]:
            schema["properties"][name]["description"] = text
    return schema


def profile_json_schema() -> dict[str, Any]:
    """A fresh copy (callers may mutate it) of the strict schema for `NormalizedProfile`."""
    return copy.deepcopy(_profile_schema())


def response_format() -> dict[str, Any]:
    """The `response_format` argument for `chat.completions.create`."""
    return {
        "type": "json_schema",
        "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": profile_json_schema()},
    }
