"""The offline rules normalizer on realistic CVs and job postings."""

from __future__ import annotations

import time

import pytest

from talentflow.llm import rules
from talentflow.llm.base import NormalizationError, Normalizer, Usage
from talentflow.llm.rules import RulesNormalizer
from talentflow.talent import vocabulary
from talentflow.talent.profile import NormalizedProfile
from tests.llm import samples


@pytest.fixture(scope="module")
def normalizer() -> RulesNormalizer:
    return RulesNormalizer()


def profile(normalizer: RulesNormalizer, text: str, kind: str = "candidate") -> NormalizedProfile:
    return normalizer.normalize(text, kind).profile  # type: ignore[arg-type]


def test_is_a_normalizer_with_zero_usage(normalizer: RulesNormalizer) -> None:
    result = normalizer.normalize(samples.BACKEND_CV, "candidate", entity_id="c-1")
    assert isinstance(normalizer, Normalizer)
    assert (result.provider, result.model, result.attempts) == ("rules", "rules-v1", 1)
    assert result.usage == Usage(0, 0, 0)
    assert result.latency_s >= 0
    # The profile round-trips through the strict schema (what a cache would store and reload).
    assert NormalizedProfile.model_validate_json(result.profile.model_dump_json()) == result.profile


def test_backend_cv(normalizer: RulesNormalizer) -> None:
    p = profile(normalizer, samples.BACKEND_CV)
    assert p.title == "Senior Backend Engineer"
    assert p.seniority == "senior"
    assert p.years_experience == 8  # the explicit "8 years of experience" wins over the dates
    assert p.location == "Berlin, Germany"
    assert p.remote is True  # "Open to remote roles"
    assert p.summary.startswith("Backend engineer with 8 years of experience")
    assert len(p.summary) <= 400
    for skill in ("Go", "Python", "Apache Kafka", "PostgreSQL", "Redis", "Kubernetes", "AWS",
                  "Django", "REST APIs", "CI/CD", "GitHub Actions", "Docker", "SQL", "C",
                  "Terraform", "Prometheus", "Grafana"):
        assert skill in p.skills, skill
    # Order of first appearance, no repeats.
    assert p.skills.index("Go") < p.skills.index("Terraform")
    assert len(p.skills) == len(set(p.skills))


def test_data_scientist_cv_years_from_date_ranges(normalizer: RulesNormalizer) -> None:
    p = profile(normalizer, samples.DATA_SCIENTIST_CV)
    assert p.title == "Data Scientist"
    # Sep 2022 - Present (= Nov 2026, the fixed reference) + Jul 2021 - Aug 2022; the
    # 2018 - 2021 degree is not work.
    assert p.years_experience == pytest.approx(5.2)
    assert p.seniority == "senior"  # no title keyword: from years
    assert p.location == "Manchester, United Kingdom"
    assert p.remote is False
    for skill in ("R", "Python", "SQL", "scikit-learn", "Pandas", "PyTorch", "A/B Testing",
                  "Tableau", "Excel", "Statistics", "Machine Learning", "Time Series",
                  "Communication"):
        assert skill in p.skills, skill


def test_ambiguous_words_are_not_skills(normalizer: RulesNormalizer) -> None:
    p = profile(normalizer, samples.PLAIN_WORDS_CV)
    # "excel at", "go the extra mile", "go-to-market", "C-level", "R&D", "Swift delivery",
    # "sales and marketing", "communication", the surname "Jenkins": none is a skill here.
    assert set(p.skills) == {"UX Research", "Figma"}
    assert p.title == "Product Designer"
    assert p.location == "Lisbon, Portugal"


