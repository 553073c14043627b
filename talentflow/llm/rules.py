"""The offline normalizer: plain rules, no network, no cost, the default provider.

Deterministic by construction: no clock, no randomness, no dict-order surprises. "Present" in a
date range means the fixed `REFERENCE_YEAR`/`REFERENCE_MONTH` below, not today, so the same text
gives the same profile next year too; moving the reference is a code change (and so, correctly,
makes earlier results stale).

Skills are matched against the vocabulary with word boundaries, case-insensitively, except for
spellings that are also ordinary words or letters. Those follow `_SPECIAL` (see the rule there):
- "C", "R", "Go", "Swift", "Excel", "Ruby", ... count only in their proper case AND as a list
  item (between separators such as , / | ; ( ) and/or, at a line start, or after "in"/"with"/
  "using"): "Python, Go and Rust" and "written in Go." count, "go-to-market", "excel at",
  "C-level", "R&D", "Taylor Swift" do not.
- "Sales", "Communication", "Marketing", "Security", "Leadership", ... count only on a skills
  line (a "Skills:"-style label, or a Skills / Requirements section) or when the title names
  them ("Head of Sales"), so "worked with sales and marketing" in an engineer's CV adds nothing.
- "CV" (Computer Vision's alias: a CV says "CV" about itself), "py" are never matched; "REST",
  "ML", "QA", "JS", "TS", "SRE", "Spark", "React", ... only in that capitalization.
"""

from __future__ import annotations

import bisect
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from talentflow.llm.base import KINDS, Kind, NormalizationError, NormalizationResult, Usage
from talentflow.llm.prompts import DEFAULT_MAX_INPUT_CHARS
from talentflow.talent import vocabulary as vocabulary_mod
from talentflow.talent.profile import SENIORITY_LEVELS, NormalizedProfile
from talentflow.talent.vocabulary import Vocabulary

RULES_MODEL = "rules-v1"

# What "Present" means in "2019 - Present". Fixed on purpose: see the module docstring.
REFERENCE_YEAR = 2026
REFERENCE_MONTH = 11
MAX_YEARS = 50.0
MAX_SKILLS = 100
SUMMARY_MAX_CHARS = 400

# --------------------------------------------------------------------------------------------
# Lines and sections

_BULLETS = " \t#>*•·-–—+"
# Heading text -> the kind of section under it.
_SECTION_NAMES = {
    "summary": "summary|profile|professional summary|career summary|about|about me|objective|"
    "career objective|overview|about the role|the role|role|role overview|position summary|"
    "job description|the job|the position|your role|about the job|about the position",
    "company": "about us|about the company|who we are|company|the company|our company",
    "experience": "experience|work experience|professional experience|employment|"
    "employment history|work history|career history|career|relevant experience",
    "education": "education|academic background|education and training|certifications|"
    "certificates|courses|training|degrees",
    "skills": "skills|technical skills|core skills|key skills|skills and tools|tech stack|"
    "technologies|tools|competencies|core competencies|expertise|stack|skill set|skillset|"
    "programming languages|languages|tools and technologies|skills & tools",
    "requirements": "requirements|what you'll need|what you will need|what we're looking for|"
    "what we are looking for|must have|must-haves|nice to have|nice-to-haves|qualifications|"
    "you have|who you are|about you|your profile|what you bring|skills & experience|"
    "skills and experience|minimum qualifications|preferred qualifications|you bring",
    "other": "responsibilities|what you'll do|what you will do|benefits|perks|what we offer|"
    "projects|interests|hobbies|references|publications|awards|volunteering|how to apply",
}
_SECTIONS = {name: key for key, names in _SECTION_NAMES.items() for name in names.split("|")}

_SKILL_LABEL = re.compile(
    r"^(?:(?:technical|core|key|soft|hard|other|primary|main)\s+)?(?:skills?|competencies|"
    r"strengths|tools|tech(?:nical)?\s+stack|stack|technologies|expertise|languages|"
    r"programming\s+languages|frameworks|proficiencies)\s*(?:&\s*\w+\s*)?[:\-–—]",
    re.I,
)
# Phone numbers: "+49 151 ...", "(512) 555-0100", "512-555-0100"; not "2019 - 2021".
_CONTACT = re.compile(
    r"@|https?://|www\.|linkedin|github\.com|\bphone\b|\be-?mail\b|"
    r"\+\d[\d ().-]{6,}\d|\(\d{3}\)\s*\d{3}[ .-]\d{4}|\b\d{3}[.-]\d{3}[.-]\d{4}\b",
    re.I,
)


