"""A normalized profile: what the LLM (or the offline rules) turns a CV or a job posting into.

One schema for both sides so matching can compare like with like. Validation is strict: an
answer that does not fit is an error, never a silently partial record.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

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
    # A CV's stated target when it differs from the current job (a career change: "looking to
    # move into data analysis" -> "Data Analyst"); None otherwise, and always None for a job.
    target_title: str | None = Field(default=None, max_length=200)
    # A job's requirements / must-have / essential skills: a subset of `skills`, canonicalized
    # the same way; [] for a CV and when the posting does not say.
    must_have_skills: list[str] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _canonical_skills(self, info: ValidationInfo) -> NormalizedProfile:
        """Skills as the vocabulary normalizes them: known names and aliases to their canonical
        spelling, unknown skills kept (tidied), garbage dropped, order kept, no repeats
        (case-insensitively). Must-haves the same way, and each is also a skill.

        An ambiguous spelling ("GCP", "QA") takes its sense from the document when the caller
        passes it (`model_validate(data, context={"text": document})`), else from the profile
        itself (title, summary, skills); without a document an exact canonical name is kept as
        it is, so a stored profile reads back unchanged."""
        vocab = vocabulary.default()
        document = (info.context or {}).get("text") if isinstance(info.context, dict) else None
        own = ". ".join([self.title, self.target_title or "", self.summary, *self.skills,
                         *self.must_have_skills])

        def normalize(names: list[str]) -> list[str]:
            seen: dict[str, str] = {}
            for name in names:
                if document is None and vocab.is_canonical(name):
                    value: str | None = name
                else:
                    value = vocab.normalize(name, document if document is not None else own)
                if value is not None:
                    seen.setdefault(value.casefold(), value)
            return list(seen.values())

        skills = normalize(self.skills)
        must = normalize(self.must_have_skills)
        folded = {s.casefold() for s in skills}
        skills += [s for s in must if s.casefold() not in folded]
        self.skills = skills[:100]
        kept = {s.casefold() for s in self.skills}
        self.must_have_skills = [s for s in must if s.casefold() in kept]
        if self.target_title is not None and not self.target_title:
            self.target_title = None
        return self

    def embedding_text(self) -> str:
        """The profile as one short text for the dense side (talentflow/talent/dense.py; the
        raw text is embedded too, in chunks): the role first (a career changer's target
        role before the current one), then skills and the summary."""
        skills = ", ".join(self.skills) if self.skills else "none listed"
        role = (f"{self.target_title} (currently {self.title})" if self.target_title
                else self.title)
        return f"{role}. Skills: {skills}. {self.summary}"
