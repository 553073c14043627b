"""The offline normalizer: plain rules, no network, no cost, the default provider.

Deterministic by construction: no clock, no randomness, no dict-order surprises. "Present" in a
date range means the fixed `REFERENCE_YEAR`/`REFERENCE_MONTH` below, not today, so the same text
gives the same profile next year too; moving the reference is a code change (and so, correctly,
makes earlier results stale). Section names, headlines, date words and years phrases are read
in English, Spanish, German and French.

Title. For a job, the advertised role. For a CV, the headline under the name, else the current
role (the experience entry with the latest dates, "present" first), else a role named in prose
("I am a registered nurse ...", "Registered nurse with 7 years ..."), else "Unspecified". Never
the person's name (the first line when it reads as a name), never a company ("X at Company",
"X — Company", "X, Company", a segment ending in GmbH/Ltd/Inc/...), never unbalanced brackets
("(Secondary)" is kept whole or dropped whole). A stated move to another role ("looking to move
into data analysis", "seeking my first role as a junior developer", "Quereinstieg als ...",
"reconversion vers ...") fills `target_title` ("Data Analyst", "Junior Developer").

Seniority, in this order:
1. an explicit "Seniority: ..." / "Experience level: ..." line;
2. for a career changer (a `target_title`): the level its words state, else junior (new field);
3. level words in the title: intern (Intern, Trainee, Apprentice, Werkstudent, Praktikant,
   Stagiaire, Becario), junior (Junior, Graduate, Entry-level, Commis), senior (Senior, Sr,
   Sous Chef), lead (Lead, Team Leader, Supervisor, Head Chef, Charge Nurse, Engineering/Store/
   Ward/... Manager, Teamleiter, Jefe de equipo, Chef d'équipe; "Staff" only for engineering
   roles: "Staff Nurse" and "Staff Accountant" are not leads), principal (Principal +role,
   Distinguished), executive (Head of, Director, VP, Chief, C-level, Founder, Geschäftsführer,
   Directeur; a school "Principal"). Only the title counts, so "Senior" in a company name
   does not;
4. evidence: years of experience and scope (the largest team the text says the person
   manages/leads/supervises: "managed a team of 12", "8 direct reports", "Führung von 6
   Mitarbeitern", "dirigí un equipo de 5", "encadrement d'une équipe de 9"):
   under 2 years junior; 2-5 mid; 5-10 senior, lead with a team of 3+; 10+ senior, lead with a
   team of 3+, executive with 15+; no years: lead with a team of 3+, else mid.
   Time alone never makes anyone lead or above, and most people are not senior by default.

Skills. The vocabulary (data/skills.json) normalizes, it does not filter:
- Every list item on a skills line (a Skills / Requirements / Nice-to-have section, a
  "Skills:"-style label, in any of the four languages) is a skill phrase: a known spelling maps
  to its canonical name, an unknown one is kept, tidied (`vocabulary.tidy_skill`: lead-ins like
  "experience with" and level notes like "(advanced)" dropped, sentences, years, degrees and
  phrases of more than 5 words rejected). Items of sentence-like lines only give known skills.
- Prose anywhere gives known skills by vocabulary match, with word boundaries and
  case-insensitively, except for spellings that are also ordinary words or letters. Those follow
  `_SPECIAL` below and the "match" rules in skills.json:
  - "C", "R", "Go", "Swift", "Excel", "Ruby", "Word", "Workday", ... ("list") count only in their
    proper case AND as a list item (between separators such as , / | ; ( ) and/or, at a line
    start, or after "in"/"with"/"using"): "Python, Go and Rust" and "written in Go." count,
    "go-to-market", "excel at", "C-level", "R&D", "Taylor Swift", "a typical workday" do not.
  - "Sales", "Communication", "Budgeting", "Lean", "English", ... ("line", "skills_line") count
    only on a skills line or when the title names them ("Head of Sales"), so "worked with sales
    and marketing" in an engineer's CV adds nothing.
  - "Service", "Reporting", "Strategy", ... ("item") count only as a whole list item.
  - "CV" (Computer Vision's alias: a CV says "CV" about itself), "py" are never matched; "REST",
    "ML", "QA", "ICU", "CAD", ... ("case") only in that capitalization.
- Ambiguous spellings ("GCP", "QA", "EMR", "forecasting", ...) take the sense whose cue words the
  document has most (see talentflow/talent/vocabulary.py); "QA" in a support team's "ticket QA"
  is no skill, "GCP" in a clinical posting is Good Clinical Practice.
- For a job, `must_have_skills` are the skills found on its requirements lines (a
  Requirements / Must have / Essential section or label; its Skills section when it has no
  requirements), minus lines marked nice-to-have ("a plus", "preferred", "desirable", ...).
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
from talentflow.talent.vocabulary import Vocabulary, balanced_brackets, strip_skill, tidy_skill

RULES_MODEL = "rules-v1"

# What "Present" means in "2019 - Present". Fixed on purpose: see the module docstring.
REFERENCE_YEAR = 2026
REFERENCE_MONTH = 11
MAX_YEARS = 50.0
MAX_SKILLS = 100
SUMMARY_MAX_CHARS = 400
UNSPECIFIED = "Unspecified"

def _wordlist(words: str) -> list[str]:
    return words.split()


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# --------------------------------------------------------------------------------------------
# Lines and sections

_BULLETS = " \t#>*•·-–—+▪◦●○■□➢►✓✔"
# Heading text -> the kind of section under it.
_SECTION_NAMES = {
    "summary": "summary|profile|professional summary|career summary|about|about me|objective|"
    "career objective|overview|about the role|the role|role|role overview|position summary|"
    "job description|the job|the position|your role|about the job|about the position|"
    "personal statement|personal profile|professional profile|career goal|career goals|"
    "profil|über mich|zusammenfassung|kurzprofil|persönliches profil|berufsziel|perfil|"
    "perfil profesional|resumen|resumen profesional|sobre mí|acerca de mí|objetivo|"
    "objetivo profesional|profil professionnel|résumé|à propos|a propos|objectif|"
    "objectif professionnel|présentation|descripción del puesto|stellenbeschreibung|"
    "description du poste|le poste|el puesto|die stelle|die position",
    "company": "about us|about the company|who we are|company|the company|our company|"
    "über uns|das unternehmen|wer wir sind|sobre nosotros|quiénes somos|la empresa|"
    "qui sommes-nous|qui sommes nous|à propos de nous|l'entreprise|notre entreprise",
    "experience": "experience|work experience|professional experience|employment|"
    "employment history|work history|career history|career|relevant experience|"
    "professional background|clinical experience|teaching experience|relevant work experience|"
    "previous experience|experience & employment|positions held|"
    "berufserfahrung|beruflicher werdegang|werdegang|erfahrung|praxiserfahrung|"
    "berufliche erfahrung|experiencia|experiencia profesional|experiencia laboral|"
    "trayectoria profesional|expérience|expériences|expérience professionnelle|"
    "expériences professionnelles|parcours professionnel|parcours",
    "education": "education|academic background|education and training|certifications|"
    "certificates|courses|training|degrees|licenses|licences|licenses and certifications|"
    "licences and certifications|certifications and licenses|professional development|"
    "registrations|memberships|professional memberships|education & training|"
    "ausbildung|bildung|bildungsweg|studium|schulbildung|weiterbildung|zertifikate|"
    "zertifizierungen|aus- und weiterbildung|formación|formación académica|educación|"
    "estudios|certificaciones|cursos|formation|formations|diplômes|éducation|"
    "formation et diplômes|certifications et formations",
    "skills": "skills|technical skills|core skills|key skills|skills and tools|tech stack|"
    "technologies|tools|competencies|core competencies|expertise|stack|skill set|skillset|"
    "programming languages|languages|tools and technologies|skills & tools|key competencies|"
    "areas of expertise|clinical skills|technical competencies|software|systems|it skills|"
    "computer skills|core strengths|strengths|specialties|specialities|capabilities|"
    "skills & competencies|skills and competencies|additional skills|other skills|"
    "kenntnisse|fähigkeiten|fertigkeiten|kompetenzen|fachkenntnisse|it-kenntnisse|"
    "edv-kenntnisse|sprachkenntnisse|sprachen|fähigkeiten und kenntnisse|"
    "kenntnisse und fähigkeiten|habilidades|competencias|conocimientos|aptitudes|idiomas|"
    "herramientas|habilidades técnicas|conocimientos técnicos|compétences|"
    "compétences techniques|compétences clés|langues|outils|logiciels|informatique",
    "requirements": "requirements|what you'll need|what you will need|what we're looking for|"
    "what we are looking for|must have|must-have|must-haves|must haves|qualifications|"
    "you have|who you are|about you|your profile|what you bring|skills & experience|"
    "skills and experience|minimum qualifications|you bring|required qualifications|"
    "required skills|requirements and skills|key requirements|minimum requirements|"
    "essential|essential criteria|essential skills|essential requirements|"
    "the ideal candidate|ideal candidate|who we're looking for|who we are looking for|"
    "candidate profile|person specification|what we need|what you need|what you'll bring|"
    "what you will bring|your skills|your experience|"
    "anforderungen|ihr profil|dein profil|was du mitbringst|was sie mitbringen|"
    "das bringst du mit|das bringen sie mit|voraussetzungen|qualifikationen|"
    "requisitos|requisitos mínimos|perfil buscado|lo que buscamos|qué buscamos|buscamos|"
    "tu perfil|su perfil|profil recherché|votre profil|exigences|compétences requises|"
    "prérequis|profil souhaité|qualifications requises|ce que nous recherchons",
    "nice": "nice to have|nice-to-have|nice-to-haves|nice to haves|bonus|bonus points|pluses|"
    "desirable|desirable criteria|desirable skills|preferred|preferred qualifications|"
    "preferred skills|good to have|it's a plus|a plus|extra credit|even better if|"
    "wünschenswert|von vorteil|idealerweise|nice to have (optional)|deseable|se valorará|"
    "valorable|valoramos|un plus|atouts|serait un plus|les plus|un atout",
    "other": "responsibilities|what you'll do|what you will do|benefits|perks|what we offer|"
    "projects|interests|hobbies|references|publications|awards|volunteering|how to apply|"
    "key responsibilities|duties|your responsibilities|achievements|"
    "aufgaben|ihre aufgaben|deine aufgaben|wir bieten|was wir bieten|hobbys|interessen|"
    "referenzen|responsabilidades|funciones|tareas|ofrecemos|qué ofrecemos|intereses|"
    "referencias|missions|vos missions|nous offrons|avantages|ce que nous offrons|"
    "centres d'intérêt|loisirs|références",
}
_SECTIONS = {name: key for key, names in _SECTION_NAMES.items() for name in names.split("|")}
# On a CV, "Qualifications" lists degrees and certificates, not what someone asks for.
_CV_SECTIONS = {"qualifications": "education", "qualifikationen": "education"}

_SKILL_LABEL = re.compile(
    r"^(?:(?:technical|core|key|soft|hard|other|primary|main|it|software|clinical|additional|"
    r"required|essential|desirable|preferred|transferable|professional)\s+)?"
    r"(?:skills?|competencies|strengths|tools|tech(?:nical)?\s+stack|stack|technologies|"
    r"expertise|languages|programming\s+languages|frameworks|proficiencies|software|systems|"
    r"certifications?|licen[cs]es?|requirements|must[- ]haves?|nice[- ]to[- ]haves?|"
    r"qualifications|kenntnisse|fähigkeiten|kompetenzen|sprachen|sprachkenntnisse|"
    r"habilidades|competencias|conocimientos|herramientas|idiomas|compétences|outils|langues|"
    r"logiciels)\s*(?:&\s*\w+\s*)?(?:\([^()]*\)\s*)?[:\-–—]",
    re.I,
)
_MUST_LABEL = re.compile(
    r"^(?:must[- ]haves?|required(?:\s+skills)?|requirements|essential(?:\s+(?:skills|"
    r"criteria|requirements))?|mandatory|key\s+requirements|minimum\s+requirements|"
    r"anforderungen|voraussetzungen|requisitos|exigences|prérequis)\s*[:\-–—]",
    re.I,
)
_NICE_LABEL = re.compile(
    r"^(?:nice[- ]to[- ]haves?|desirable(?:\s+(?:skills|criteria))?|preferred(?:\s+skills)?|"
    r"bonus(?:\s+points)?|pluses|a\s+plus|wünschenswert|von\s+vorteil|deseable|se\s+valorará|"
    r"valorable|un\s+plus|atouts?)\s*[:\-–—]",
    re.I,
)
_NICE_MARK = re.compile(
    r"\b(?:nice[- ]to[- ]have|(?:is|are|would\s+be)\s+(?:a\s+)?(?:big\s+|huge\s+|real\s+)?"
    r"(?:plus|bonus|advantage)|a\s+plus\b|bonus\s+points|preferred|desirable|ideally|"
    r"advantageous|would\s+be\s+(?:great|nice|beneficial)|not\s+required|optional|"
    r"von\s+Vorteil|wünschenswert|idealerweise|se\s+valorará|valorable|deseable|un\s+plus|"
    r"un\s+atout|souhaitable|apprécié)",
    re.I,
)
# Phone numbers: "+49 151 ...", "(512) 555-0100", "512-555-0100"; not "2019 - 2021".
_CONTACT = re.compile(
    r"@|https?://|www\.|linkedin|github\.com|\bphone\b|\be-?mail\b|\btel(?:efon|éfono|)\.?:|"
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
    bullet: bool  # the raw line starts with a bullet mark


def _clean(line: str) -> str:
    line = line.strip().strip(_BULLETS).strip()
    return line.replace("**", "").replace("__", "").strip()


def _heading_key(clean: str, kind: Kind) -> str | None:
    if not clean or len(clean) > 45:
        return None
    name = " ".join(clean.rstrip(":").lower().split())
    if kind == "candidate" and name in _CV_SECTIONS:
        return _CV_SECTIONS[name]
    return _SECTIONS.get(name)


def _split_lines(text: str, kind: Kind) -> list[_Line]:
    lines: list[_Line] = []
    section: str | None = None
    offset = 0
    for raw in text.split("\n"):
        clean = _clean(raw)
        key = _heading_key(clean, kind)
        if key is not None:
            section = key
        stripped = raw.lstrip(" \t")
        bullet = bool(stripped) and stripped[0] in "-–—*•·+▪◦●○■□➢►✓✔" and (
            len(stripped) > 1 and stripped[1] in " \t"
        )
        lines.append(_Line(offset, raw, clean, section, key is not None, bullet))
        offset += len(raw) + 1
    return lines


def _fold(spelling: str) -> str:
    return " ".join(spelling.lower().split())


# --------------------------------------------------------------------------------------------
# Titles

_ROLE_WORDS = """
    engineer engineers developer developers programmer architect scientist analyst designer
    manager director lead head officer consultant specialist administrator admin recruiter
    representative executive associate intern accountant writer marketer researcher coordinator
    strategist owner technician editor advocate tester sre devops vp president cto ceo cfo coo
    cmo cpo ciso cio founder co-founder cofounder trainee apprentice statistician economist
    producer copywriter teacher instructor agent advisor adviser planner buyer auditor
    controller counsel lawyer attorney operator partner principal investigator sourcer
    generalist assistant supervisor underwriter actuary trader banker broker bookkeeper clerk
    paralegal nurse pharmacist physician therapist lecturer professor tutor translator
    illustrator animator journalist reporter photographer receptionist cashier mechanic
    electrician pilot leader chef cook baker butcher pastry commis sous midwife carer caregiver
    practitioner paramedic surgeon doctor dentist hygienist radiographer sonographer
    psychologist counsellor counselor worker aide attendant housekeeper concierge waiter
    waitress bartender barista sommelier host hostess steward stewardess porter driver courier
    picker packer operative dispatcher scheduler machinist welder fitter fabricator plumber
    carpenter joiner draughtsman draftsman drafter inspector surveyor estimator foreman
    superintendent solicitor barrister notary secretary teller merchandiser salesperson
    salesman saleswoman rep ambassador headhunter trainer coach educator headteacher
    headmaster headmistress senco technologist chemist biologist physicist pharmacologist
    epidemiologist biostatistician sdet webmaster treasurer comptroller adjuster registrar
    physiotherapist optometrist dietitian nutritionist vet veterinarian artist videographer
    storekeeper warehouseman loader labourer laborer handler controller navigator dispenser
    phlebotomist technologist housekeeping steward chemist guard
    enfermero enfermera contable contador contadora ingeniero ingeniera desarrollador
    desarrolladora programador programadora profesor profesora maestro maestra docente
    abogado abogada jefe jefa gerente directora analista técnico técnica cocinero cocinera
    camarero camarera administrativo administrativa auxiliar vendedor vendedora comercial
    diseñador diseñadora consultor consultora asesor asesora responsable coordinador
    coordinadora supervisora encargado encargada especialista médico médica farmacéutico
    farmacéutica fisioterapeuta psicólogo psicóloga recepcionista conductor conductora mozo
    operario operaria mecánico mecánica electricista soldador carretillero almacenero
    becario becaria practicante científico científica investigador investigadora arquitecto
    arquitecta auditora traductor traductora periodista redactor redactora educador
    educadora cuidador cuidadora matrona dependiente dependienta cajero cajera ayudante
    infirmier infirmière comptable ingénieur ingénieure développeur développeuse professeur
    professeure enseignant enseignante avocat avocate juriste cuisinier cuisinière serveur
    serveuse directeur directrice chargé chargée gestionnaire technicien technicienne
    conseiller conseillère commerciale assistante analyste consultante vendeur vendeuse
    magasinier magasinière cariste logisticien logisticienne acheteur acheteuse contrôleur
    contrôleuse auditeur auditrice formateur formatrice stagiaire alternant alternante apprenti
    apprentie médecin pharmacien pharmacienne kinésithérapeute sage-femme aide-soignant
    aide-soignante éducateur éducatrice réceptionniste chauffeur livreur livreuse mécanicien
    mécanicienne électricien électricienne soudeur soudeuse opérateur opératrice préparateur
    préparatrice dessinateur dessinatrice rédacteur rédactrice traducteur traductrice
    journaliste architecte chercheur chercheuse graphiste concepteur conceptrice coordinateur
    coordinatrice superviseur adjoint adjointe secrétaire employé employée ouvrier ouvrière
    boulanger boulangère pâtissier pâtissière sommelière barman
    buchhalter buchhalterin koch köchin kellner kellnerin pfleger pflegerin krankenschwester
    lehrer lehrerin erzieher erzieherin arzt ärztin anwalt anwältin rechtsanwalt
    rechtsanwältin referent referentin fachkraft sachbearbeiter sachbearbeiterin disponent
    disponentin lagerist lageristin monteur monteurin schlosser schlosserin elektriker
    elektrikerin mechaniker mechanikerin mechatroniker mechatronikerin techniker technikerin
    kaufmann kauffrau berater beraterin verkäufer verkäuferin assistent assistentin
    entwickler entwicklerin ingenieur ingenieurin leiter leiterin werkstudent werkstudentin
    praktikant praktikantin auszubildender auszubildende azubi geschäftsführer
    geschäftsführerin fahrer fahrerin helfer helferin hebamme apotheker apothekerin
    therapeut therapeutin wissenschaftler wissenschaftlerin pflegefachfrau pflegefachmann
    pflegefachkraft
