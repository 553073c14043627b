"""The sample-data generator: deterministic, varied, and consistent with the vocabulary and with
itself (titles vs. years, skills named vs. skills listed)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from talentflow import config
from talentflow.talent import generate as gen
from talentflow.talent import vocabulary

N = 1500  # enough to meet every role and level; ~0.1 s


@pytest.fixture(scope="module")
def candidates() -> list[dict]:
    return list(gen.generate_candidates(N, 11))


@pytest.fixture(scope="module")
def jobs() -> list[dict]:
    return list(gen.generate_jobs(N, 11))


def _section(text: str, name: str) -> list[str]:
    """Lines of a CV/posting section, whatever the header style (NAME, Name, ## Name)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.lstrip("# ").lower() == name.lower():
            out = []
            for body in lines[i + 1:]:
                if not body:
                    break
                out.append(body)
            return out
    return []


def _levels_by_title() -> dict[str, set[str]]:
    """Every title the generator can produce, with the levels it can stand for."""
    out: dict[str, set[str]] = {}
    for role in gen.ROLES:
        for level in gen.LEVELS:
            if level == "executive":
                titles = set(role.exec_titles)
            elif role.titles and level in role.titles:
                titles = set(role.titles[level])
            elif level == "intern":
                titles = {f"{b} Intern" for b in role.base}
            else:
                prefixes = {"junior": ["Junior"], "mid": [""], "senior": ["Senior"],
                            "lead": ["Lead"], "principal": ["Principal", "Staff"]}[level]
                titles = {f"{p} {b}".strip() for p in prefixes for b in role.base}
            for t in titles:
                out.setdefault(t, set()).add(level)
    return out


def test_same_seed_same_bytes_and_prefix_stable(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    gen.write_jsonl(gen.generate_candidates(200, 5), a)
    gen.write_jsonl(gen.generate_candidates(200, 5), b)
    assert a.read_bytes() == b.read_bytes()
    # Rows 1..k do not depend on how many rows follow.
    assert list(gen.generate_jobs(30, 5)) == list(gen.generate_jobs(60, 5))[:30]


def test_different_seeds_differ() -> None:
    one = list(gen.generate_candidates(50, 1))
    two = list(gen.generate_candidates(50, 2))
    assert sum(x["cv_text"] != y["cv_text"] for x, y in zip(one, two, strict=True)) >= 48
    assert [r["id"] for r in one] == [r["id"] for r in two]  # ids are positional


def test_ids_and_columns(candidates: list[dict], jobs: list[dict]) -> None:
    assert candidates[0]["id"] == "c-00001" and candidates[-1]["id"] == f"c-{N:05d}"
    assert jobs[0]["id"] == "j-00001"
    assert all(tuple(r) == gen.CANDIDATE_COLUMNS for r in candidates)
    assert all(tuple(r) == gen.JOB_COLUMNS for r in jobs)
    assert next(gen.generate_candidates(100_001, 0)) and list(
        gen.generate_candidates(1, 0))[0]["id"] == "c-00001"


def test_word_counts_in_range(candidates: list[dict], jobs: list[dict]) -> None:
    cv = [len(r["cv_text"].split()) for r in candidates]
    jd = [len(r["description"].split()) for r in jobs]
    assert gen.CV_WORDS[0] <= min(cv) and max(cv) <= gen.CV_WORDS[1]
    assert gen.JOB_WORDS[0] <= min(jd) and max(jd) <= gen.JOB_WORDS[1]


def test_role_catalog_names_only_vocabulary_skills() -> None:
    vocab = vocabulary.default()
    for role in gen.ROLES:
        for skill in {s for stack in role.stacks for s in stack} | set(role.pool):
            assert vocab.canonical(skill) == skill, (role.key, skill)
        assert all(len(stack) >= 2 for stack in role.stacks), role.key


def test_cv_skills_are_canonical_vocabulary(candidates: list[dict]) -> None:
    vocab = vocabulary.default()
    for row in candidates:
        listed = _section(row["cv_text"], "Skills")
        assert len(listed) == 1, row["id"]
        skills = re.split(r", | · ", listed[0])
        assert len(skills) >= 3
        assert len(set(skills)) == len(skills), row["id"]
        for skill in skills:
            assert vocab.canonical(skill) == skill, (row["id"], skill)
        # The two skills the summary leads with are listed too.
        strongest = re.search(r"(?:Strongest in|Comfortable with) (.+?) and (.+?)(?:; |\. )",
                              row["cv_text"])
        assert strongest and {strongest[1], strongest[2]} <= set(skills), row["id"]


def test_job_required_skills_are_canonical_vocabulary(jobs: list[dict]) -> None:
    vocab = vocabulary.default()
    for row in jobs:
        line = re.search(r"(?:experience with|Familiarity with) (.+)\.\n", row["description"])
        assert line, row["id"]
        head, _, last = line[1].rpartition(" and ")
        for skill in [*head.split(", "), last]:
            assert vocab.canonical(skill) == skill, (row["id"], skill)


def test_titles_agree_with_years(candidates: list[dict]) -> None:
    levels_by_title = _levels_by_title()
    seen_levels: set[str] = set()
    for row in candidates:
        headline = row["cv_text"].split("\n")[1]
        title, _, location = headline.rpartition(" · ")
        assert location == row["location"]
        levels = levels_by_title[title]
        years = re.search(r"with (\d+) years? of experience|(under a year)|(student at)",
                          row["cv_text"])
        assert years, row["id"]
        if years[3]:
            assert "intern" in levels, (row["id"], title)
            seen_levels.add("intern")
            continue
        n = int(years[1]) if years[1] else 0
        fitting = {lv for lv in levels if gen.LEVEL_YEARS[lv][0] <= n <= gen.LEVEL_YEARS[lv][1]}
        assert fitting, (row["id"], title, n)
        seen_levels |= fitting
    assert seen_levels == set(gen.LEVELS)


def test_job_seniority_and_years_agree(jobs: list[dict]) -> None:
    for row in jobs:
        level = re.search(r"^Seniority: (\w+)", row["description"], re.M)[1]
        assert level in gen.LEVELS
        years = re.search(r"(\d+)\+ years of experience", row["description"])
        if years:
            assert int(years[1]) == gen.LEVEL_YEARS[level][0], row["id"]
        assert row["title"] in row["description"].split("\n")[0]


def test_variety(candidates: list[dict], jobs: list[dict]) -> None:
    titles = {r["cv_text"].split("\n")[1].rpartition(" · ")[0] for r in candidates}
    assert len(titles) > 150
    for word in ("Backend", "Frontend", "Data Engineer", "Data Scientist", "Machine Learning",
                 "Site Reliability", "Mobile", "Designer", "Product Manager", "QA",
                 "Security", "Account Executive", "Marketing", "Financial", "Recruit",
                 "Support"):
        assert any(word in t for t in titles), word
    locations = [r["location"] for r in candidates]
    assert len(set(locations)) > 40
    assert 0.05 < locations.count("Remote") / N < 0.2
    assert len({r["name"] for r in candidates}) > N * 0.6
    assert 0 < sum(r["email"] is None for r in candidates) < N * 0.1
    arrangements = " ".join(r["description"] for r in jobs)
    for mode in ("Remote (", "Hybrid,", "On-site in"):
        assert mode in arrangements
    assert len({r["company"] for r in jobs}) > 500


def test_write_csv_round_trips(tmp_path: Path) -> None:
    rows = list(gen.generate_candidates(20, 3))
    path = tmp_path / "c.csv"
    assert gen.write_csv(rows, path) == 20
    with path.open(encoding="utf-8", newline="") as f:
        back = list(csv.DictReader(f))
    assert back == [{k: ("" if v is None else v) for k, v in r.items()} for r in rows]
    assert gen.write_csv([], tmp_path / "empty.csv") == 0


def test_shipped_sample_is_what_the_documented_command_produces(tmp_path: Path) -> None:
    readme = (config.data_dir() / "README.md").read_text(encoding="utf-8")
    command = re.search(r"talentflow generate --candidates (\d+) --jobs (\d+) --seed (\d+)",
                        readme)
    assert command, "data/README.md documents the generate command"
    n_cand, n_jobs, seed = map(int, command.groups())
    assert (n_cand, n_jobs, seed) == (gen.SAMPLE_CANDIDATES, gen.SAMPLE_JOBS, gen.SAMPLE_SEED)
    gen.write_jsonl(gen.generate_candidates(n_cand, seed), tmp_path / "candidates.jsonl")
    gen.write_jsonl(gen.generate_jobs(n_jobs, seed), tmp_path / "jobs.jsonl")
    for name, count in (("candidates", 240), ("jobs", 220)):
        shipped = (config.data_dir() / f"{name}.jsonl").read_bytes()
        assert shipped == (tmp_path / f"{name}.jsonl").read_bytes(), name
        assert len(shipped.splitlines()) == count
    size = sum((config.data_dir() / f"{n}.jsonl").stat().st_size for n in ("candidates", "jobs"))
    assert size < 1.5 * 1024 * 1024
    assert json.loads(shipped.splitlines()[0])["id"] == "j-00001"