@pytest.mark.parametrize(
    ("text", "expected", "absent"),
    [
        ("Languages: Go, Python and Rust", {"Go", "Python", "Rust"}, set()),
        ("Built payment services in Go.", {"Go"}, set()),
        ("C/C++ for firmware, Python and R", {"C", "C++", "Embedded Systems", "R"}, set()),
        ("R & Python; MATLAB", {"R", "Python", "MATLAB"}, set()),
        ("Let's go to the office; GO team!", set(), {"Go"}),
        ("I excel at Excel-free reporting", set(), {"Excel"}),
        ("Tools: Excel (advanced), Tableau", {"Excel", "Tableau"}, set()),
        ("Objective-C and some C#", {"C#"}, {"C"}),
        ("Her CV lists a PhD in R&D management", set(), {"R", "Computer Vision"}),
        ("We react quickly and rest on weekends", set(), {"React", "REST APIs"}),
        ("React, Node, Express and MongoDB", {"React", "Node.js", "Express", "MongoDB"}, set()),
        ("Spring 2019 intern; Java, Spring, Hibernate", {"Java", "Spring Boot"}, set()),
        ("Swift, SwiftUI and Kotlin", {"Swift", "Kotlin"}, set()),
        ("machine\nlearning and Apache   Spark", {"Machine Learning", "Apache Spark"}, set()),
        ("Skills: Sales, Negotiation, Salesforce", {"Sales", "Negotiation", "Salesforce"}, set()),
        ("Worked with sales, marketing and security folks", set(),
         {"Sales", "Marketing", "Security"}),
    ],
)
def test_skill_matching_rules(
    normalizer: RulesNormalizer, text: str, expected: set[str], absent: set[str]
) -> None:
    skills = set(profile(normalizer, f"Software Engineer\n\n{text}\n").skills)
    assert expected <= skills
    assert not (absent & skills)


def test_special_rules_name_real_vocabulary_spellings() -> None:
    """Guards against drift: every special-cased spelling is still in data/skills.json."""
    vocab = vocabulary.default()
    for spelling in (*rules._SPECIAL, *rules._EXCLUDED):
        assert vocab.canonical(spelling) is not None, spelling


def test_staff_data_engineer_job(normalizer: RulesNormalizer) -> None:
    p = profile(normalizer, samples.JOB_STAFF_DATA_ENGINEER, "job")
    assert p.title == "Staff Data Engineer"
    assert p.seniority == "lead"  # staff
    assert p.years_experience == 5  # the required minimum, not the 3 with Python
    assert p.remote is True
    assert p.location == "EU"  # "Remote (EU)" keeps the region
    assert {"Python", "Apache Spark", "Apache Airflow", "dbt", "Snowflake", "Communication"} <= set(
        p.skills
    )
    assert p.summary.startswith("We are looking for a Staff Data Engineer")


def test_head_of_marketing_job(normalizer: RulesNormalizer) -> None:
    p = profile(normalizer, samples.JOB_HEAD_OF_MARKETING, "job")
    assert p.title == "Head of Marketing"  # the "(m/f/d)" marker is dropped
    assert p.seniority == "executive"
    assert p.years_experience == 10
    assert p.location == "Munich, Germany"
    assert p.remote is False  # hybrid
    assert {"Marketing", "SEO", "Content Marketing", "Salesforce", "Excel", "Leadership"} <= set(
        p.skills
    )


def test_job_without_headings(normalizer: RulesNormalizer) -> None:
    p = profile(normalizer, samples.JOB_NO_HEADINGS, "job")
    assert p.title == "Junior iOS Developer"
    assert p.seniority == "junior"
    assert p.location == "Austin, TX"
    assert p.remote is False  # on-site only
    assert {"iOS", "Swift", "REST APIs", "Git"} <= set(p.skills)


@pytest.mark.parametrize(
    ("text", "remote"),
    [
        ("Engineer\nLocation: Remote", True),
        ("Engineer\nWe are a remote-first company.", True),
        ("Engineer\nHybrid: 2 days a week in our Paris office, remote otherwise.", False),
        ("Engineer\nThis role is not remote.", False),
        ("Engineer\nWe build remote sensing satellites.", False),
        ("Engineer\nOn-site in Oslo.", False),
    ],
)
def test_remote_cues_for_jobs(normalizer: RulesNormalizer, text: str, remote: bool) -> None:
    assert profile(normalizer, text, "job").remote is remote


def test_candidate_open_to_remote_or_hybrid_is_remote(normalizer: RulesNormalizer) -> None:
    text = "Alex Kim\nQA Engineer\nOpen to remote or hybrid roles.\n"
    assert profile(normalizer, text).remote is True