"""
_ROLE_NOUNS = frozenset(_ROLE_WORDS.split())
# German compounds: "Softwareentwicklerin", "Finanzbuchhalter", "Projektleiter", ...
_ROLE_SUFFIX = re.compile(
    r"(?:entwickler|ingenieur|buchhalter|leiter|berater|pfleger|referent|techniker|mechaniker|"
    r"mechatroniker|elektriker|kaufmann|kauffrau|assistent|lehrer|manager|verkäufer|kellner|"
    r"fachkraft|sachbearbeiter|disponent|lagerist|arzt|ärztin|anwalt|anwältin|controller|"
    r"analyst|designer|architekt|wissenschaftler|spezialist|koordinator|planer|prüfer|"
    r"schwester|helfer|fahrer|monteur|schlosser|erzieher|therapeut|apotheker|betreuer|"
    r"praktikant|werkstudent|geschäftsführer|direktor|köchin|koch|bäcker|konditor|redakteur|"
    r"programmierer|administrator|consultant|engineer|developer)(?:in|innen)?$"
)
# Role words that are also common surnames: a first line "Anna Koch" is a name.
_SURNAME_LIKE = _wordset(
    "cook koch baker porter mason driver butler steward carter fisher taylor turner miller "
    "smith weber schneider fischer bauer meyer müller page clark marshall dean judge carpenter "
    "gardener farmer hunter chef")
# Words of titles that are no role by themselves; a line with one is not a person's name.
_TITLE_WORDS = _wordset(
    """senior junior head lead chief staff principal sous deputy assistant associate executive
    registered certified chartered licensed qualified trainee graduate intern data software
    marketing sales warehouse team project product customer service support finance financial
    clinical research operations logistics quality design team shift kitchen restaurant hotel
    night day general regional area store retail digital content social legal hr people
    talent payroll tax audit accounts account business technical mechanical electrical civil
    maintenance production manufacturing supply chain procurement nursing care health dental
    medical primary secondary mathematics maths english science teaching front office
    teamleiter""")
_PARTICLES = _wordset("de da van von der den del la le di du dos das bin al y e ten ter zu")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_COMPANY_SUFFIX = re.compile(
    r"(?:\b(?:gmbh|ag|se|kg|ug|ltd|limited|inc|llc|llp|plc|corp|corporation|co|company|group|"
    r"holdings?|s\.?\s?a\.?|s\.?\s?l\.?|s\.?\s?a\.?\s?s\.?|sarl|sas|bv|b\.v\.|nv|n\.v\.|oy|ab|"
    r"as|a/s|pty|pvt|s\.?p\.?a\.?|srl|e\.?\s?v\.?|ggmbh|kgaa)\.?)$",
    re.I,
)
# "Enfermera de UCI en Hospital La Paz": "en"/"in"/"im"/"dans" introduce a company only
# when an organization word follows (so "Infirmière en réanimation" stays whole).
_ORG_WORDS = (
    r"(?:hospital|hôpital|clínica|clinica|clinic|klinik|klinikum|krankenhaus|universidad|"
    r"université|universität|university|colegio|escuela|école|schule|gymnasium|instituto|"
    r"institut|hotel|hôtel|restaurante|restaurant|grupo|groupe|gruppe|banco|banque|bank|"
    r"ayuntamiento|empresa|société|firma|centro|centre|zentrum|residencia|praxis|cabinet|"
    r"despacho|kanzlei|bufete|the\s+[A-Z])"
)
_SEGMENT_SPLIT = re.compile(
    rf"\s+(?:[|·•–—@-]|at|bei|chez|@)\s+|\s*[|·•]\s*|\s*,\s+(?=[A-Z])|"
    rf"\s+(?:en|in|im|dans\s+l[ea']?|à\s+l[ea']?|para\s+(?:el|la)|für\s+(?:das|die|den)|"
    rf"pour\s+l[ea']?)\s+(?={_ORG_WORDS}\b)",
    re.I,
)
_TITLE_LABEL = re.compile(
    r"^(?:job\s+title|title|position|role|headline|current\s+(?:role|position|title)|"
    r"vacancy|opening|puesto|cargo|stelle|stellenbezeichnung|position\s+actuelle|poste|"
    r"intitulé\s+du\s+poste|posición)\s*[:\-–—]\s*(.+)$",
    re.I,
)
_TARGET_LABEL = re.compile(
    r"^(?:desired|target|preferred|sought|wunsch|ziel)(?:\s+|-)?(?:role|position|job|title|"
    r"stelle|position)\s*[:\-–—]\s*(.+)$|^(?:puesto\s+deseado|poste\s+recherché|"
    r"poste\s+souhaité)\s*[:\-–—]\s*(.+)$",
    re.I,
)
_HIRING = re.compile(
    r"\b(?:hiring|looking\s+for|seeking|searching\s+for|recruiting)\s+(?:an?\s+|our\s+(?:next|"
    r"first|new)\s+)?((?:[\w+#./&-]+[ \t]+){0,6}[\w+#./&-]+)",
    re.I,
)
_LABELLED = re.compile(r"^[^\W\d_][\w /&-]{0,30}:\s")
_GENDER_MARK = re.compile(
    r"\((?:[mfwdxhi]|all\s+genders?|gn\*?|[mfwdh]\s*/\s*[mfwdh](?:\s*/\s*[mfwdhx])*)\)|"
    r"\b[mfwd]/[mfwd](?:/[mfwdx])?\b|\*in\b|:in\b|"
    r"(?<=[^\W\d_])/(?:a|in|innen|e|ne|se|euse|rice)\b",  # "Enfermero/a", "Entwickler/in"
    re.I,
)
# "Buscamos Enfermero/a ...", "Wir suchen eine ...": a hiring verb before a job's title.
_HIRING_LEAD = re.compile(
    r"^(?:we(?:'re|\s+are)\s+hiring:?|hiring:?|now\s+hiring:?|buscamos|se\s+busca|"
    r"precisamos|wir\s+suchen|gesucht:?|nous\s+recrutons|nous\s+recherchons|on\s+recrute|"
    r"recrutement:?)\s+(?:(?:un|una|une|eine?n?|a|an|einen)\s+)?",
    re.I,
)
_PRESENT = (
    r"present|current|now|today|ongoing|date|actualidad|actual|presente|hoy|heute|jetzt|"
    r"aktuell|dato|aujourd['’]hui|présent|en\s+cours|à\s+ce\s+jour|ce\s+jour"
)
# "(2019 - Present)", "(summer 2026)", a bare "2016 – 2020", "seit 2019": dates are not part
# of a title.
_DATEISH = re.compile(
    r"\([^()]*\b(?:19|20)\d{2}\b[^()]*\)|"
    r"\b(?:\d{1,2}[/.])?(?:19|20)\d{2}\b(?:\s*(?:–|—|-|to|bis|hasta|à|au)\s*(?:(?:\d{1,2}[/.])?"
    r"(?:19|20)\d{2}\b|(?:" + _PRESENT + r")\b))?|"
    r"\b(?:since|seit|desde|depuis)\b|\bpresent\b",
    re.I,
)
# The past-tense start of an achievement bullet, not a title: "Led a team of 5 engineers".
_ACTION_WORDS = _wordset(
    """led managed built developed designed delivered implemented created ran owned drove
    improved reduced increased supported coordinated handled prepared trained mentored
    supervised oversaw launched shipped wrote worked responsible achieved introduced
    maintained provided assisted conducted performed processed organised organized planned
    taught cooked served treated administered ensured monitored analysed analyzed helped
    collaborated partnered negotiated sold won grew cut saved established produced completed
    participated contributed liaised reported dealt working managing leading building
    developing delivering using including cared promoted hired recruited onboarded
    streamlined automated migrated""")
_SENTENCE_WORDS = _wordset(
    """i i'm my we we're our you you'll you're your looking seeking with into who that which
    years year experience am is are was were have has will to passionate motivated dedicated
    con mit avec años jahre jahren ans busco suche je ich soy yo mi mein meine mon""")

def _words(text: str) -> list[str]:
    return [w.casefold().strip("'’-") for w in _WORD.findall(text)]


def _is_role_word(word: str) -> bool:
    return word in _ROLE_NOUNS or (len(word) >= 7 and _ROLE_SUFFIX.search(word) is not None)


def _has_role_noun(segment: str) -> bool:
    return any(_is_role_word(w) for w in _words(segment))


def _looks_like_name(clean: str) -> bool:
    """"Jane Doe", "María José García López", "Jean-Luc de la Fontaine", "Anna Koch"."""
    words = clean.split()
    if not 2 <= len(words) <= 5 or _CONTACT.search(clean) or any(c.isdigit() for c in clean):
        return False
    core = [w.strip(".,") for w in words if w.lower() not in _PARTICLES]
    if len(core) < 2 or len(core) > 4:
        return False
    for word in core:
        if not word or not word[0].isupper() or not all(c.isalpha() or c in "-'’." for c in word):
            return False
        low = word.casefold()
        if low in _TITLE_WORDS or (_is_role_word(low) and low not in _SURNAME_LIKE):
            return False
    return True


_DOCUMENT_WORDS = re.compile(
    r"^(?:curriculum\s+vitae|cv|resume|résumé|lebenslauf|hoja\s+de\s+vida)\s*:?$", re.I
)


def _person_name(lines: list[_Line]) -> str | None:
    """The CV's owner: the first plain line, if it reads as a name."""
    for line in lines[:12]:
        if not line.clean or line.heading:
            continue
        if _CONTACT.search(line.clean) or _LABELLED.match(line.clean) or _DOCUMENT_WORDS.match(
            line.clean
        ):
            continue
        return line.clean if _looks_like_name(line.clean) else None
    return None