@dataclass(frozen=True)
class _Line:
    start: int  # offset in the text
    raw: str
    clean: str  # bullets and markdown stripped
    section: str | None  # the section this line sits in (None before any heading)
    heading: bool


def _clean(line: str) -> str:
    line = line.strip().strip(_BULLETS).strip()
    return line.replace("**", "").replace("__", "").strip()


def _heading_key(clean: str) -> str | None:
    if not clean or len(clean) > 45:
        return None
    return _SECTIONS.get(" ".join(clean.rstrip(":").lower().split()))


def _split_lines(text: str) -> list[_Line]:
    lines: list[_Line] = []
    section: str | None = None
    offset = 0
    for raw in text.split("\n"):
        clean = _clean(raw)
        key = _heading_key(clean)
        if key is not None:
            section = key
        lines.append(_Line(offset, raw, clean, section, key is not None))
        offset += len(raw) + 1
    return lines


# --------------------------------------------------------------------------------------------
# Title and seniority

_ROLE_WORDS = """
    engineer engineers developer developers programmer architect scientist analyst designer
    manager director lead head officer consultant specialist administrator admin recruiter
    representative executive associate intern accountant writer marketer researcher coordinator
    strategist owner technician editor advocate tester sre devops vp president cto ceo cfo coo
    cmo cpo ciso founder co-founder cofounder trainee apprentice statistician economist producer
    copywriter teacher instructor agent advisor adviser planner buyer auditor controller counsel
    lawyer attorney operator partner principal investigator sourcer generalist assistant
    supervisor underwriter actuary trader banker broker bookkeeper clerk paralegal nurse
    pharmacist physician therapist lecturer professor tutor translator illustrator animator
    journalist reporter photographer receptionist cashier mechanic electrician pilot"""
_ROLE_NOUNS = frozenset(_ROLE_WORDS.split())
_WORD = re.compile(r"[A-Za-z][A-Za-z-]*")
_TITLE_LABEL = re.compile(
    r"^(?:job\s+title|title|position|role|headline|current\s+(?:role|position|title)|"
    r"desired\s+(?:role|position)|vacancy|opening)\s*[:\-–—]\s*(.+)$",
    re.I,
)
_HIRING = re.compile(
    r"\b(?:hiring|looking\s+for|seeking|searching\s+for|recruiting)\s+(?:an?\s+|our\s+(?:next|"
    r"first|new)\s+)?((?:[\w+#./&-]+[ \t]+){0,6}[\w+#./&-]+)",
    re.I,
)
_SEGMENT_SPLIT = re.compile(r"\s+(?:[|·•–—@-]|at)\s+|\s*[|·•]\s*|\s*,\s+(?=[A-Z])")
_LABELLED = re.compile(r"^[A-Za-z][\w /&-]{0,30}:\s")
_GENDER_MARK = re.compile(r"\((?:[mfwdx]|all genders?|gn\*?)(?:\s*/\s*[mfwdx])*\)", re.I)
# "(2019 - Present)", "(summer 2026)", a bare "2016 – 2020": dates are not part of a title.
_DATEISH = re.compile(
    r"\([^()]*\b(?:19|20)\d{2}\b[^()]*\)|"
    r"\b(?:(?:19|20)\d{2}|present)\b(?:\s*(?:–|—|-|to)\s*(?:(?:19|20)\d{2}|present|now)\b)?",
    re.I,
)