@pytest.mark.parametrize(
    ("title_line", "seniority"),
    [
        ("Principal Software Engineer", "principal"),
        ("VP of Engineering", "executive"),
        ("Engineering Manager", "lead"),
        ("Tech Lead, Platform", "lead"),
        ("Software Engineering Intern", "intern"),
        ("Jr. Frontend Developer", "junior"),
        ("Internal Tools Engineer", "mid"),  # "Internal" is not "intern"; no years: mid
    ],
)
def test_seniority_from_title(normalizer: RulesNormalizer, title_line: str, seniority: str) -> None:
    assert profile(normalizer, f"Robin Lee\n{title_line}\n").seniority == seniority


def test_years_merge_overlapping_ranges_and_accept_months(normalizer: RulesNormalizer) -> None:
    text = (
        "Dana Smith\nBackend Developer\n\nExperience\n"
        "Backend Developer, Foo (01/2018 - 12/2020)\n"
        "Freelance Developer (2019 – 2021)\n"  # overlaps the first: counted once
        "Developer, Bar, Jan 2022 to Jan 2024\n"
    )
    p = profile(normalizer, text)
    assert p.years_experience == pytest.approx(5.0)
    assert p.seniority == "senior"


def test_deterministic(normalizer: RulesNormalizer) -> None:
    for text, kind in ((samples.BACKEND_CV, "candidate"), (samples.JOB_HEAD_OF_MARKETING, "job")):
        first = profile(normalizer, text, kind)
        again = profile(RulesNormalizer(), text, kind)
        assert first.model_dump() == again.model_dump()