def _tidy_title(title: str) -> str:
    title = _GENDER_MARK.sub("", title)
    title = _DATEISH.sub("", title)
    title = re.sub(r"\(\s*[-–—,;:/]*\s*\)", "", title)
    title = re.sub(r"\s+", " ", title).strip(" ,;:-–—|·•/")
    title = balanced_brackets(title).strip(" ,;:-–—|·•/")
    letters = [c for c in title if c.isalpha()]
    if len(letters) > 5 and all(c.isupper() for c in letters):  # "REGISTERED NURSE"
        title = " ".join(w if len(w) <= 3 else w.capitalize() for w in title.split())
    return title[:200].strip()


def _protect_brackets(text: str) -> tuple[str, list[str]]:
    """Top-level (...) spans replaced by placeholders, so separators inside a bracket ("Teacher
    (Maths, Physics)") do not split a title."""
    spans: list[str] = []
    out: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            if depth == 0:
                start = i
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
            if depth == 0:
                spans.append(text[start : i + 1])
                out.append(f"\x00{len(spans) - 1}\x00")
            continue
        if depth == 0:
            out.append(ch)
    if depth:  # unclosed: keep the rest as it is
        out.append(text[start:])
    return "".join(out), spans


def _restore(segment: str, spans: list[str]) -> str:
    return re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], segment)