_SENIORITY_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("executive", re.compile(
        r"\b(?:head\s+of|vp|svp|evp|vice\s+president|director|chief|cto|ceo|cfo|coo|cmo|cpo|"
        r"ciso|c-level|co-?founder|founder|president)\b", re.I)),
    ("principal", re.compile(r"\b(?:principal|distinguished|fellow)\b", re.I)),
    ("lead", re.compile(r"\b(?:lead|staff|engineering\s+manager)\b", re.I)),
    ("senior", re.compile(r"\b(?:senior|sr)\b", re.I)),
    ("intern", re.compile(
        r"\b(?:intern|internship|trainee|apprentice|working\s+student|werkstudent)\b", re.I)),
    ("junior", re.compile(r"\b(?:junior|jr|graduate|entry[- ]level)\b", re.I)),
    ("mid", re.compile(r"\b(?:mid|mid-level|intermediate)\b", re.I)),
)


def _has_role_noun(segment: str) -> bool:
    return any(w.lower() in _ROLE_NOUNS for w in _WORD.findall(segment))


def _tidy_title(title: str) -> str:
    title = _GENDER_MARK.sub("", title)
    title = _DATEISH.sub("", title)
    title = re.sub(r"\s+", " ", title).strip(" ,;:-–—|·•()")
    return title[:200].strip()


def _title_from_line(clean: str) -> str | None:
    """The role part of a short header-like line ("Jane Doe — Senior Engineer", "Staff SRE at
    Acme (2019 - Present)"), or None if the line does not look like a title."""
    if not clean or len(clean) > 120 or _CONTACT.search(clean):
        return None
    for segment in _SEGMENT_SPLIT.split(clean):
        segment = _tidy_title(segment)
        if segment and len(segment.split()) <= 8 and _has_role_noun(segment):
            return segment
    return None


_CONNECTORS = frozenset({"of", "for", "and", "&", "-", "/"})


def _hiring_title(text: str) -> str | None:
    """"We're hiring a Junior iOS Developer to join..." -> "Junior iOS Developer": the run of
    capitalized words (and "of"/"and" between them) after the verb, if it names a role."""
    m = _HIRING.search(text)
    if not m:
        return None
    run: list[str] = []
    skipped = 0
    for word in m.group(1).split():
        bare = word.strip(".,;:()")
        capitalized = bool(bare) and any(c.isupper() for c in bare)  # "Senior", "iOS"
        if not run and not capitalized and skipped < 2:  # "an experienced Senior ..."
            skipped += 1
            continue
        if not (capitalized or (run and bare.lower() in _CONNECTORS)):
            break
        run.append(bare)
        if bare != word:  # punctuation ends the title
            break
    while run and run[-1].lower() in _CONNECTORS:
        run.pop()
    title = " ".join(run)
    return _tidy_title(title) if run and _has_role_noun(title) else None


def _extract_title(lines: list[_Line], text: str, kind: Kind) -> str:
    for line in lines[:40]:
        m = _TITLE_LABEL.match(line.clean)
        if m and _tidy_title(m.group(1)):
            return _tidy_title(m.group(1))
    # The CV header: the name is usually first, the headline right after it. A job posting
    # usually opens with its title.
    head = [ln for ln in lines[:60] if ln.clean and not ln.heading]
    if kind == "job":
        for line in head[:3]:
            if title := _title_from_line(line.clean):
                return title
        if title := _hiring_title(text[:1500]):
            return title
    for line in head[:8]:
        if title := _title_from_line(line.clean):
            return title
    for line in lines:
        if line.section == "experience" and not line.heading and (
            title := _title_from_line(line.clean)
        ):
            return title
    for line in head:
        if title := _title_from_line(line.clean):
            return title
    for line in head:  # nothing names a role: the first plain line ("Location: ..." is not)
        if not _CONTACT.search(line.clean) and not _LABELLED.match(line.clean):
            return _tidy_title(line.clean[:120]) or line.clean[:120]
    return "Unspecified"


_SENIORITY_LABEL = re.compile(
    r"^(?:seniority(?:\s+level)?|experience\s+level|career\s+level|level)\s*[:\-–—]\s*(.+)$", re.I
)
# LinkedIn-style level words that the title keywords do not cover.
_LEVEL_WORDS = {**{level: level for level in SENIORITY_LEVELS}, "associate": "junior",
                "entry": "junior", "mid-senior": "senior", "staff": "lead"}


