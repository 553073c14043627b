"""A normalized profile: what the LLM (or the offline rules) turns a CV or a job posting into.

One schema for both sides so matching can compare like with like. Validation is strict: an
answer that does not fit is an error, never a silently partial record.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from talentflow.talent import vocabulary

Seniority = Literal["intern", "junior", "mid", "senior", "lead", "principal", "executive"]
SENIORITY_LEVELS: tuple[str, ...] = Seniority.__args__  # type: ignore[attr-defined]


class NormalizedProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200)
    seniority: Seniority
    years_experience: float = Field(ge=0, le=70)
    skills: list[str] = Field(max_length=100)
    location: str | None = Field(default=None, max_length=200)
    remote: bool
    summary: str = Field(min_length=1, max_length=2000)

    @field_validator("skills")
    @classmethod
    def _canonical_skills(cls, skills: list[str]) -> list[str]:
        """Map aliases to canonical names; unknown skills are dropped, order kept, no repeats."""
        vocab = vocabulary.default()
        seen: dict[str, None] = {}
        for skill in skills:
            name = vocab.canonical(skill)
            if name is not None:
                seen.setdefault(name, None)
        return list(seen)

    def embedding_text(self) -> str:
        """The text that is embedded. Chosen on purpose: MiniLM reads at most 256 tokens, and
        most raw CVs are longer, so the compact normalized profile is what fits and what matters
        (title, seniority, skills first, then the summary)."""
        skills = ", ".join(self.skills) if self.skills else "none listed"
        where = "remote" if self.remote else (self.location or "unspecified location")
        return (
            f"{self.title}. Seniority: {self.seniority}, {self.years_experience:g} years. "
            f"Skills: {skills}. Location: {where}. {self.summary}"
        )