def _title_segment_ok(segment: str, name: str | None) -> bool:
    words = _words(segment)
    if not segment or len(segment.split()) > 8 or not words:
        return False
    if name and _fold(segment) == _fold(name):
        return False
    if words[0] in _ACTION_WORDS or any(w in _SENTENCE_WORDS for w in words):
        return False
    if re.search(r"%|\bteam\s+of\b|\b\d{2,}\b(?!\))", segment, re.I):
        return False
    if _COMPANY_SUFFIX.search(segment.rstrip(" .,")):
        return False
    return _has_role_noun(segment)


def _title_from_line(clean: str, name: str | None = None) -> str | None:
    """The role part of a short header-like line ("Jane Doe — Senior Engineer", "Staff SRE at
    Acme (2019 - Present)", "Sous Chef, Hotel Kaiserhof Wien"), or None if the line does not
    look like a title."""
    if not clean or len(clean) > 120 or _CONTACT.search(clean):
        return None
    protected, spans = _protect_brackets(clean)
    for part in _SEGMENT_SPLIT.split(protected):
        segment = _tidy_title(_restore(part or "", spans))
        if _title_segment_ok(segment, name):
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


def _entry_end(lines: list[_Line], i: int) -> tuple[float, float] | None:
    """(end, start) of the date range of the experience entry whose title is line i: on the
    line, else the next line, the previous line or the one after."""
    for j in (i, i + 1, i - 1, i + 2):
        if 0 <= j < len(lines) and lines[j].section == "experience" and not lines[j].heading:
            spans = _line_spans(lines[j].raw)
            if spans:
                start, end = max(spans, key=lambda s: (s[1], s[0]))
                return end, start
    return None


def _current_role(lines: list[_Line], name: str | None) -> str | None:
    """The title of the most recent experience entry: the latest end date ("present" counts as
    the reference date), ties to the latest start, then to the first listed; plain lines before
    bullet lines."""
    for allow_bullets in (False, True):
        best: tuple[tuple[float, float, int], str] | None = None
        for i, line in enumerate(lines):
            if line.section != "experience" or line.heading or (line.bullet and not allow_bullets):
                continue
            title = _title_from_line(line.clean, name)
            if title is None:
                continue
            when = _entry_end(lines, i) or (0.0, 0.0)
            key = (when[0], when[1], -i)
            if best is None or key > best[0]:
                best = (key, title)
        if best is not None:
            return best[1]
    return None


_ADJECTIVES = _wordset(
    """experienced passionate dedicated motivated enthusiastic hardworking hard-working
    reliable friendly skilled seasoned results-driven detail-oriented creative compassionate
    caring highly very self-motivated driven committed organised organized proactive
    versatile energetic ambitious diligent competent professional accomplished talented
    erfahrene erfahrener engagierte engagierter motivierte motivierter experimentado
    experimentada apasionado apasionada expérimenté expérimentée passionné passionnée
    an a un une una un eine einer ein""")
# Self-descriptions that name a role only in prose: "Operations professional with 15 years".
_PROSE_ROLE_WORDS = frozenset({"professional", "expert"})
_PROSE_ROLE = re.compile(
    r"(?:\b(?:i\s+am|i'm|i\s+work\s+as|working\s+as|currently\s+working\s+as|employed\s+as|"
    r"currently\s+(?:an?|the)|soy|trabajo\s+como|ich\s+bin|tätig\s+als|arbeite\s+als|"
    r"je\s+suis|travaille\s+comme|en\s+tant\s+que)\s+)(?P<phrase>[^.,;:()\n]{2,80})",
    re.I,
)
_WITH_YEARS = re.compile(
    r"^(?P<phrase>[^.,;:()\n]{2,60}?)\s+(?:with|con|mit|avec)\s+(?:over\s+|more\s+than\s+|"
    r"más\s+de\s+|über\s+|plus\s+de\s+)?\d",
    re.I,
)


def _role_phrase(phrase: str) -> str | None:
    """"an experienced registered nurse specialising in ICU" -> "Registered Nurse": the words
    up to the last role noun among the first six, adjectives and articles dropped."""
    words = phrase.split()[:6]
    while words and words[0].casefold().strip(",") in _ADJECTIVES:
        words.pop(0)
    roles = [i for i, w in enumerate(words)
             if any(_is_role_word(x) or x in _PROSE_ROLE_WORDS for x in _words(w))]
    if not roles:
        return None
    return _tidy_title(_title_case(" ".join(words[: roles[-1] + 1]))) or None


def _title_case(text: str) -> str:
    """Lowercase words capitalized, except small words inside; acronyms and brands kept."""
    small = {"of", "and", "for", "in", "de", "del", "la", "en", "und", "für", "et", "des", "du"}
    out = []
    for i, word in enumerate(text.split()):
        if word.islower() and not (i > 0 and word in small):
            word = word[:1].upper() + word[1:]
        out.append(word)
    return " ".join(out)