def _labelled_seniority(lines: list[_Line]) -> str | None:
    """An explicit "Seniority: junior" / "Experience level: Mid-Senior" line."""
    for line in lines[:40]:
        m = _SENIORITY_LABEL.match(line.clean)
        if not m:
            continue
        value = re.split(r"\s*[|·•;,]\s*", m.group(1).strip(), maxsplit=1)[0].lower()
        first = value.split()[0] if value.split() else ""
        if first in _LEVEL_WORDS:
            return _LEVEL_WORDS[first]
        for level, pattern in _SENIORITY_RULES:
            if pattern.search(value):
                return level
    return None


def _seniority(title: str, years: float | None) -> str:
    for level, pattern in _SENIORITY_RULES:
        if pattern.search(title):
            return level
    if years is None:
        return "mid"  # nothing to go on: the middle of the scale misleads matching least
    if years < 2:
        return "junior"
    if years < 5:
        return "mid"
    return "senior"  # lead and above need a title cue, not just time served


# --------------------------------------------------------------------------------------------
# Years of experience

_NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
)
_NUMBER_WORDS = {w: i for i, w in enumerate(_NUMBERS.split())}
_N = r"(\d{1,2}(?:\.\d)?|" + "|".join(_NUMBER_WORDS) + r")"
_YEARS = r"\s*\+?\s*(?:years?|yrs?)(?:'|’)?"
_EXPLICIT_YEARS = (
    re.compile(rf"(?<![\d.]){_N}{_YEARS}\s+(?:of\s+)?(?:[\w/+#.,-]+\s+){{0,4}}?"
               r"(?:experience|exp\b)", re.I),
    re.compile(rf"\bexperience\s*(?:of|:)?\s*(?:over\s+|more\s+than\s+|about\s+)?{_N}{_YEARS}",
               re.I),
    re.compile(rf"\b(?:with|over|nearly|almost|more\s+than|bringing)\s+{_N}{_YEARS}\b", re.I),
    # A requirements bullet: "- 10 years in B2B marketing".
    re.compile(rf"^[ \t>*•·-]*{_N}{_YEARS}\s+(?:in|of|as|with|at|building|leading|working)\b",
               re.I | re.M),
)
_MONTH_NAMES = "jan feb mar apr may jun jul aug sep oct nov dec"
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES.split())}
_MON = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec)[a-z]*\.?"
_DATE_RANGE = re.compile(
    rf"(?:(?P<sm>{_MON})\s+|(?P<sn>\d{{1,2}})[/.])?(?P<sy>(?:19|20)\d{{2}})\s*"
    r"(?:–|—|-|to|until|till)\s*"
    rf"(?:(?:(?P<em>{_MON})\s+|(?P<en>\d{{1,2}})[/.])?(?P<ey>(?:19|20)\d{{2}})|"
    r"(?P<now>present|current|now|today|ongoing|date))",
    re.I,
)
_DEGREE = re.compile(
    r"\b(?:b\.?sc|m\.?sc|b\.?a|m\.?a|mba|ph\.?d|bachelor|master|doctorate|diploma|degree|"
    r"university|college|school|universit[äa]t|institute of technology)\b",
    re.I,
)


def _number(token: str) -> float:
    token = token.lower()
    return float(_NUMBER_WORDS[token]) if token in _NUMBER_WORDS else float(token)


_YEAR_WORD = re.compile(r"\b(?:years?|yrs?)\b", re.I)


def _year_windows(text: str) -> str:
    """Only the text around the word "year(s)", as short snippets on their own lines: the
    explicit-years patterns are costly and need ~80 characters of context at most."""
    snippets: list[str] = []
    last_end = -1
    for m in _YEAR_WORD.finditer(text):
        start, end = max(0, m.start() - 60), m.end() + 80
        if start < last_end:  # overlapping windows: extend the previous snippet
            snippets[-1] += text[last_end:end]
        else:
            # Mid-line starts get a neutral character so "^" cannot match there.
            lead = "" if start == 0 or text[start - 1] == "\n" else "…"
            snippets.append(lead + text[start:end])
        last_end = end
    return "\n".join(snippets)


def _explicit_years(text: str) -> float | None:
    windows = _year_windows(text)
    found = [_number(m.group(1)) for p in _EXPLICIT_YEARS for m in p.finditer(windows)]
    found = [y for y in found if 0 < y <= MAX_YEARS]
    return max(found) if found else None


