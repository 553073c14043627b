"""The skills vocabulary as a normalizer (not a filter), context-dependent senses, and the
profile validator built on it."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from talentflow import config
from talentflow.talent import vocabulary
from talentflow.talent.profile import NormalizedProfile
from talentflow.talent.vocabulary import tidy_skill

CLINICAL = ("Clinical Research Associate. Monitor phase III trials at investigator sites; "
            "informed consent, protocol deviations, source data verification for the sponsor.")
CLOUD = "Platform engineer: Kubernetes on GKE, BigQuery and Terraform for our cloud services."
SOFTWARE_TESTING = "QA engineer: test cases, regression testing with Selenium for the web app."
SUPPORT = "Support agent: 60 tickets a day, weekly ticket QA sessions with new colleagues."


@pytest.fixture(scope="module")
def vocab() -> vocabulary.Vocabulary:
    return vocabulary.default()


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("IFRS 16", "IFRS"), ("gaap", "US GAAP"), ("SAP FI/CO", "SAP FI"),
        ("month end close", "Month-End Close"), ("Lohnbuchhaltung", "Payroll"),
        ("CargoWise One", "CargoWise"), ("Incoterms 2020", "Incoterms"),
        ("warehouse management system", "WMS"), ("solid works", "SolidWorks"),
        ("geometric dimensioning and tolerancing", "GD&T"), ("cnc milling", "CNC Machining"),
        ("process fmea", "PFMEA"), ("haccp level 3", "HACCP"), ("recipe costing", "Menu Costing"),
        ("Workday HCM", "Workday"), ("greenhouse ats", "Greenhouse"), ("CIPD Level 5", "CIPD"),
        ("google adwords", "Google Ads"), ("search engine optimization", "SEO"),
        ("hubspot crm", "HubSpot"), ("sfdc", "Salesforce"), ("user testing", "Usability Testing"),
        ("intensive care", "Critical Care"), ("ICU", "Critical Care"),
        ("cuidados intensivos", "Critical Care"), ("basic life support", "BLS"),
        ("advanced life support", "ACLS"), ("drug administration", "Medication Administration"),
        ("ICH-GCP", "Good Clinical Practice"), ("medidata rave edc", "Medidata Rave"),
        ("legal due diligence", "Due Diligence"), ("drafting contracts", "Contract Drafting"),
        ("lesson plans", "Lesson Planning"), ("behaviour management", "Classroom Management"),
        ("child protection", "Safeguarding"), ("Figma", "Figma"), ("k8s", "Kubernetes"),
    ],
)
def test_aliases_and_abbreviations_across_domains(
    vocab: vocabulary.Vocabulary, spelling: str, canonical: str
) -> None:
    assert vocab.canonical(spelling) == canonical
    assert vocab.is_canonical(canonical)


def test_vocabulary_is_large_and_consistent(vocab: vocabulary.Vocabulary) -> None:
    assert len(vocab.names) >= 500
    assert len(set(vocab.names)) == len(vocab.names)
    assert vocab.version != "2026-11-22"  # bumped with the open vocabulary
    # Every canonical name maps to itself (no alias shadows another skill's name).
    for name in vocab.names:
        assert vocab.canonical(name) == name, name
    raw = json.loads((config.data_dir() / "skills.json").read_text(encoding="utf-8"))
    for entry in raw["ambiguous"]:
        assert {s["name"] for s in entry["senses"]} <= set(vocab.names)


def test_unknown_skills_are_kept_tidied_not_dropped(vocab: vocabulary.Vocabulary) -> None:
    assert vocab.canonical("Minitab") is None  # not in the vocabulary ...
    assert vocab.normalize("Minitab") == "Minitab"  # ... but kept as a skill
    assert vocab.normalize("  wound   irrigation. ") == "Wound Irrigation"
    assert vocab.normalize("Descartes;") == "Descartes"
    assert vocab.normalize("Experience with Blue Prism") == "Blue Prism"
    assert vocab.normalize("NMC registration") == "NMC Registration"


@pytest.mark.parametrize(
    ("phrase", "tidy"),
    [
        ("Excel (advanced)", "Excel"),
        ("German (C1)", "German"),
        ("Strong knowledge of SAP MM", "SAP MM"),
        ("Good Clinical Practice", "Good Clinical Practice"),  # "Good" is part of the name
        ("PATIENT CARE", "Patient Care"),
        ("C#", "C#"),
        ("C++,", "C++"),
        (".NET", ".NET"),
        ("Data tracking (SIMS", "Data Tracking"),  # an unclosed bracket is dropped whole
        ("Teaching (KS3, KS4)", "Teaching (KS3, KS4)"),
        # garbage
        ("I am a hard-working nurse who loves people", None),
        ("5+ years of experience in logistics", None),
        ("BSc degree in Accounting", None),
        ("2019", None),
        ("12345", None),
        ("a b c d e f", None),
        ("you will own the roadmap", None),
        ("jane@example.com", None),
        ("Solid", None),
        ("", None),
    ],
)
def test_tidy_skill(phrase: str, tidy: str | None) -> None:
    assert tidy_skill(phrase) == tidy


def test_normalize_all_dedupes_case_insensitively(vocab: vocabulary.Vocabulary) -> None:
    names = ["python", "Python3", "Minitab", "MINITAB", "minitab ", "5 years", "Py"]
    assert vocab.normalize_all(names) == ["Python", "Minitab"]


def test_gcp_sense_from_context(vocab: vocabulary.Vocabulary) -> None:
    assert vocab.canonical("GCP", context=CLINICAL) == "Good Clinical Practice"
    assert vocab.canonical("GCP", context=CLOUD) == "GCP"
    assert vocab.canonical("gcp", context="") == "GCP"  # no cue: the default
    assert vocab.canonical("GCP") == "GCP"  # no context: the first sense
    assert vocab.canonical("Google Cloud Platform", context=CLINICAL) == "GCP"  # unambiguous


def test_qa_is_software_testing_only_in_a_software_context(
    vocab: vocabulary.Vocabulary,
) -> None:
    assert vocab.canonical("QA", context=SOFTWARE_TESTING) == "QA Testing"
    assert vocab.canonical("QA", context=SUPPORT) is None  # no sense here
    assert vocab.normalize("QA", context=SUPPORT) == "QA"  # kept as written
    plant = "Quality engineer in an automotive plant: ISO 9001 audits, CAPA, PPAP."
    assert vocab.canonical("QA", context=plant) == "Quality Assurance"
    assert vocab.canonical("quality assurance", context=plant) == "Quality Assurance"
    assert vocab.canonical("quality assurance", context=SOFTWARE_TESTING) == "QA Testing"


def test_forecasting_sense(vocab: vocabulary.Vocabulary) -> None:
    fpa = "FP&A analyst: budgeting, P&L variance analysis and board reporting."
    ds = "Data scientist: time series models in Python with Prophet and scikit-learn."
    assert vocab.canonical("forecasting", context=fpa) == "Financial Forecasting"
    assert vocab.canonical("forecasting", context=ds) == "Time Series"


def _profile(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "title": "Staff Nurse", "seniority": "mid", "years_experience": 4, "skills": [],
        "location": None, "remote": False, "summary": "Nurse on an acute ward.",
    }
    return {**base, **fields}


def test_profile_keeps_unknown_skills_and_drops_garbage() -> None:
    p = NormalizedProfile.model_validate(_profile(skills=[
        "medication administration", "NMC registration", "Epic", "nmc registration",
        "I love my job and my patients very much", "2019", "Wound care.",
    ]))
    assert p.skills == ["Medication Administration", "NMC Registration", "Epic", "Wound Care"]


def test_profile_must_haves_are_canonical_and_a_subset_of_skills() -> None:
    p = NormalizedProfile.model_validate(_profile(
        title="Freight Coordinator", skills=["cargowise one", "Excel"],
        must_have_skills=["CargoWise", "incoterms 2020", "Fluent Dutch"],
    ))
    assert p.must_have_skills == ["CargoWise", "Incoterms", "Dutch"]
    assert p.skills == ["CargoWise", "Excel", "Incoterms", "Dutch"]
    assert set(p.must_have_skills) <= set(p.skills)


def test_profile_new_fields_default_and_validate() -> None:
    p = NormalizedProfile.model_validate(_profile())
    assert p.target_title is None and p.must_have_skills == []
    assert NormalizedProfile.model_validate(_profile(target_title="")).target_title is None
    with pytest.raises(ValidationError):
        NormalizedProfile.model_validate(_profile(target_title="x" * 201))
    with pytest.raises(ValidationError):
        NormalizedProfile.model_validate(_profile(must_have_skills="Python"))


def test_profile_senses_ambiguous_skills_from_the_document_or_itself() -> None:
    job = _profile(title="Clinical Research Associate", summary="Monitors clinical trials.",
                   skills=["gcp", "Medidata Rave"])
    assert NormalizedProfile.model_validate(job).skills == ["Good Clinical Practice",
                                                            "Medidata Rave"]
    # With the document, the document decides.
    assert NormalizedProfile.model_validate(
        _profile(skills=["gcp"]), context={"text": CLOUD}
    ).skills == ["GCP"]
    assert NormalizedProfile.model_validate(
        _profile(skills=["GCP"]), context={"text": CLINICAL}
    ).skills == ["Good Clinical Practice"]


def test_stored_profile_reads_back_unchanged() -> None:
    p = NormalizedProfile.model_validate(
        _profile(title="Clinical Research Associate", skills=["GCP", "QA", "Minitab", "C#"],
                 must_have_skills=["GCP"]),
        context={"text": CLOUD},
    )
    again = NormalizedProfile.model_validate(p.model_dump())
    assert again == p
    assert NormalizedProfile.model_validate_json(p.model_dump_json()) == p