def _prose_title(lines: list[_Line]) -> str | None:
    """A role named in prose: "I am a registered nurse ...", "Registered nurse with 7 years"."""
    for line in lines[:80]:
        if not line.clean or line.heading or line.section in ("education", "skills", "other"):
            continue
        for m in _PROSE_ROLE.finditer(line.clean):
            if title := _role_phrase(m.group("phrase")):
                return title
        m = _WITH_YEARS.match(line.clean)
        if m and (title := _role_phrase(m.group("phrase"))):
            return title
    return None


def _cv_title(lines: list[_Line], name: str | None) -> tuple[str | None, str | None]:
    """(title, target from the headline) of a CV; either may be None."""
    target: str | None = None
    for line in lines[:40]:
        m = _TITLE_LABEL.match(line.clean)
        if m and (title := _tidy_title(m.group(1))):
            return title, None
    head = [ln for ln in lines[:60] if ln.clean and not ln.heading and ln.section is None][:8]
    former: str | None = None
    for line in head:
        if _LABELLED.match(line.clean) and not _TITLE_LABEL.match(line.clean):
            continue
        aspiring = _ASPIRING.match(line.clean)
        if aspiring:
            target = target or _title_from_line(aspiring.group("role"), name)
            rest = line.clean[aspiring.end("role") :]
            if rest and (title := _title_from_line(rest, name)):
                former = former or _FORMER.sub("", title).strip() or None
            continue
        if _FORMER.match(line.clean):
            former = former or _title_from_line(_FORMER.sub("", line.clean), name)
            continue
        if title := _title_from_line(line.clean, name):
            return title, target
    if title := _current_role(lines, name):
        return title, target
    if former:
        return former, target
    if title := _prose_title(lines):
        return title, target
    for line in lines[:60]:
        if line.clean and not line.heading and line.section not in ("education", "skills") and (
            title := _title_from_line(line.clean, name)
        ):
            return title, target
    return None, target


def _job_title(lines: list[_Line], text: str) -> str:
    for line in lines[:40]:
        m = _TITLE_LABEL.match(line.clean)
        if m and _tidy_title(m.group(1)):
            return _tidy_title(m.group(1))
    # A job posting usually opens with its title.
    head = [ln for ln in lines[:60] if ln.clean and not ln.heading]
    for line in head[:3]:
        if title := _title_from_line(_HIRING_LEAD.sub("", line.clean)):
            return title
    if title := _hiring_title(text[:1500]):
        return title
    for line in head:
        if title := _title_from_line(line.clean):
            return title
    for line in head:  # nothing names a role: the first plain line ("Location: ..." is not)
        if not _CONTACT.search(line.clean) and not _LABELLED.match(line.clean):
            protected, spans = _protect_brackets(line.clean[:120])
            first = _tidy_title(_restore(_SEGMENT_SPLIT.split(protected)[0] or "", spans))
            if first and not _COMPANY_SUFFIX.search(first):
                return first
    return UNSPECIFIED


_ASPIRING = re.compile(
    r"^(?:aspiring|future|prospective|soon-to-be|angehende[rs]?|futur[eo]?|futura)\s+"
    r"(?P<role>[^|·•,;(]+?)(?=\s*(?:[|·•,;(]|\s[-–—]\s|$))",
    re.I,
)
_FORMER = re.compile(r"^(?:former|ex-|ex\s+|ehemalige[rs]?|antiguo|antigua|ancien|ancienne)\s*",
                     re.I)


# --------------------------------------------------------------------------------------------
# Seniority

_TECH_STAFF = re.compile(
    r"\bstaff\s+(?:[\w/+-]+\s+){0,3}?(?:engineer|developer|scientist|architect|sre|swe|"
    r"designer|analyst|researcher|product\s+manager|programmer)\b",
    re.I,
)
_PEOPLE_MANAGER = (
    r"(?:engineering|store|restaurant|warehouse|shift|ward|office|site|plant|branch|kitchen|"
    r"practice|area|regional|district|team|operations|department|line|floor|bar|hotel|"
    r"facility|facilities|delivery|depot|production|people|unit|clinic|nursing|care\s+home)"
    r"\s+manager"
)
_SENIORITY_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("executive", re.compile(
        r"\b(?:head\s+of|vp|svp|evp|vice[\s-]+president|director|directora|directeur|"
        r"directrice|direktor(?:in)?|chief|cto|ceo|cfo|coo|cmo|cpo|ciso|cio|c-level|"
        r"co-?founder|founder|president|managing\s+director|general\s+manager|"
        r"geschäftsführer(?:in)?|bereichsleiter(?:in)?|abteilungsleiter(?:in)?|"
        r"gerente\s+general|head\s*teacher|headmaster|headmistress|school\s+principal)\b|"
        r"^\s*principal\s*$|\bprincipal\s*(?:,|$)", re.I)),
    ("principal", re.compile(r"\b(?:principal|distinguished)\b", re.I)),
    ("lead", re.compile(
        r"\b(?:lead|leader|team\s*lead|supervisor|supervisora|foreman|forewoman|"
        r"charge\s+nurse|ward\s+sister|head\s+(?!of\b)\w+|" + _PEOPLE_MANAGER + r"|"
        r"teamleiter(?:in)?|gruppenleiter(?:in)?|schichtleiter(?:in)?|stationsleitung|"
        r"teamleitung|jef[ea]\s+de\s+(?:equipo|turno|cocina|sala|partida)|encargad[oa]|"
        r"chef\s+d['’]équipe|chef\s+de\s+cuisine|responsable\s+d['’]équipe|"
        r"chef\s+de\s+rang|executive\s+chef|nurse\s+manager)\b", re.I)),
    ("senior", re.compile(r"\b(?:senior|sr|sénior|señor|oberarzt|oberärztin|sous[\s-]chef)\b",
                          re.I)),
    ("intern", re.compile(
        r"\b(?:intern|internship|trainee|apprentice|working\s+student|werkstudent(?:in)?|"
        r"praktikant(?:in)?|auszubildende[rn]?|azubi|stagiaire|alternante?|apprentie?|"
        r"becari[oa]|pasante|practicante)\b", re.I)),
    ("junior", re.compile(
        r"\b(?:junior|jr|júnior|graduate|entry[- ]level|commis|berufseinsteiger(?:in)?|"
        r"débutante?)\b", re.I)),
    ("mid", re.compile(r"\b(?:mid|mid-level|intermediate)\b", re.I)),
)

_SENIORITY_LABEL = re.compile(
    r"^(?:seniority(?:\s+level)?|experience\s+level|career\s+level|level|karrierestufe|"
    r"nivel|niveau)\s*[:\-–—]\s*(.+)$", re.I
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


def _title_level(title: str) -> str | None:
    """The level a title's words state, if any ("Staff" only for engineering roles)."""
    if _TECH_STAFF.search(title) and not _SENIORITY_RULES[0][1].search(title):
        return "lead"
    for level, pattern in _SENIORITY_RULES:
        if pattern.search(title):
            return level
    return None


_NUMBER_WORDS = {
    **{w: i for i, w in enumerate(
        _wordlist(
            "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty"))},
    **{w: i + 2 for i, w in enumerate(
        _wordlist("dos tres cuatro cinco seis siete ocho nueve diez"))},
    **{w: i + 2 for i, w in enumerate(
        _wordlist("zwei drei vier fünf sechs sieben acht neun zehn"))},
    **{w: i + 2 for i, w in enumerate(
        _wordlist("deux trois quatre cinq six sept huit neuf dix"))},
    "elf": 11, "zwölf": 12, "once": 11, "doce": 12, "onze": 11, "douze": 12, "quince": 15,
    "fünfzehn": 15, "quinze": 15, "veinte": 20, "zwanzig": 20, "vingt": 20,
}
_N = r"(\d{1,2}(?:[.,]\d)?|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")"
_NT = r"(\d{1,4}|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")"
_SCOPE = (
    re.compile(
        r"\b(?:manag|lead|led\b|supervis|head(?:ed|ing)?\b|ran\b|run(?:ning)?\b|oversaw|"
        r"oversee|direct(?:ed|ing)\b|line[- ]manag|built\s+and\s+led|grew\s+and\s+led)\w*\s+"
        r"(?:a\s+|an\s+|the\s+|my\s+)?(?:[\w-]+\s+){0,3}?"
        r"(?:team|teams|staff|group|department|unit|ward|kitchen|brigade|crew|workforce|"
        r"function)\s+of\s+(?:up\s+to\s+|over\s+|more\s+than\s+|about\s+|around\s+|)"
        + _NT + r"\b", re.I),
    re.compile(
        r"\b(?:manag|lead|led\b|supervis|oversaw|oversee|line[- ]manag|head(?:ed|ing)?\b)\w*\s+"
        r"(?:a\s+team\s+of\s+|teams\s+of\s+|up\s+to\s+|over\s+)?" + _NT +
        r"\s+(?:[\w-]+\s+){0,2}?(?:direct\s+reports|reports|people|staff|employees|fte|"
        r"engineers|developers|nurses|analysts|accountants|chefs|cooks|teachers|associates|"
        r"operatives|drivers|agents|consultants|designers|recruiters|technicians|colleagues|"
        r"team\s+members|managers|lawyers|paralegals|sales\s+reps|reps)\b", re.I),
    re.compile(r"\b" + _NT + r"\s+direct\s+reports\b", re.I),
    re.compile(
        r"\b(?:Führung|Leitung|führte|leitete|verantwortlich\s+für|Personalverantwortung\s+für)"
        r"\s+(?:eines\s+|einem\s+|von\s+)?(?:Teams?\s+(?:von|mit|aus)\s+)?(?:bis\s+zu\s+)?"
        + _NT + r"\s+(?:Mitarbeiter\w*|Personen|Beschäftigten|Pflegekräfte\w*|Köche\w*|"
        r"Angestellte\w*|Fachkräfte\w*|Entwickler\w*)", re.I),
    re.compile(
        r"\b(?:dirig|lider|gestion|coordin|supervis|encabez)\w*\s+(?:a\s+)?(?:un\s+)?"
        r"equipo\s+de\s+(?:hasta\s+|más\s+de\s+)?" + _NT + r"\b|\ba\s+cargo\s+de\s+"
        + _NT + r"\s+(?:personas|empleados|trabajadores)", re.I),
    re.compile(
        r"\b(?:encadr|manag|dirig|supervis|pilot|anim)\w*\s+(?:d['’]une\s+|une\s+)?"
        r"équipe\s+de\s+(?:plus\s+de\s+)?" + _NT + r"\b", re.I),
)


