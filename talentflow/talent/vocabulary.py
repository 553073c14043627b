"""The skills vocabulary in `data/skills.json`: a normalizer for skill names, not a filter.

- `canonical(name, context=...)`: the canonical spelling of a known skill, alias or
  abbreviation, or None if the vocabulary does not know it.
- `normalize(name, context=...)`: what a profile stores: the canonical name when the vocabulary
  knows the skill, else the phrase itself, tidied (`tidy_skill`); None only for garbage
  (sentences, more than `MAX_SKILL_WORDS` words, pure numbers, contact details, ...).

Some spellings have more than one sense ("GCP": Google Cloud in software, Good Clinical
Practice in clinical research; "QA": software testing, or quality assurance in a plant). They
are listed under "ambiguous" in skills.json, each sense with cue words; with a `context` (the
document, or what is known of it) the sense whose cues occur most (distinct cues counted) wins;
no cue, or a tie, gives the entry's "default" (which may be null: no sense, the spelling is then
not a known skill there). Without a context the first sense is used.

Each skill entry may also carry "match" rules for the offline rules normalizer, for spellings
that are ordinary words too (see talentflow/llm/rules.py): "case" (only in this exact case),
"list" (exact case, and only as a list item), "line" (only on a skills/requirements line),
"item" (only when it is a whole list item by itself).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from talentflow import config


def _wordlist(words: str) -> list[str]:
    return words.split()


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


MAX_SKILL_WORDS = 5
MAX_SKILL_CHARS = 60
MATCH_RULES = ("case", "list", "line", "item")


@dataclass(frozen=True)
class Sense:
    name: str
    cues: re.Pattern[str] | None  # any cue, as whole words, case-insensitively
    gloss: str | None = None  # what the name means, where it does not say ("Google Cloud")


@dataclass(frozen=True)
class Ambiguity:
    spelling: str
    senses: tuple[Sense, ...]
    default: str | None
    match: str | None  # a match rule for the rules normalizer, as for skill spellings

    def resolve(self, context: str | None) -> str | None:
        if context is None:
            return self.senses[0].name
        scores = [len({m.group().lower() for m in s.cues.finditer(context)}) if s.cues else 0
                  for s in self.senses]
        best = max(scores)
        if best > 0 and scores.count(best) == 1:
            return self.senses[scores.index(best)].name
        return self.default


@dataclass(frozen=True)
class Vocabulary:
    version: str
    names: tuple[str, ...]
    _lookup: dict[str, str]  # folded spelling -> canonical name (ambiguous: the first sense)
    ambiguous: dict[str, Ambiguity] = field(default_factory=dict)  # by folded spelling
    # Spelling as written in skills.json -> match rule (see the module docstring).
    match_rules: dict[str, str] = field(default_factory=dict)
    _name_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_name_set", frozenset(self.names))

    def canonical(self, name: str, context: str | None = None) -> str | None:
        """The canonical spelling of a skill, alias or abbreviation, or None if unknown. An
        ambiguous spelling takes its sense from `context` (the document's text)."""
        folded = _fold(name)
        ambiguity = self.ambiguous.get(folded)
        if ambiguity is not None:
            return ambiguity.resolve(context)
        return self._lookup.get(folded)

    def is_canonical(self, name: str) -> bool:
        """True if `name` is exactly (case included) a canonical skill name."""
        return name in self._name_set

    def normalize(self, name: str, context: str | None = None) -> str | None:
        """The canonical name if known, else the tidied phrase; None for garbage. An ambiguous
        spelling without a sense in this context is kept as written (tidied)."""
        stripped = strip_skill(name)
        if stripped and self._known(stripped):
            return self.canonical(stripped, context) or tidy_skill(stripped)
        tidy = tidy_skill(stripped)
        if tidy is None:
            return None
        return self.canonical(tidy, context) or tidy

    def _known(self, name: str) -> bool:
        folded = _fold(name)
        return folded in self._lookup or folded in self.ambiguous

    def normalize_all(self, names: Iterable[str], context: str | None = None) -> list[str]:
        """`normalize` each name; order kept, no repeats (case-insensitively), garbage out."""
        seen: dict[str, str] = {}
        for name in names:
            value = self.normalize(name, context)
            if value is not None:
                seen.setdefault(value.casefold(), value)
        return list(seen.values())


def _fold(name: str) -> str:
    return " ".join(name.strip().lower().split())


def _cue_pattern(cues: Iterable[str]) -> re.Pattern[str] | None:
    words = sorted({_fold(c) for c in cues if c.strip()}, key=lambda c: (-len(c), c))
    if not words:
        return None
    alternation = "|".join(r"\s+".join(re.escape(part) for part in w.split()) for w in words)
    return re.compile(rf"(?<![\w+#])(?:{alternation})(?![\w+#])", re.I)


# --------------------------------------------------------------------------------------------
# Tidying unknown skill phrases

# A trailing level or years note: "Excel (advanced)", "German (C1)", "SQL - 5 years".
_QUALIFIER = re.compile(
    r"\s*(?:\((?:[^()]*\b(?:basic|beginner|intermediate|advanced|expert|fluent|native|"
    r"mother\s+tongue|proficient|good|excellent|working\s+knowledge|business|conversational|"
    r"certified|current|level\s+\d|\d+\+?\s*(?:years?|yrs?|y))\b[^()]*|[ABC][12])\)|"
    r"\s+[-–—:]\s*(?:basic|intermediate|advanced|expert|fluent|native|\d+\+?\s*years?))\s*$",
    re.I,
)
# Lead-ins that are not part of the skill: "Strong knowledge of SAP", "Experience with Xero",
# "Excellent communication". Only words never part of a skill's own name are dropped bare
# ("Good Clinical Practice", "Advanced Life Support" keep theirs).
_NOISE_ADJECTIVES = (
    r"(?:very\s+|highly\s+)?(?:strong|solid|excellent|proven|demonstrable|demonstrated|"
    r"extensive|sound|thorough|hands-on|fluent|outstanding|exceptional|great|superb|"
    r"in-depth|first-class|sehr\s+gute|gute|fundierte|sólidos|excelente|bonne|excellente)\s+"
)
_LEAD_IN = re.compile(
    rf"^(?:{_NOISE_ADJECTIVES})*(?:(?:(?:good|advanced|basic|deep|working|practical|prior|"
    r"previous|some|relevant|broad|full)\s+)*(?:knowledge|experience|understanding|expertise|"
    r"proficiency|familiarity|skills?|background|command|grasp|fluency|kenntnisse|erfahrung|"
    r"conocimientos?|experiencia|connaissances?|maîtrise)\s+(?:of|in|with|using|der|des|"
    r"mit|in|de|du|en|con)\s+(?:the\s+)?|proficient\s+(?:in|with)\s+|familiar\s+with\s+|"
    r"experienced\s+(?:in|with)\s+|knowledge\s+of\s+)?",
    re.I,
)
_CONTACT = re.compile(r"@|https?://|www\.|\.com\b|\+?\d[\d ()-]{7,}\d", re.I)
_SENTENCE_WORDS = _wordset(
    "i we you our your my they their this that these it is are was were will would should "
    "must can could have has had be been being am do does did who which where when")
_NOT_SKILLS = _wordset(
    "etc and or other others more various similar relevant related plus bonus required "
    "preferred desirable essential nice-to-have optional na n/a none misc miscellaneous "
    "including e.g. i.e. e.g i.e eg ie skills tools languages technologies knowledge experience "
    "strong solid excellent proven good great hands-on fluent advanced basic deep sound "
    "thorough extensive practical working demonstrable relevant understanding ability")
_DEGREE = re.compile(
    r"\b(?:degree|bachelor'?s?|master'?s?|b\.?sc|m\.?sc|b\.?a\.?|m\.?a\.?|phd|ph\.d|mba|diploma|"
    r"graduate|university|college|gpa)\b",
    re.I,
)
# "5+ years", "2019 – 2021", "since 2019": time, not a skill ("Incoterms 2020" is one).
_YEARS = re.compile(
    r"\b\d+\+?\s*(?:years?|yrs?|months?|años|jahre|ans)\b|"
    r"(?:19|20)\d{2}\s*[-–—]\s*(?:(?:19|20)\d{2}|present|now|heute|actualidad)|"
    r"\b(?:since|seit|desde|depuis)\s+(?:19|20)\d{2}\b",
    re.I,
)
_SMALL_WORDS = _wordset(
    "a an and as at by for from in of on or the to with de del la las los el y en und der die "
    "das von mit für et du des le les à")
_OPEN_CLOSE = {"(": ")", "[": "]", "{": "}"}
# Bullets and quotes before a phrase; punctuation and quotes after it ("C#", "C++" keep theirs).
_LEFT_JUNK = " \t-–—•·*>#+,;:!?\"'`“”‘’„«»▪◦●○■□➢►✓✔"
_RIGHT_JUNK = " \t-–—•·*,;:.!?\"'`“”‘’„«»"


def balanced_brackets(text: str) -> str:
    """Drop an unmatched closing bracket, or everything from an unmatched opening one."""
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch in _OPEN_CLOSE:
            stack.append(i)
        elif ch in _OPEN_CLOSE.values():
            if stack and _OPEN_CLOSE[text[stack[-1]]] == ch:
                stack.pop()
            else:
                return balanced_brackets(text[:i] + text[i + 1 :])
    if stack:
        return text[: stack[0]].rstrip()
    return text


def _case(text: str) -> str:
    """Sensible case: an all-lowercase phrase gets Title Case (small words stay lowercase), and
    so does an ALL-CAPS one of several words ("PATIENT CARE"; short words, likely acronyms,
    stay); anything with mixed case (brands, acronyms: "CargoWise", "SAP FI") is kept."""
    letters = [c for c in text if c.isalpha()]
    shouting = all(c.isupper() for c in letters) and (
        len(text.split()) > 1 or len(letters) > 6
    ) and any(sum(c.isalpha() for c in w) > 3 for w in text.split())
    if shouting:
        text = " ".join(w if sum(c.isalpha() for c in w) <= 3 else w.lower() for w in text.split())
    out = []
    for i, word in enumerate(text.split(" ")):
        word_letters = [c for c in word if c.isalpha()]
        if word_letters and all(c.islower() for c in word_letters) and not (
            i > 0 and word in _SMALL_WORDS
        ):
            word = word[:1].upper() + word[1:]
        out.append(word)
    return " ".join(out)


def strip_skill(phrase: str) -> str:
    """The phrase without bullets, quotes, trailing punctuation, lead-in, level note and
    unbalanced brackets (no case change, nothing rejected)."""
    text = " ".join(str(phrase).split())
    text = text.lstrip(_LEFT_JUNK).rstrip(_RIGHT_JUNK)
    text = _LEAD_IN.sub("", text, count=1)
    for _ in range(2):
        text = _QUALIFIER.sub("", text).lstrip(_LEFT_JUNK).rstrip(_RIGHT_JUNK)
    text = balanced_brackets(text).lstrip(_LEFT_JUNK + "/&").rstrip(_RIGHT_JUNK + "/&")
    if text.startswith("(") and text.endswith(")") and balanced_brackets(text[1:-1]) == text[1:-1]:
        text = text[1:-1].strip()
    return text


def tidy_skill(phrase: str) -> str | None:
    """A skill phrase as a profile stores it, or None if it is not one.

    Whitespace collapsed; bullets, quotes and trailing punctuation stripped; a level note
    ("(advanced)", "(C1)", "- 5 years") and a lead-in ("strong knowledge of") dropped;
    brackets balanced (an unclosed "(" and what follows it is dropped); sensible case.
    Rejected: empty, no letters, pure numbers/dates, more than 5 words, longer than 60
    characters, sentences (pronouns, verbs like "is"/"will"), contact details, degrees, years.
    """
    text = strip_skill(phrase)
    if not text or not any(c.isalpha() for c in text):
        return None
    words = text.split()
    if len(words) > MAX_SKILL_WORDS or len(text) > MAX_SKILL_CHARS:
        return None
    lowered = [w.lower().strip(".,;:!?()") for w in words]
    if any(w in _SENTENCE_WORDS for w in lowered) or all(w in _NOT_SKILLS for w in lowered):
        return None
    if _CONTACT.search(text) or _DEGREE.search(text) or _YEARS.search(text):
        return None
    if re.search(r"[.!?]\s+\S", text):  # two sentences, or a sentence and more
        return None
    return _case(text)


# --------------------------------------------------------------------------------------------


def load(path: Path | None = None) -> Vocabulary:
    raw = json.loads((path or config.data_dir() / "skills.json").read_text(encoding="utf-8"))
    names: list[str] = []
    lookup: dict[str, str] = {}
    rules: dict[str, str] = {}
    for entry in raw["skills"]:
        name = entry["name"]
        names.append(name)
        for spelling in (name, *entry.get("aliases", ())):
            lookup.setdefault(_fold(spelling), name)
        for spelling, rule in entry.get("match", {}).items():
            if rule not in MATCH_RULES:
                raise ValueError(f"skills.json: unknown match rule {rule!r} for {spelling!r}")
            rules[spelling] = rule
    known = set(names)
    ambiguous: dict[str, Ambiguity] = {}
    for entry in raw.get("ambiguous", ()):
        senses = tuple(Sense(s["name"], _cue_pattern(s.get("cues", ())), s.get("gloss"))
                       for s in entry["senses"])
        default = entry.get("default")
        unknown = {s.name for s in senses} - known | ({default} - known - {None})
        if unknown or not senses:
            raise ValueError(f"skills.json: ambiguous {entry['alias']!r} names {unknown or 'none'}")
        folded = _fold(entry["alias"])
        if lookup.get(folded, senses[0].name) != senses[0].name:
            raise ValueError(f"skills.json: ambiguous {entry['alias']!r} is an alias of "
                             f"{lookup[folded]!r}; its first sense must be that skill")
        lookup[folded] = senses[0].name
        ambiguous[folded] = Ambiguity(entry["alias"], senses, default, entry.get("match"))
        if entry.get("match"):
            rules[entry["alias"]] = entry["match"]
    return Vocabulary(version=raw["version"], names=tuple(names), _lookup=lookup,
                      ambiguous=ambiguous, match_rules=rules)


@cache
def default() -> Vocabulary:
    return load()