def _month(name: str | None, number: str | None) -> int:
    if name:
        return _MONTHS.get(name[:3].lower(), 1)
    if number and 1 <= int(number) <= 12:
        return int(number)
    return 1


def _range_years(lines: list[_Line]) -> float | None:
    """Total time covered by the work date ranges, overlaps counted once, education skipped."""
    present = REFERENCE_YEAR + (REFERENCE_MONTH - 1) / 12
    spans: list[tuple[float, float]] = []
    for line in lines:
        if line.section == "education" or _DEGREE.search(line.raw):
            continue
        for m in _DATE_RANGE.finditer(line.raw):
            start = int(m["sy"]) + (_month(m["sm"], m["sn"]) - 1) / 12
            end = present if m["now"] else int(m["ey"]) + (_month(m["em"], m["en"]) - 1) / 12
            if 1960 <= start <= end <= present + 1:
                spans.append((start, min(end, present)))
    if not spans:
        return None
    spans.sort()
    total, (cur_start, cur_end) = 0.0, spans[0]
    for start, end in spans[1:]:
        if start > cur_end:
            total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    total += cur_end - cur_start
    return total


def _years(text: str, lines: list[_Line]) -> float | None:
    years = _explicit_years(text)
    if years is None:
        years = _range_years(lines)
    return None if years is None else round(min(years, MAX_YEARS), 1)


# --------------------------------------------------------------------------------------------
# Skills


@dataclass(frozen=True)
class _Rule:
    """How a risky spelling may count. `case`: only this exact capitalization (or all caps if
    longer than 2 letters). `where`: "anywhere", "list" (a list item, see module docstring) or
    "skills_line" (a skills line, or named in the title)."""

    case: bool
    where: str


_LIST_TECH = _Rule(case=True, where="list")
# Spellings (as in data/skills.json, any case) that need more than a word boundary.
_SPECIAL: dict[str, _Rule] = {
    **{s: _LIST_TECH for s in
       ("C", "R", "Go", "Swift", "Excel", "Ruby", "Jenkins", "Node", "Express", "Spring")},
    "shell": _Rule(case=False, where="list"),
    **{s: _Rule(case=True, where="anywhere") for s in
       ("REST", "ML", "QA", "JS", "TS", "SRE", "React", "Spark", "Rails", "Unity", "Lambda",
        "Flutter", "Dart", "Angular", "Prefect", "Rust", "Looker", "Torch", "Transformers")},
    **{s: _Rule(case=False, where="skills_line") for s in
       ("Sales", "Communication", "Marketing", "Security", "Networking", "Leadership",
        "Accounting", "Negotiation", "Statistics", "Recruiting", "documentation", "forecasting",
        "monitoring", "experimentation", "coaching",
        # Industry words in "Acme, cybersecurity (2020 - 2023)", not a marketer's skill.
        "cybersecurity", "infosec")},
}
# Never matched by the rules (an LLM may still name them; the validator maps them).
_EXCLUDED = frozenset({"cv", "py"})
_LEFT_WORDS = frozenset({"and", "or", "in", "with", "using"})
_SEPARATORS = ",;/|·•()[]{}:"


def _fold(spelling: str) -> str:
    return " ".join(spelling.lower().split())


def _trie_pattern(spellings: Iterable[str]) -> str:
    """One regex alternation as a character trie: the engine follows only branches that match
    the next character instead of trying ~250 alternatives at every position (~10x faster)."""
    trie: dict[str, dict] = {}
    for spelling in spellings:
        node = trie
        for ch in spelling:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [
            (r"\s+" if ch == " " else re.escape(ch)) + build(child)
            for ch, child in sorted(node.items())
            if ch
        ]
        if not branches:
            return ""
        group = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:  # a spelling ends here; a longer one is tried first (greedy)
            return f"(?:{group})?"
        return group

    return build(trie)