def _scope(text: str) -> int:
    """The largest team the text says someone manages (0 if none)."""
    best = 0
    for pattern in _SCOPE:
        for m in pattern.finditer(text):
            token = m.group(m.lastindex or 1).lower()
            n = _NUMBER_WORDS[token] if token in _NUMBER_WORDS else int(token)
            if n <= 5000:
                best = max(best, n)
    return best


def _seniority(title: str, years: float | None, scope: int, target: str | None) -> str:
    """See the module docstring (the explicit label is checked by the caller)."""
    if target is not None:
        return _title_level(target) or "junior"
    if level := _title_level(title):
        return level
    manages = scope >= 3
    if years is None:
        return "lead" if manages else "mid"  # the middle of the scale misleads matching least
    if years < 2:
        return "junior"
    if years < 5:
        return "mid"
    if years < 10:
        return "lead" if manages else "senior"
    if scope >= 15:
        return "executive"
    return "lead" if manages else "senior"


# --------------------------------------------------------------------------------------------
# Years of experience

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
    # Spanish: "7 años de experiencia", "más de 10 años como", "experiencia de 5 años".
    re.compile(rf"(?<![\d.]){_N}\s*\+?\s*años\s+(?:de\s+)?(?:experiencia|trayectoria|"
               r"trabajando|como|en\s+(?:el|la)\s+sector)", re.I),
    re.compile(rf"\bexperiencia\s+(?:profesional\s+)?(?:de\s+)?(?:más\s+de\s+)?{_N}\s*\+?\s*años",
               re.I),
    # German: "10 Jahre Berufserfahrung", "mehr als 5 Jahre Erfahrung als", "5-jährige Erfahrung".
    re.compile(rf"(?<![\d.]){_N}\s*\+?\s*Jahren?\s+(?:(?:Berufs|Arbeits|Praxis|Führungs|"
               r"Projekt)?erfahrung|Berufspraxis|als\b|in\s+der\b|im\b|Tätigkeit)", re.I),
    re.compile(rf"(?<![\d.]){_N}-?jährige\w*\s+(?:Berufs|Praxis)?erfahrung", re.I),
    re.compile(rf"\bBerufserfahrung\s+von\s+(?:mehr\s+als\s+|über\s+)?{_N}\s+Jahren", re.I),
    # French: "8 ans d'expérience", "plus de 5 années d'expérience", "expérience de 3 ans".
    re.compile(rf"(?<![\d.]){_N}\s*\+?\s*(?:ans|années?)\s+d['’]\s*expérience", re.I),
    re.compile(rf"\bexpérience\s+(?:professionnelle\s+)?(?:de\s+)?(?:plus\s+de\s+)?{_N}\s+"
               r"(?:ans|années)", re.I),
)
_MONTHS = {
    **{m: i + 1 for i, m in enumerate(_wordlist(
        "jan feb mar apr may jun jul aug sep oct nov dec"))},
    "ene": 1, "abr": 4, "ago": 8, "dic": 12, "mär": 3, "mrz": 3, "mai": 5, "okt": 10, "dez": 12,
    "fév": 2, "fev": 2, "avr": 4, "aoû": 8, "aou": 8, "déc": 12, "juin": 6, "juil": 7,
    "janv": 1, "févr": 2, "mars": 3, "sept": 9, "set": 9,
}
_MON = (
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec|ene|abr|ago|dic|mär|mrz|mai|okt|"
    r"dez|fév|fev|avr|aoû|aou|déc|juin|juil|janv|févr|mars)[^\W\d_]*\.?"
)
_DATE_RANGE = re.compile(
    rf"(?:(?P<sm>{_MON})\s+|(?P<sn>\d{{1,2}})[/.])?(?P<sy>(?:19|20)\d{{2}})\s*"
    r"(?:–|—|-|to|until|till|bis|hasta|au|à)\s*"
    rf"(?:(?:(?P<em>{_MON})\s+|(?P<en>\d{{1,2}})[/.])?(?P<ey>(?:19|20)\d{{2}})|"
    rf"(?P<now>{_PRESENT}))",
    re.I,
)
_SINCE = re.compile(
    rf"\b(?:since|seit|desde|depuis)\s+(?:(?P<sm>{_MON})\s+|(?P<sn>\d{{1,2}})[/.])?"
    r"(?P<sy>(?:19|20)\d{2})\b",
    re.I,
)
_DEGREE = re.compile(
    r"\b(?:b\.?sc|m\.?sc|b\.?a|m\.?a|mba|ph\.?d|bachelor|master|doctorate|diploma|degree|"
    r"university|college|school|universit[äa]t|universidad|université|institute of technology|"
    r"grado|licenciatura|máster|studium|abitur|baccalauréat|licence|hochschule)\b",
    re.I,
)


def _number(token: str) -> float:
    token = token.lower().replace(",", ".")
    return float(_NUMBER_WORDS[token]) if token in _NUMBER_WORDS else float(token)


_YEAR_WORD = re.compile(r"\b(?:years?|yrs?|años?|jahren?|ans|années?|jährige\w*)\b", re.I)


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
        key = name.lower().rstrip(".")
        for size in (4, 3):
            if key[:size] in _MONTHS:
                return _MONTHS[key[:size]]
        return 1
    if number and 1 <= int(number) <= 12:
        return int(number)
    return 1


_PRESENT_AT = REFERENCE_YEAR + (REFERENCE_MONTH - 1) / 12


def _line_spans(raw: str) -> list[tuple[float, float]]:
    """The (start, end) work periods a line names, in fractional years."""
    spans: list[tuple[float, float]] = []
    for m in _DATE_RANGE.finditer(raw):
        start = int(m["sy"]) + (_month(m["sm"], m["sn"]) - 1) / 12
        end = _PRESENT_AT if m["now"] else int(m["ey"]) + (_month(m["em"], m["en"]) - 1) / 12
        if 1960 <= start <= end <= _PRESENT_AT + 1:
            spans.append((start, min(end, _PRESENT_AT)))
    if not spans:
        for m in _SINCE.finditer(raw):
            start = int(m["sy"]) + (_month(m["sm"], m["sn"]) - 1) / 12
            if 1960 <= start <= _PRESENT_AT:
                spans.append((start, _PRESENT_AT))
    return spans


def _range_years(lines: list[_Line]) -> float | None:
    """Total time covered by the work date ranges, overlaps counted once. Only the experience
    section counts when there is one; education never does."""
    has_experience = any(ln.section == "experience" and not ln.heading for ln in lines)
    spans: list[tuple[float, float]] = []
    for line in lines:
        if has_experience and line.section != "experience":
            continue
        if line.section == "education" or _DEGREE.search(line.raw):
            continue
        spans.extend(_line_spans(line.raw))
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
# Spellings (as in data/skills.json, any case) that need more than a word boundary. skills.json
# adds its own "match" rules for the spellings it introduced; these win where both speak.
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
_VOCAB_RULES = {
    "case": _Rule(case=True, where="anywhere"),
    "list": _Rule(case=True, where="list"),
    "line": _Rule(case=False, where="skills_line"),
}
# Never matched by the rules (an LLM may still name them; the validator maps them).
_EXCLUDED = frozenset({"cv", "py"})
_LEFT_WORDS = frozenset({"and", "or", "in", "with", "using", "und", "y", "et", "mit", "con",
                         "avec", "en"})