def test_huge_text_is_capped(normalizer: RulesNormalizer) -> None:
    huge = samples.BACKEND_CV * (5_000_000 // len(samples.BACKEND_CV))
    assert len(huge) > 4_900_000
    started = time.perf_counter()
    p = profile(normalizer, huge)
    # Not a timing assertion (bench/ does those): a generous bound that only a regression
    # to reading all 5 MB would break.
    assert time.perf_counter() - started < 5
    assert p.title == "Senior Backend Engineer"
    assert len(p.summary) <= 400


def test_small_cap_reads_only_the_prefix() -> None:
    p = RulesNormalizer(max_input_chars=200).normalize(samples.BACKEND_CV, "candidate").profile
    assert "Grafana" not in p.skills


def test_odd_input_still_gives_a_valid_profile(normalizer: RulesNormalizer) -> None:
    p = profile(normalizer, "\x00\r\n   lorem\tipsum  \r\n")
    assert p.title and p.summary
    p = profile(normalizer, "x" * 10_000)
    assert len(p.title) <= 200 and len(p.summary) <= 400


def test_empty_text_is_an_error(normalizer: RulesNormalizer) -> None:
    with pytest.raises(NormalizationError, match="candidate c-9.*empty") as info:
        normalizer.normalize(" \n\t ", "candidate", entity_id="c-9")
    assert info.value.entity_id == "c-9"
    assert info.value.transient is False


def test_unknown_kind_is_rejected(normalizer: RulesNormalizer) -> None:
    with pytest.raises(ValueError, match="kind"):
        normalizer.normalize("Engineer", "company")  # type: ignore[arg-type]


def test_job_as_the_pipeline_composes_it(normalizer: RulesNormalizer) -> None:
    p = profile(normalizer, samples.JOB_AS_COMPOSED, "job")
    assert p.title == "Associate Product Manager"  # " at Company" dropped
    assert p.seniority == "junior"  # the explicit "Seniority:" line wins
    assert p.years_experience == 2
    assert p.location == "EMEA"
    assert p.remote is True
    assert p.skills == ["Product Management", "Roadmapping", "Jira"]


def test_cv_as_the_pipeline_composes_it(normalizer: RulesNormalizer) -> None:
    p = profile(normalizer, samples.CV_AS_COMPOSED)
    assert p.title == "Senior Software Engineer"
    assert p.location == "Austin, TX, USA"
    assert p.remote is False
    assert p.skills == ["Python", "Django", "PostgreSQL", "Redis"]


@pytest.mark.parametrize(
    ("sentence", "title"),
    [
        ("We are looking for a Associate Product Manager to drive growth.",
         "Associate Product Manager"),
        ("We're hiring a Head of Marketing to lead our brand.", "Head of Marketing"),
        ("Acme is seeking an experienced Senior Data Engineer, remote.", "Senior Data Engineer"),
    ],
)
def test_job_title_from_a_hiring_sentence(
    normalizer: RulesNormalizer, sentence: str, title: str
) -> None:
    text = f"{sentence} You will work with a small, friendly team on hard problems.\n"
    assert profile(normalizer, text, "job").title == title


def test_no_role_anywhere_is_unspecified_not_the_name(normalizer: RulesNormalizer) -> None:
    p = profile(normalizer, "Location: Remote\nMaria Silva\nmaria@example.com\n")
    assert p.title == "Unspecified"  # never the person's name, nor "Location: Remote"
    assert p.remote is True and p.location is None


@pytest.mark.parametrize(
    ("line", "title"),
    [
        ("Senior Engineer 2019 - 2021", "Senior Engineer"),  # a date range is not a phone
        ("Staff SRE at Acme (2019 - Present)", "Staff SRE"),
        ("Acme GmbH — Senior Backend Engineer", "Senior Backend Engineer"),
        ("Full Stack Engineer Intern, Pinewood Learning, edtech (summer 2026)",
         "Full Stack Engineer Intern"),
    ],
)
def test_title_from_an_experience_line(normalizer: RulesNormalizer, line: str, title: str) -> None:
    text = f"Maria Silva\nmaria@example.com\n\nExperience\n{line}\n- Shipped things.\n"
    assert profile(normalizer, text).title == title


# --------------------------------------------------------------------------------------------
# Realistic CVs and postings beyond software (written for these tests).

WAREHOUSE_CV_NO_HEADLINE = """\
Tomasz Nowak
tomasz.nowak@example.com | +44 7700 900123

Experience
Westfield Distribution — 2015 – 2018
Warehouse Operative
- Forklift (counterbalance and reach), goods in, stock rotation.
Northwind Logistics Ltd, Coventry — Jan 2019 – Present
Team Leader Warehouse
- Led a team of 14 pickers and packers across two shifts.

Skills
Manhattan WMS, Forklift licence, Inventory control, Health & Safety, Descartes
"""

PROSE_NURSE_CV = """\
Daniel Okafor

I am a registered nurse with 6 years of experience on busy surgical wards and in the \
emergency department. I hold BLS and ACLS certification and I am comfortable with IV \
cannulation, wound care and medication administration.
"""

CLINICAL_JOB = """\
Clinical Research Associate (m/f/d)
Location: Berlin, Germany

About the role
Monitor phase II-III oncology trials at investigator sites for our sponsor clients.

Requirements
- Life sciences degree
- 2+ years of on-site monitoring experience
- Solid knowledge of GCP and ICH guidelines
- Medidata Rave, Veeva Vault eTMF
- Fluent English and German

Nice to have
- Oncology experience
- CTMS (Siebel)
"""

CLOUD_JOB = """\
Platform Engineer
We run everything on GCP: GKE, BigQuery and Terraform, deployed with Argo CD.

Requirements
- 3+ years with Kubernetes on GCP
- Python or Go
"""

FREIGHT_JOB = """\
Customs & Freight Coordinator
Location: Rotterdam, Netherlands

What you'll need
- Experience with CargoWise One or similar freight software
- Knowledge of Incoterms 2020 and customs clearance
- Advanced Excel
- Fluent Dutch
- Experience with REST APIs is a plus

Desirable
- SAP MM
- Magaya
"""


def test_name_is_never_the_title_and_the_current_role_is(normalizer: RulesNormalizer) -> None:
    # No headline: the title is the most recent experience entry (listed second here), not the
    # name on the first line, not the older job.
    p = profile(normalizer, WAREHOUSE_CV_NO_HEADLINE)
    assert p.title == "Team Leader Warehouse"
    assert p.seniority == "lead"  # the title says so
    # A surname that is also a role word ("Koch" = cook) is still a name.
    p = profile(normalizer, "Anna Koch\nSoftware Engineer\nBerlin, Germany\n")
    assert p.title == "Software Engineer"
    p = profile(normalizer, "JANE DOE\nREGISTERED NURSE\njane@example.com\n")
    assert p.title == "Registered Nurse"


def test_prose_cv_title_from_the_text(normalizer: RulesNormalizer) -> None:
    p = profile(normalizer, PROSE_NURSE_CV)
    assert p.title == "Registered Nurse"
    assert p.years_experience == 6
    assert p.seniority == "senior"
    assert {"BLS", "ACLS", "IV Therapy", "Wound Care", "Medication Administration"} <= set(
        p.skills
    )


@pytest.mark.parametrize(
    ("line", "title"),
    [
        ("Sous Chef at Hotel Kaiserhof Wien", "Sous Chef"),
        ("Staff Nurse — Royal London Hospital", "Staff Nurse"),
        ("Accountant, Northwind Trading Ltd", "Accountant"),
        ("Northwind Trading Ltd | Accountant", "Accountant"),
        ("Enfermera de UCI en Hospital Universitario La Paz", "Enfermera de UCI"),
        ("Buchhalterin bei Alpenwerk GmbH", "Buchhalterin"),
        ("Chef de partie chez Brasserie des Célestins", "Chef de partie"),
    ],
)
def test_company_is_stripped_from_the_title(
    normalizer: RulesNormalizer, line: str, title: str
) -> None:
    assert profile(normalizer, f"Alex Morgan\n{line}\n").title == title
    job = profile(normalizer, f"{line}\nLocation: Vienna, Austria\n", "job")
    assert job.title == title


@pytest.mark.parametrize(
    ("line", "title"),
    [
        ("Mathematics Teacher (Secondary)", "Mathematics Teacher (Secondary)"),
        ("Mathematics Teacher (Secondary), Greenfield Academy",
         "Mathematics Teacher (Secondary)"),
        ("Teacher (Maths, Physics) | Greenfield Academy", "Teacher (Maths, Physics)"),
        ("Mathematics Teacher (Secondary", "Mathematics Teacher"),  # unclosed: dropped whole
        ("Data Analyst)", "Data Analyst"),
    ],
)
def test_brackets_are_kept_whole_or_dropped_whole(
    normalizer: RulesNormalizer, line: str, title: str
) -> None:
    assert profile(normalizer, f"Sarah Mitchell\n{line}\nBristol, UK\n").title == title


@pytest.mark.parametrize(
    ("text", "title", "target"),
    [
        ("Hannah Becker\nPrimary School Teacher\n\nProfile\nPrimary school teacher with 7 years "
         "of experience, now looking to move into data analysis.\n\nExperience\nClass Teacher, "
         "Elbschule Hamburg (2018 – present)\n", "Primary School Teacher", "Data Analyst"),
        ("Jordan Smith\n\nSummary\nSelf-taught programmer seeking my first role as a junior "
         "developer.\n\nExperience\nBarista, Bean There Café (2021 – present)\n",
         "Barista", "Junior Developer"),
        ("Lena Ortiz\nMarketing Coordinator\n\nAbout me\nAfter five years in marketing I am "
         "transitioning into UX research.\n", "Marketing Coordinator", "UX Researcher"),
        ("Mike Brown\nAspiring Data Analyst | Former Teacher\n\nExperience\nHistory Teacher, "
         "Oakwood High School (2015 – 2024)\n", "History Teacher", "Data Analyst"),
        ("Felix Braun\n\nProfil\nNach 8 Jahren in der Logistik suche ich den Quereinstieg als "
         "Softwareentwickler.\n\nBerufserfahrung\nDisponent, Spedition Meyer GmbH "
         "(2016 – heute)\n", "Disponent", "Softwareentwickler"),
        ("Claire Dubois\nComptable\n\nProfil\nComptable depuis 6 ans, en reconversion "
         "professionnelle vers le métier de développeuse web.\n", "Comptable",
         "Développeuse Web"),
    ],
)
def test_career_change_fills_target_title(
    normalizer: RulesNormalizer, text: str, title: str, target: str
) -> None:
    p = profile(normalizer, text)
    assert (p.title, p.target_title) == (title, target)
    assert p.seniority == "junior"  # new in the field, whatever the years elsewhere


def test_no_target_without_a_change(normalizer: RulesNormalizer) -> None:
    text = ("Kim Lee\nBackend Engineer\n\nSummary\nBackend engineer with 6 years of experience, "
            "seeking a senior backend role in fintech.\n")
    p = profile(normalizer, text)
    assert p.target_title is None and p.title == "Backend Engineer"
    assert profile(normalizer, CLINICAL_JOB, "job").target_title is None


@pytest.mark.parametrize(
    ("text", "seniority"),
    [
        ("Priya Patel\nStaff Nurse\n\nSummary\nStaff Nurse with 4 years of experience.\n", "mid"),
        ("Tom Hale\nStaff Accountant\n\nSummary\nAccountant with 1 year of experience.\n",
         "junior"),
        ("Rui Costa\nStaff Software Engineer\n", "lead"),
        ("Grace Lee\nCare Assistant at Senior Living Homes Ltd\n\nExperience\nCare Assistant, "
         "Senior Living Homes Ltd (2023 – present)\n", "mid"),
        ("Ola Berg\nAccountant\n\nSummary\nAccountant with 12 years of experience.\n", "senior"),
        ("Ola Berg\nAccountant\n\nSummary\nAccountant with 12 years of experience; I manage a "
         "team of 6 accountants.\n", "lead"),
        ("Ravi Kumar\n\nSummary\nOperations professional with 15 years of experience; managed a "
         "team of 40 across three sites.\n", "executive"),
        ("Sam Green\nStore Manager\n", "lead"),
        ("Lukas Gruber\nHead Chef\n", "lead"),
        ("Julie Roy\nCommis Chef\n", "junior"),
        ("Nina Vogel\nLogistics Coordinator\n\nSummary\nCoordinator with 8 months of work.\n",
         "mid"),  # no years phrase, no dates: the middle of the scale
    ],
)
def test_seniority_from_evidence_not_from_words_like_staff(
    normalizer: RulesNormalizer, text: str, seniority: str
) -> None:
    assert profile(normalizer, text).seniority == seniority


def test_most_people_are_not_senior_by_default(normalizer: RulesNormalizer) -> None:
    short = "Ana Ruiz\nCustomer Support Specialist\n\nExperience\nCustomer Support Specialist " \
            "— Helpdesk Co (2025 – present)\n"
    assert profile(normalizer, short).seniority == "junior"  # 1.8 years to the fixed "present"
    mid = short.replace("2025", "2022")
    assert profile(normalizer, mid).seniority == "mid"  # 4.8 years
    assert profile(normalizer, short.replace("2025", "2018")).seniority == "senior"  # 8.8


def test_gcp_sense_follows_the_domain(normalizer: RulesNormalizer) -> None:
    clinical = profile(normalizer, CLINICAL_JOB, "job")
    assert "Good Clinical Practice" in clinical.skills
    assert "GCP" not in clinical.skills  # not Google Cloud in a clinical posting
    cloud = profile(normalizer, CLOUD_JOB, "job")
    assert "GCP" in cloud.skills and "Good Clinical Practice" not in cloud.skills


def test_qa_is_qa_testing_only_in_software(normalizer: RulesNormalizer) -> None:
    support = ("Ana Ruiz\nCustomer Support Specialist\n\nExperience\n- Handled 60 tickets a day "
               "in Zendesk; ran weekly ticket QA sessions for new agents.\n")
    assert "QA Testing" not in profile(normalizer, support).skills
    tester = ("Omar Haddad\nSoftware Tester\n\nExperience\n- QA for our mobile app releases: "
              "test cases, regression testing in Selenium.\n")
    assert "QA Testing" in profile(normalizer, tester).skills


def test_unknown_skills_in_lists_are_kept(normalizer: RulesNormalizer) -> None:
    p = profile(normalizer, WAREHOUSE_CV_NO_HEADLINE)
    # Known ones canonicalized, unknown ones ("Descartes") kept, nothing from the sentences.
    assert {"Manhattan WMS", "Forklift Operation", "Inventory Management", "Health and Safety",
            "Descartes"} <= set(p.skills)
    text = ("Raj Mehta\nMechanical Design Engineer\n\nSkills\nSolidWorks, GD&T, Minitab, "
            "Geometric modelling, Tolerance stack-up\n")
    p = profile(normalizer, text)
    assert p.skills[-5:] == ["SolidWorks", "GD&T", "Minitab", "Geometric Modelling",
                             "Tolerance Analysis"]


def test_sentences_in_requirements_give_only_known_skills(normalizer: RulesNormalizer) -> None:
    text = ("Implementation Consultant\n\nRequirements\n- You will own the onboarding of new "
            "customers from first call to go-live.\n- Clear written and spoken communication "
            "in English.\n- 3+ years of experience in a similar role.\n")
    p = profile(normalizer, text, "job")
    assert set(p.skills) == {"Communication", "English"}


def test_must_have_skills_of_a_job(normalizer: RulesNormalizer) -> None:
    p = profile(normalizer, FREIGHT_JOB, "job")
    assert p.must_have_skills == ["CargoWise", "Incoterms", "Customs Clearance", "Excel", "Dutch"]
    # Nice-to-haves ("Desirable", "is a plus") are skills, not must-haves.
    assert {"SAP MM", "Magaya", "REST APIs"} <= set(p.skills)
    assert not {"SAP MM", "Magaya", "REST APIs"} & set(p.must_have_skills)
    assert set(p.must_have_skills) <= set(p.skills)
    clinical = profile(normalizer, CLINICAL_JOB, "job")
    assert {"Good Clinical Practice", "Medidata Rave", "Veeva Vault", "English",
            "German"} <= set(clinical.must_have_skills)
    assert "CTMS" in clinical.skills and "CTMS" not in clinical.must_have_skills


def test_must_haves_from_labels_and_none_for_cvs(normalizer: RulesNormalizer) -> None:
    text = "Backend Developer\nMust have: Python, PostgreSQL, Docker\nNice to have: Kubernetes\n"
    p = profile(normalizer, text, "job")
    assert p.must_have_skills == ["Python", "PostgreSQL", "Docker"]
    assert "Kubernetes" in p.skills
    assert profile(normalizer, samples.JOB_NO_HEADINGS, "job").must_have_skills == []
    assert profile(normalizer, WAREHOUSE_CV_NO_HEADLINE).must_have_skills == []


@pytest.mark.parametrize(
    ("text", "title", "years", "skills"),
    [
        ("María Fernández López\nEnfermera de UCI\nMadrid, España\n\nPerfil profesional\n"
         "Enfermera con 9 años de experiencia en cuidados intensivos.\n\nHabilidades\n"
         "Administración de medicación, Curas, SVA, Inglés (B2)\n",
         "Enfermera de UCI", 9, {"Critical Care", "Medication Administration", "Wound Care",
                                 "ACLS", "English"}),
        ("Katrin Weber\nBuchhalterin\nMünchen\n\nKurzprofil\nBuchhalterin mit 12 Jahren "
         "Berufserfahrung (HGB und IFRS).\n\nKenntnisse\nDATEV, SAP FI, Lohnbuchhaltung\n",
         "Buchhalterin", 12, {"HGB", "IFRS", "DATEV", "SAP FI", "Payroll"}),
        ("Julien Moreau\nChef de partie\nLyon, France\n\nProfil\nCuisinier avec 8 ans "
         "d'expérience en restauration.\n\nCompétences\nHACCP, Gestion des stocks, Pâtisserie\n",
         "Chef de partie", 8, {"HACCP", "Inventory Management", "Pastry"}),
    ],
)
def test_multilingual_headline_years_and_sections(
    normalizer: RulesNormalizer, text: str, title: str, years: float, skills: set[str]
) -> None:
    p = profile(normalizer, text)
    assert p.title == title
    assert p.years_experience == years
    assert skills <= set(p.skills)


def test_multilingual_date_ranges_and_education(normalizer: RulesNormalizer) -> None:
    text = ("Lea Schmidt\nBauingenieurin\n\nBerufserfahrung\nProjektleiterin, Bauwerk AG, "
            "03/2019 – heute\nBauingenieurin, Stadtwerke Köln, 2014 – 2019\n\nAusbildung\n"
            "Studium Bauingenieurwesen, TU München, 2008 – 2014\n")
    p = profile(normalizer, text)
    # Mar 2019 - Nov 2026 (the fixed "present") plus 2014 - 2019; the degree is not work.
    assert p.years_experience == pytest.approx(12.7)
    assert p.title == "Bauingenieurin"  # the headline


def test_openai_schema_has_the_new_fields() -> None:
    from talentflow.llm import prompts, schema

    props = schema.profile_json_schema()["properties"]
    assert {"target_title", "must_have_skills"} <= set(props)
    assert props["must_have_skills"]["type"] == "array"
    assert {"type": "null"} in props["target_title"]["anyOf"]
    system = prompts.system_prompt()
    assert "discarded" not in system
    assert "target_title" in system and "must_have_skills" in system
    assert "Good Clinical Practice" in system  # the ambiguous senses are explained