@dataclass(frozen=True)
class _SkillMatcher:
    common: re.Pattern[str]  # case-insensitive
    common_lower: re.Pattern[str]  # the same, for already lower-cased text (2x faster)
    special: re.Pattern[str]
    canonical: dict[str, str]  # folded spelling -> canonical name
    rules: dict[str, tuple[str, _Rule]]  # folded special spelling -> (exact spelling, rule)

    @classmethod
    def build(cls, vocab: Vocabulary) -> _SkillMatcher:
        canonical: dict[str, str] = {}
        for name in vocab.names:
            canonical.setdefault(_fold(name), name)
        # Aliases come from the vocabulary's lookup, which already folds them.
        for spelling, name in vocab._lookup.items():
            canonical.setdefault(spelling, name)
        rules = {_fold(s): (s, rule) for s, rule in _SPECIAL.items() if _fold(s) in canonical}
        common = [s for s in canonical if s not in rules and s not in _EXCLUDED]
        bound = r"(?<![\w+#])(?:{})(?![\w+#])"
        return cls(
            common=re.compile(bound.format(_trie_pattern(common)), re.I),
            common_lower=re.compile(bound.format(_trie_pattern(common))),
            special=re.compile(bound.format(_trie_pattern(rules)), re.I),
            canonical=canonical,
            rules=rules,
        )


def _case_ok(found: str, exact: str) -> bool:
    return found == exact or (len(exact) > 2 and found == exact.upper())