_SEPARATORS = ",;/|·•()[]{}:"


def _trie_pattern(spellings: Iterable[str]) -> str:
    """One regex alternation as a character trie: the engine follows only branches that match
    the next character instead of trying ~2,500 alternatives at every position."""
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
    vocab: Vocabulary
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
        item_only = {_fold(s) for s, rule in vocab.match_rules.items() if rule == "item"}
        rules = {_fold(s): (s, _VOCAB_RULES[rule]) for s, rule in vocab.match_rules.items()
                 if rule in _VOCAB_RULES and _fold(s) in canonical}
        rules.update({_fold(s): (s, rule) for s, rule in _SPECIAL.items() if _fold(s) in canonical})
        common = [s for s in canonical if s not in rules and s not in _EXCLUDED
                  and s not in item_only]
        bound = r"(?<![\w+#])(?:{})(?![\w+#])"
        return cls(
            vocab=vocab,
            common=re.compile(bound.format(_trie_pattern(common)), re.I),
            common_lower=re.compile(bound.format(_trie_pattern(common))),
            special=re.compile(bound.format(_trie_pattern(rules)), re.I),
            canonical=canonical,
            rules=rules,
        )


_MATCHERS: dict[int, tuple[Vocabulary, _SkillMatcher]] = {}


def _matcher_for(vocab: Vocabulary) -> _SkillMatcher:
    """One matcher per vocabulary object: building one compiles a large regex."""
    hit = _MATCHERS.get(id(vocab))
    if hit is None or hit[0] is not vocab:
        hit = (vocab, _SkillMatcher.build(vocab))
        _MATCHERS[id(vocab)] = hit
    return hit[1]


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
    return re.match(r"(?:and|or|und|y|et)\b", after) is not None


def _is_skills_line(line: _Line) -> bool:
    return line.section in ("skills", "requirements", "nice") or bool(
        _SKILL_LABEL.match(line.clean) or _MUST_LABEL.match(line.clean)
        or _NICE_LABEL.match(line.clean)
    )


class _Senses:
    """Ambiguous spellings resolved once per document."""

    def __init__(self, vocab: Vocabulary, context: str) -> None:
        self.vocab, self.context, self.memo = vocab, context, {}

    def canonical(self, spelling: str) -> str | None:
        folded = _fold(spelling)
        if folded not in self.memo:
            self.memo[folded] = self.vocab.canonical(folded, self.context)
        return self.memo[folded]


def _prose_skills(text: str, lines: list[_Line], title: str, matcher: _SkillMatcher,
                  senses: _Senses) -> list[tuple[int, int, str]]:
    """Known skills anywhere in the text: (start, end, canonical name)."""
    found: list[tuple[int, int, str]] = []
    lower = text.lower()
    if len(lower) == len(text):  # offsets line up (not so for a few characters, e.g. "İ")
        common = matcher.common_lower.finditer(lower)
    else:
        common = matcher.common.finditer(text)
    ambiguous = matcher.vocab.ambiguous
    for m in common:
        folded = _fold(m.group())
        name = senses.canonical(folded) if folded in ambiguous else matcher.canonical[folded]
        if name is not None:
            found.append((m.start(), m.end(), name))
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
        name = senses.canonical(folded) if folded in ambiguous else matcher.canonical[folded]
        if name is not None:
            found.append((m.start(), m.end(), name))
    return _outermost(found)


def _outermost(found: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Matches not inside a longer one: the two tries match independently, and "SAP" inside
    "SAP FI/CO" or "costing" inside "Menu costing" is not a skill of its own."""
    found.sort(key=lambda f: (f[0], -f[1]))
    out: list[tuple[int, int, str]] = []
    reach = -1
    for start, end, name in found:
        if end <= reach:
            continue
        out.append((start, end, name))
        reach = max(reach, end)
    return out


_ITEM_SPLIT = re.compile(r"\s*[,;|·•]\s*|\s+/\s+|\s{3,}")
_PART_SPLIT = re.compile(r"\s+(?:and|or|&|und|oder|y|o|et|ou)\s+", re.I)
_CATEGORY = re.compile(r"^([^\W\d_][^:]{0,38}):\s*(?=\S)")
_SENTENCE_START = _wordset(
    """i we you you'll you're we're we'll our your my they this it there as in on at from to
    the a an if when while able ability must will should can have has be are is help work join
    ensure strong proven excellent""")
# Lines in a skills section that only name a group of skills ("Clinical", "Software:").
_GROUP_WORDS = _wordset(
    """technical clinical software tools systems languages certifications other general soft
    hard personal professional it computer digital business administrative office
    interpersonal transferable key core additional frameworks databases platforms
    methodologies infrastructure cloud programming""")


def _list_body(line: _Line) -> str | None:
    """The list part of a skills line: without a "Skills:" / "Infrastructure:" label; None if
    the line is not a skills line or names only a group."""
    clean = line.clean
    label = (_SKILL_LABEL.match(clean) or _MUST_LABEL.match(clean)
             or _NICE_LABEL.match(clean))
    if label:
        return clean[label.end():].strip() or None
    if line.section not in ("skills", "requirements", "nice") or line.heading:
        return None
    if clean.endswith(":") or (len(clean.split()) == 1 and clean.lower() in _GROUP_WORDS):
        return None
    category = _CATEGORY.match(clean)
    if category and len(category.group(1).split()) <= 4:
        return clean[category.end():]
    return clean


def _split_items(body: str) -> list[str]:
    protected, spans = _protect_brackets(body)
    return [_restore(p, spans).strip() for p in _ITEM_SPLIT.split(protected) if p and p.strip()]


def _sentence_like(body: str, items: list[str]) -> bool:
    words = body.split()
    first = _words(items[0])[:1] if items else []
    if first and first[0] in _SENTENCE_START and not tidy_skill(items[0]):
        return True
    if len(words) >= 10 and body.rstrip().endswith((".", "!", ":")):
        return True
    return len(items) == 1 and len(words) > 7


def _item_skills(item: str, matcher: _SkillMatcher, senses: _Senses) -> list[str]:
    """The skills in one list item: the whole item if the vocabulary knows it; else the known
    skills in it plus its unknown and/or parts; else the item itself, tidied."""
    stripped = strip_skill(item)
    if _fold(stripped) in matcher.canonical:  # the whole item is a known spelling
        name = senses.canonical(stripped) or tidy_skill(stripped)
        return [name] if name else []
    tidy = tidy_skill(stripped)
    known = _prose_skills(item, [_Line(0, item, item, "skills", False, False)], "", matcher,
                          senses)
    if not known:
        return [tidy] if tidy else []
    out = [name for _, _, name in sorted(known)]
    if len(item.split()) > vocabulary_mod.MAX_SKILL_WORDS:  # a phrase, not a short list
        return out
    offset = 0
    for part in _PART_SPLIT.split(item):
        start = item.find(part, offset)
        offset = start + len(part)
        if any(s < offset and e > start for s, e, _ in known):
            continue
        if (extra := tidy_skill(part)) and not _is_generic(extra):
            out.append(senses.canonical(extra) or extra)
    return out


def _is_generic(phrase: str) -> bool:
    return all(w in _GROUP_WORDS or w in _SENTENCE_START for w in _words(phrase))


@dataclass(frozen=True)
class _Skills:
    skills: list[str]
    must: list[str]


def _must_line(line: _Line, has_requirements: bool) -> bool:
    if _NICE_LABEL.match(line.clean) or _NICE_MARK.search(line.clean):
        return False
    if _MUST_LABEL.match(line.clean):
        return True
    if line.section == "requirements":
        return True
    return line.section == "skills" and not has_requirements


def _skills(text: str, lines: list[_Line], title: str, kind: Kind,
            matcher: _SkillMatcher) -> _Skills:
    senses = _Senses(matcher.vocab, text)
    starts = [ln.start for ln in lines]
    found: list[tuple[int, str, int]] = []  # (position, name, line index)
    for start, _, name in _prose_skills(text, lines, title, matcher, senses):
        found.append((start, name, bisect.bisect_right(starts, start) - 1))
    for i, line in enumerate(lines):
        body = _list_body(line)
        if not body:
            continue
        items = _split_items(body)
        if not items or _sentence_like(body, items):
            continue
        for item in items:
            where = line.start + max(0, line.raw.find(item[:20]))
            for name in _item_skills(item, matcher, senses):
                found.append((where, name, i))
    found.sort(key=lambda f: (f[0], f[2]))
    seen: dict[str, str] = {}
    for _, name, _ in found:
        seen.setdefault(name.casefold(), name)
    skills = list(seen.values())[:MAX_SKILLS]
    must: list[str] = []
    if kind == "job":
        has_requirements = any(ln.section == "requirements" and not ln.heading for ln in lines)
        kept = {s.casefold() for s in skills}
        picked: dict[str, str] = {}
        for _, name, i in found:
            if name.casefold() in kept and _must_line(lines[i], has_requirements):
                picked.setdefault(name.casefold(), seen[name.casefold()])
        must = list(picked.values())
    return _Skills(skills, must)


# --------------------------------------------------------------------------------------------
# Career change: the role a CV says the person is moving to

_TARGET_CUES = tuple(re.compile(p, re.I) for p in (
    # English
    r"\b(?:looking|seeking|hoping|aiming|keen|eager|wanting|want|wish|planning|ready|trying)\s+"
    r"to\s+(?:move|transition|switch|pivot|change|get|break|step|progress|retrain)\s+"
    r"(?:careers?\s+|my\s+career\s+)?(?:in)?to\s+(?:an?\s+|the\s+)?(?:role\s+(?:in|as)\s+"
    r"(?:an?\s+)?|career\s+(?:in|as)\s+(?:an?\s+)?|position\s+(?:in|as)\s+(?:an?\s+)?)?",
    r"\btransition(?:ing|ed)?\s+(?:my\s+career\s+)?(?:in)?to\s+(?:an?\s+|the\s+)?"
    r"(?:role\s+(?:in|as)\s+(?:an?\s+)?|career\s+(?:in|as)\s+(?:an?\s+)?)?",
    r"\b(?:pivot(?:ing)?|moving|switching|changing\s+careers?)\s+(?:in)?to\s+(?:an?\s+|the\s+)?"
    r"(?:role\s+(?:in|as)\s+(?:an?\s+)?|career\s+(?:in|as)\s+(?:an?\s+)?)?",
    r"\bcareer\s+(?:change|changer|switch|move|transition)\s+(?:in)?to\s+(?:an?\s+)?",
    r"\b(?:seeking|looking\s+for|pursuing|searching\s+for|applying\s+for)\s+(?:my\s+first|"
    r"a\s+first|an?\s+(?:new\s+)?(?:entry[- ]level\s+|junior\s+)?|an?)\s*(?:role|position|"
    r"job|opportunity|career|opening|post)\s+(?:as|in)\s+(?:an?\s+)?",
    r"\bretrain(?:ed|ing)?\s+as\s+(?:an?\s+)?",
    r"\bnew\s+career\s+(?:as|in)\s+(?:an?\s+)?",
    # Spanish
    r"\b(?:busco|buscando|en\s+búsqueda\s+de)\s+(?:mi\s+primer\s+|un\s+|una\s+|nuevo\s+|"
    r"nueva\s+)?(?:empleo|puesto|trabajo|oportunidad|rol)\s+(?:como|de)\s+",
    r"\b(?:reorientar|reconvertir|cambiar)(?:me)?\s+(?:mi\s+carrera\s+(?:profesional\s+)?)?"
    r"(?:hacia|a|al|como)\s+(?:el\s+|la\s+|un\s+puesto\s+de\s+)?",
    r"\btransición\s+(?:profesional\s+)?(?:hacia|a)\s+(?:el\s+|la\s+)?",
    # German
    r"\b(?:Quereinstieg|Quereinsteiger(?:in)?|Umstieg|Neuorientierung|Wechsel|Umschulung)\s+"
    r"(?:als|in\s+(?:die|den|das)?|zum|zur|in\s+Richtung)\s+",
    r"\bsuche\s+(?:eine\s+)?(?:neue\s+)?(?:Stelle|Position|Einstieg|Herausforderung|"
    r"Anstellung)\s+als\s+",
    # French
    r"\breconversion\s+(?:professionnelle\s+)?(?:vers|en|dans)\s+(?:le\s+métier\s+de\s+|"
    r"la\s+|le\s+|l['’])?",
    r"\b(?:je\s+recherche|recherche|à\s+la\s+recherche\s+d['’]?)\s*(?:un\s+|mon\s+premier\s+)?"
    r"(?:poste|emploi)\s+(?:de|d['’]|en\s+tant\s+que|comme)\s*",
    r"\bsouhaite\s+(?:évoluer|me\s+reconvertir|devenir)\s+(?:vers|en|comme)?\s*"
    r"(?:le\s+métier\s+de\s+)?",
))
_TARGET_STOP = _wordset(
    """after where with and to at by using within while because so that following bringing
    leveraging from through for who which combining building drawing having since as roles
    role positions position jobs job opportunities opportunity career careers where i my
    in en con para donde y mit und bei für avec et pour dans où que""")
# "data analysis" -> "Data Analyst": a field named as the role who works in it.
_FIELD_ROLE = {
    "analysis": "Analyst", "analytics": "Analyst", "research": "Researcher",
    "development": "Developer", "engineering": "Engineer", "design": "Designer",
    "management": "Manager", "science": "Scientist", "teaching": "Teacher", "nursing": "Nurse",
    "accounting": "Accountant", "accountancy": "Accountant", "recruitment": "Recruiter",
    "recruiting": "Recruiter", "consulting": "Consultant", "consultancy": "Consultant",
    "writing": "Writer", "programming": "Programmer", "testing": "Tester",
    "administration": "Administrator", "law": "Lawyer", "journalism": "Journalist",
    "photography": "Photographer", "coaching": "Coach", "tutoring": "Tutor",
    "marketing": "Marketing Specialist", "sales": "Sales Representative",
}


def _role_from_field(phrase: str) -> str | None:
    words = phrase.split()
    if not words:
        return None
    last = words[-1].lower()
    if last in _FIELD_ROLE and not _has_role_noun(phrase):
        role = _FIELD_ROLE[last]
        if " " in role and len(words) > 1:  # "digital marketing" -> "Digital Marketing Specialist"
            return " ".join([*words, role.split()[-1]])
        return " ".join([*words[:-1], role])
    return phrase


def _target_phrase(rest: str) -> str | None:
    words: list[str] = []
    for raw in rest.split()[:8]:
        word = raw.strip("\"'“”‘’")
        bare = word.rstrip(".,;:!?)(")
        if not bare or bare.lower() in _TARGET_STOP:
            break
        words.append(bare)
        if bare != word or len(words) == 6:
            break
    while words and words[-1].lower() in _TARGET_STOP | {"the", "a", "an", "of"}:
        words.pop()
    if not words:
        return None
    role = _role_from_field(" ".join(words))
    if role is None or not _has_role_noun(role):
        return None
    return _tidy_title(_title_case(role)) or None


def _target_title(lines: list[_Line], headline_target: str | None, title: str | None
                  ) -> str | None:
    target = None
    for line in lines[:60]:
        m = _TARGET_LABEL.match(line.clean)
        if m and (value := _tidy_title(m.group(1) or m.group(2) or "")):
            target = value
            break
    target = target or headline_target
    if target is None:
        for line in lines[:80]:
            if not line.clean or line.section in ("education", "skills", "other"):
                continue
            for cue in _TARGET_CUES:
                m = cue.search(line.clean)
                if m and (target := _target_phrase(line.clean[m.end():])):
                    break
            if target:
                break
    if target is None or (title and _fold(target) == _fold(title)):
        return None
    return target


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
        if line.section is not None:  # the header only, not "Acme Ltd, Coventry" entries
            continue
        for segment in re.split(r"\s*[|·•]\s*|\s+[–—-]\s+", line.clean):
            segment = re.sub(r"\([^)]*\)", "", segment).strip()
            if _CITY_COUNTRY.match(segment) and not _has_role_noun(segment) and not any(
                _COMPANY_SUFFIX.search(part.strip()) for part in segment.split(",")
            ):
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
        self._matcher = _matcher_for(vocabulary or vocabulary_mod.default())

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
        lines = _split_lines(text, kind)
        target: str | None = None
        if kind == "job":
            title = _job_title(lines, text)
        else:
            found, headline_target = _cv_title(lines, _person_name(lines))
            target = _target_title(lines, headline_target, found)
            title = found or target or UNSPECIFIED
            if found is None:
                target = None  # no current job to differ from: the target is the title
        years = _years(text, lines)
        seniority = _labelled_seniority(lines) or _seniority(title, years, _scope(text), target)
        skills = _skills(text, lines, title, kind, self._matcher)
        return NormalizedProfile.model_validate(
            {
                "title": title,
                "seniority": seniority,
                "years_experience": years or 0.0,
                "skills": skills.skills,
                "location": _location(lines, text),
                "remote": _remote(text, kind),
                "summary": _summary(lines, kind, title, years),
                "target_title": target,
                "must_have_skills": skills.must,
            },
            context={"text": text},
        )