def _is_list_item(text: str, start: int, end: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    before = text[max(line_start, start - 24) : start].rstrip()
    # "&" separates only with spaces around it: "R & Python" yes, "R&D", "AT&T" no.
    glued_amp = text[start - 1 : start] == "&" or text[end : end + 1] == "&"
    if glued_amp:
        return False
    left = (
        not before.strip(_BULLETS)
        or before[-1] in _SEPARATORS
        or before[-1] == "&"
        or before.rsplit(None, 1)[-1].lower() in _LEFT_WORDS
    )
    if not left:
        return False
    after = text[end : end + 8].lstrip(" \t")
    if not after or after[0] in "\n.!&" or after[0] in _SEPARATORS:
        return True
    return re.match(r"(?:and|or)\b", after) is not None


def _is_skills_line(line: _Line) -> bool:
    return line.section in ("skills", "requirements") or bool(_SKILL_LABEL.match(line.clean))


def _skills(text: str, lines: list[_Line], title: str, matcher: _SkillMatcher) -> list[str]:
    found: list[tuple[int, str]] = []
    lower = text.lower()
    if len(lower) == len(text):  # offsets line up (not so for a few characters, e.g. "İ")
        common = matcher.common_lower.finditer(lower)
    else:
        common = matcher.common.finditer(text)
    for m in common:
        found.append((m.start(), matcher.canonical[_fold(m.group())]))
    starts = [ln.start for ln in lines]
    title_folded = f" {_fold(title)} "
    for m in matcher.special.finditer(text):
        folded = _fold(m.group())
        exact, rule = matcher.rules[folded]
        if rule.case and not _case_ok(m.group(), exact):
            continue
        if rule.where == "list" and not _is_list_item(text, m.start(), m.end()):
            continue
        if rule.where == "skills_line":
            line = lines[bisect.bisect_right(starts, m.start()) - 1]
            if not _is_skills_line(line) and f" {folded} " not in title_folded:
                continue
        found.append((m.start(), matcher.canonical[folded]))
    found.sort()
    seen: dict[str, None] = {}
    for _, name in found:
        seen.setdefault(name, None)
    return list(seen)[:MAX_SKILLS]


# --------------------------------------------------------------------------------------------
# Location and remote

_LOCATION_LABEL = re.compile(
    r"^(?:location|based\s+in|located\s+in|address|city|place\s+of\s+work|work\s+location|"
    r"office)\s*[:\-–—]\s*(.+)$",
    re.I,
)
_BASED_IN = re.compile(
    r"\b(?:based|located|living|residing)\s+in\s+([A-Z][^\W\d_]+(?:[ ,]+[A-Z][^\W\d_]+){0,3})"
)
_COUNTRIES = (
    "Argentina|Australia|Austria|Belgium|Brazil|Bulgaria|Canada|Chile|China|Colombia|Croatia|"
    "Cyprus|Czechia|Czech Republic|Denmark|Egypt|Estonia|Finland|France|Germany|Greece|Hungary|"
    "India|Indonesia|Ireland|Israel|Italy|Japan|Kenya|Latvia|Lithuania|Luxembourg|Malaysia|"
    "Malta|Mexico|Morocco|Netherlands|New Zealand|Nigeria|Norway|Pakistan|Peru|Philippines|"
    "Poland|Portugal|Romania|Serbia|Singapore|Slovakia|Slovenia|South Africa|South Korea|Spain|"
    "Sweden|Switzerland|Taiwan|Thailand|Turkey|Ukraine|United Arab Emirates|UAE|"
    "United Kingdom|UK|United States|USA|US|Vietnam|Europe|EU"
)
# "... our team in Austin, TX" / "in Porto, Portugal": the second part must be a state code or a
# known country, so "experience in Go, Python" is not a place.
_IN_PLACE = re.compile(
    rf"\b(?:in|based\s+in|located\s+in|office\s+in)\s+([A-Z][a-z]+(?:\s[A-Z][a-z]+)?,\s*"
    rf"(?:[A-Z]{{2}}|{_COUNTRIES}))\b"
)
_PLACE = r"[A-Z][^\W\d_'.-]*(?:[ '.-][A-Z][^\W\d_'.-]*)*"
_CITY_COUNTRY = re.compile(rf"^{_PLACE}(?:,\s*{_PLACE}){{1,2}}$")  # "Austin, TX, USA"
_WORK_MODE = re.compile(
    r"\b(?:fully\s+|100\s?%\s+)?(?:remote|hybrid|on[- ]?site|in[- ]office|wfh)(?:[- ](?:first|"
    r"friendly|only|possible|ok))?\b",
    re.I,
)

_REMOTE_YES = re.compile(
    r"\b(?:fully|100\s?%|completely|entirely)\s+remote\b|"
    r"\bremote[- ](?:first|friendly|only|ok|position|role|job|work(?:ing)?|team|setup|option|"
    r"possible|available|contract)\b|"
    r"\bwork(?:ing)?\s+(?:fully\s+)?remotely\b|"
    r"\b(?:open\s+to|prefers?|preferred|seeking|looking\s+for|available\s+for|interested\s+in)"
    r"\s+(?:a\s+)?(?:fully\s+)?remote\b|"
    r"\bwork\s+from\s+(?:home|anywhere)\b|\bWFH\b|"
    r"(?:^|[:|·•(\[])[ \t]*remote\b(?![ \t]+(?:sensing|control|monitoring|access|desktop|"
    r"procedures?|support|management|debugging|server|api|teams?\b))",
    re.I | re.M,
)
_REMOTE_NO = re.compile(
    r"\b(?:no|not)\s+(?:a\s+)?(?:fully\s+)?remote\b|\bon[- ]?site\s+only\b|\boffice[- ]based\b|"
    r"\b(?:fully|100\s?%)\s+(?:on[- ]?site|in[- ]office)\b|\bin[- ]office\s+only\b|"
    r"\bremote\s+work\s+is\s+not\b",
    re.I,
)
_HYBRID = re.compile(r"\bhybrid\b", re.I)


def _tidy_location(value: str) -> str | None:
    """The place in a location value, without work-mode words: "Remote (EMEA)" -> "EMEA",
    "Berlin (hybrid)" -> "Berlin", "Remote" -> None."""
    for part in re.split(r"\s*[|·•;]\s*", value):
        part = _WORK_MODE.sub("", part)
        part = re.sub(r"\(\s*[,/ ]*\)", "", part)  # "(hybrid)" leaves "()"
        part = re.sub(r"\s+", " ", part).strip(" ,;:-–—/()")
        if part and not _CONTACT.search(part) and len(part) <= 200:
            return part
    return None


def _location(lines: list[_Line], text: str) -> str | None:
    for line in lines[:60]:
        m = _LOCATION_LABEL.match(line.clean)
        if m and (place := _tidy_location(m.group(1))):
            return place
    for line in lines[:8]:
        for segment in re.split(r"\s*[|·•]\s*|\s+[–—-]\s+", line.clean):
            segment = re.sub(r"\([^)]*\)", "", segment).strip()
            if _CITY_COUNTRY.match(segment) and not _has_role_noun(segment):
                return segment
    m = _BASED_IN.search(text[:3000]) or _IN_PLACE.search(text[:3000])
    return _tidy_location(m.group(1)) if m else None


def _remote(text: str, kind: Kind) -> bool:
    """True only for fully remote work. Hybrid needs the location, so a job that says hybrid
    is not remote; a candidate who is "open to remote or hybrid" is."""
    if _REMOTE_NO.search(text):
        return False
    if not _REMOTE_YES.search(text):
        return False
    return not (kind == "job" and _HYBRID.search(text))


# --------------------------------------------------------------------------------------------
# Summary

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_SUMMARY_SECTIONS = {"candidate": ("summary",), "job": ("summary", "company")}


def _prose(line: _Line) -> bool:
    words = line.clean.split()
    return (
        len(words) >= 6
        and not line.heading
        and not _CONTACT.search(line.clean)
        and any(c.islower() for c in line.clean)
        and not _SKILL_LABEL.match(line.clean)
    )


def _paragraph(lines: list[_Line], i: int) -> str:
    parts = []
    for line in lines[i:]:
        if not line.clean or line.heading or len(parts) >= 6:
            break
        parts.append(line.clean)
    return " ".join(parts)


def _shorten(paragraph: str) -> str:
    sentences = [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]
    summary = ""
    for sentence in sentences[:2]:
        candidate = f"{summary} {sentence}".strip()
        if len(candidate) > SUMMARY_MAX_CHARS:
            break
        summary = candidate
    if not summary:  # one very long sentence: cut at a word
        cut = paragraph[: SUMMARY_MAX_CHARS - 1].rsplit(" ", 1)[0]
        summary = cut.rstrip(" ,;:") + "…"
    return summary


def _summary(lines: list[_Line], kind: Kind, title: str, years: float | None) -> str:
    for section in _SUMMARY_SECTIONS[kind]:
        for i, line in enumerate(lines):
            if line.section == section and not line.heading and _prose(line):
                return _shorten(_paragraph(lines, i))
    for i, line in enumerate(lines[:80]):
        if _prose(line) and line.section not in ("education", "skills"):
            return _shorten(_paragraph(lines, i))
    experience = f" with {years:g} years of experience" if years else ""
    return f"{title}{experience}."[:SUMMARY_MAX_CHARS]


# --------------------------------------------------------------------------------------------


class RulesNormalizer:
    """Deterministic, offline `Normalizer`: same text, same profile; zero tokens, zero cost."""

    provider = "rules"
    model = RULES_MODEL

    def __init__(
        self,
        *,
        max_input_chars: int = DEFAULT_MAX_INPUT_CHARS,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self.max_input_chars = max_input_chars
        self._matcher = _SkillMatcher.build(vocabulary or vocabulary_mod.default())

    def normalize(
        self, text: str, kind: Kind, *, entity_id: str | None = None
    ) -> NormalizationResult:
        started = time.perf_counter()
        profile = self.extract(text, kind, entity_id=entity_id)
        return NormalizationResult(
            profile=profile,
            provider=self.provider,
            model=self.model,
            usage=Usage(),
            latency_s=time.perf_counter() - started,
            attempts=1,
        )

    def extract(self, text: str, kind: Kind, *, entity_id: str | None = None) -> NormalizedProfile:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        # Read a bounded prefix: a 5 MB paste costs the same as a long CV.
        text = text[: self.max_input_chars].replace("\r\n", "\n").replace("\r", "\n")
        text = text.replace("\x00", "").replace("\t", " ")
        if not text.strip():
            raise NormalizationError(
                "the text is empty", kind=kind, entity_id=entity_id,
                provider=self.provider, model=self.model,
            )
        lines = _split_lines(text)
        title = _extract_title(lines, text, kind)
        years = _years(text, lines)
        return NormalizedProfile(
            title=title,
            seniority=_labelled_seniority(lines) or _seniority(title, years),
            years_experience=years or 0.0,
            skills=_skills(text, lines, title, self._matcher),
            location=_location(lines, text),
            remote=_remote(text, kind),
            summary=_summary(lines, kind, title, years),
        )
