"""Seeded sample data: realistic candidate CVs and job postings.

Why a generator and not a fixture file: the pipeline has to be shown at scale (100k rows) and
the demo needs rows a human would believe, so both come from one place. The generator is
deterministic — every draw comes from one `random.Random` per stream, seeded from the caller's
seed (never the global `random`) — so the same `(n, seed)` gives byte-identical output, and the
first k rows of a larger run equal a run of k (each stream is consumed in row order).

Rows carry exactly the source-table columns (`id`, `name`, `email`, `location`, `cv_text` /
`id`, `title`, `company`, `location`, `description`): the truth the generator picked (role,
seniority, skills) lives only in the text, which is what the normalizer must read back.

Consistency rules the tests check: every skill listed or named in a text is a canonical name
from `data/skills.json`; a title's seniority agrees with the years of experience; CVs have
100–500 words and job descriptions 80–400 (`len(text.split())`).
"""

from __future__ import annotations

import bisect
import csv
import json
import random
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

# A fixed "now": output must not depend on the day it is generated.
CURRENT_YEAR = 2026

# The shipped sample (`data/candidates.jsonl`, `data/jobs.jsonl`; see data/README.md).
SAMPLE_SEED = 20261122
SAMPLE_CANDIDATES = 240
SAMPLE_JOBS = 220

CV_WORDS = (100, 500)
JOB_WORDS = (80, 400)

CANDIDATE_COLUMNS = ("id", "name", "email", "location", "cv_text")
JOB_COLUMNS = ("id", "title", "company", "location", "description")

LEVELS = ("intern", "junior", "mid", "senior", "lead", "principal", "executive")
# Years of experience each level may have (inclusive); overlapping on purpose, as in life.
LEVEL_YEARS = {
    "intern": (0, 0),
    "junior": (0, 2),
    "mid": (2, 5),
    "senior": (5, 10),
    "lead": (7, 14),
    "principal": (10, 22),
    "executive": (14, 28),
}
_CANDIDATE_LEVEL_WEIGHTS = (4, 16, 30, 28, 11, 6, 5)
_JOB_LEVEL_WEIGHTS = (3, 12, 30, 33, 12, 6, 4)


# --------------------------------------------------------------------------------------------
# People and places
# --------------------------------------------------------------------------------------------

# Name pools by cultural group; a person's group follows their city most of the time.
_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "anglo": (
        ("James", "Emily", "Oliver", "Charlotte", "Liam", "Sophie", "Noah", "Grace", "Ethan",
         "Hannah", "Jack", "Chloe", "Ryan", "Megan", "Daniel", "Olivia", "Thomas", "Isabella",
         "Samuel", "Abigail", "Connor", "Madison", "Lucas", "Ava"),
        ("Smith", "Johnson", "Williams", "Brown", "Taylor", "Walker", "Wright", "Thompson",
         "Hughes", "Edwards", "Murphy", "O'Connor", "Kelly", "Campbell", "Stewart", "Bennett",
         "Collins", "Foster", "Hayes", "Morgan", "Reed", "Sullivan", "Turner", "Ward"),
    ),
    "german": (
        ("Lukas", "Anna", "Felix", "Lea", "Jonas", "Marie", "Maximilian", "Laura", "Leon",
         "Johanna", "Tobias", "Katharina", "Moritz", "Sophia", "Niklas", "Franziska", "Jan",
         "Clara", "Matthias", "Lena"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
         "Hoffmann", "Schäfer", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz",
         "Zimmermann", "Braun", "Krüger", "Hofmann"),
    ),
    "french": (
        ("Camille", "Louis", "Manon", "Hugo", "Chloé", "Arthur", "Inès", "Jules", "Léa",
         "Théo", "Élodie", "Mathieu", "Juliette", "Antoine", "Margaux", "Nicolas"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy",
         "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "Fournier", "Girard"),
    ),
    "hispanic": (
        ("Sofía", "Mateo", "Valentina", "Santiago", "Lucía", "Diego", "Camila", "Alejandro",
         "Isabel", "Javier", "Paula", "Carlos", "Elena", "Andrés", "María", "Pablo", "Ana",
         "Miguel", "Daniela", "Sebastián"),
        ("García", "Rodríguez", "Martínez", "López", "González", "Hernández", "Pérez",
         "Sánchez", "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Morales",
         "Ortiz", "Castillo", "Vargas", "Romero", "Navarro"),
    ),
    "lusophone": (
        ("João", "Beatriz", "Pedro", "Mariana", "Gabriel", "Larissa", "Rafael", "Fernanda",
         "Tiago", "Carolina", "Bruno", "Inês", "Rodrigo", "Juliana"),
        ("Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa", "Ferreira", "Almeida",
         "Carvalho", "Gomes", "Ribeiro", "Martins", "Rocha", "Barbosa"),
    ),
    "italian": (
        ("Giulia", "Marco", "Francesca", "Alessandro", "Chiara", "Luca", "Martina", "Matteo",
         "Sara", "Lorenzo", "Federica", "Davide"),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
         "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca"),
    ),
    "nordic": (
        ("Erik", "Ingrid", "Lars", "Astrid", "Mikkel", "Freja", "Johan", "Sigrid", "Anders",
         "Maja", "Oskar", "Elin", "Henrik", "Saga", "Aino", "Mikko"),
        ("Andersson", "Johansson", "Nielsen", "Hansen", "Larsen", "Lindqvist", "Berg",
         "Virtanen", "Korhonen", "Eriksson", "Olsen", "Dahl", "Nyström", "Halvorsen"),
    ),
    "slavic": (
        ("Jakub", "Zuzanna", "Piotr", "Katarzyna", "Tomasz", "Agnieszka", "Ondřej", "Tereza",
         "Andrei", "Ioana", "Marek", "Ewa", "Dmytro", "Olena", "Kristjan", "Kadri"),
        ("Nowak", "Kowalski", "Wiśniewska", "Wójcik", "Novák", "Dvořák", "Popescu", "Ionescu",
         "Horváth", "Kovács", "Shevchenko", "Kowalczyk", "Tamm", "Zieliński"),
    ),
    "indian": (
        ("Aarav", "Priya", "Rohan", "Ananya", "Vikram", "Sneha", "Arjun", "Kavya", "Rahul",
         "Divya", "Karthik", "Meera", "Aditya", "Neha", "Siddharth", "Pooja", "Nikhil",
         "Shreya"),
        ("Sharma", "Patel", "Iyer", "Reddy", "Nair", "Gupta", "Singh", "Kumar", "Menon",
         "Rao", "Desai", "Joshi", "Mehta", "Chatterjee", "Pillai", "Bhat", "Kulkarni",
         "Verma"),
    ),
    "east_asian": (
        ("Wei", "Mei", "Jun", "Li", "Hao", "Xin", "Yuki", "Haruto", "Sakura", "Ren", "Aoi",
         "Min-jun", "Seo-yeon", "Ji-ho", "Hye-jin", "Minh", "Linh", "Thanh"),
        ("Wang", "Li", "Zhang", "Chen", "Liu", "Yang", "Huang", "Tanaka", "Suzuki", "Sato",
         "Takahashi", "Kim", "Lee", "Park", "Choi", "Nguyen", "Tran", "Pham"),
    ),
    "african": (
        ("Chinedu", "Amara", "Oluwaseun", "Ngozi", "Kwame", "Abena", "Tendai", "Thandiwe",
         "Kofi", "Zainab", "Emeka", "Wanjiru", "Sipho", "Adaeze"),
        ("Okafor", "Adeyemi", "Mensah", "Okonkwo", "Mwangi", "Nkosi", "Boateng", "Eze",
         "Ndlovu", "Balogun", "Otieno", "Kamau", "Asante", "Dlamini"),
    ),
    "mena": (
        ("Omar", "Layla", "Youssef", "Noor", "Ahmed", "Fatima", "Karim", "Yasmin", "Hassan",
         "Mariam", "Emre", "Elif", "Can", "Zeynep", "Noam", "Tamar", "Yonatan", "Shira"),
        ("Haddad", "Khalil", "Mansour", "Nasser", "Saleh", "Farouk", "Yılmaz", "Kaya",
         "Demir", "Şahin", "Cohen", "Levi", "Mizrahi", "Friedman"),
    ),
}

# (location string, name group, salary currency or None, salary factor vs. US)
_CITIES: tuple[tuple[str, str, str | None, float], ...] = (
    ("Berlin, Germany", "german", "EUR", 0.62),
    ("Munich, Germany", "german", "EUR", 0.68),
    ("Hamburg, Germany", "german", "EUR", 0.62),
    ("Amsterdam, Netherlands", "german", "EUR", 0.65),
    ("London, United Kingdom", "anglo", "GBP", 0.55),
    ("Manchester, United Kingdom", "anglo", "GBP", 0.45),
    ("Edinburgh, United Kingdom", "anglo", "GBP", 0.45),
    ("Dublin, Ireland", "anglo", "EUR", 0.65),
    ("Paris, France", "french", "EUR", 0.55),
    ("Lyon, France", "french", "EUR", 0.48),
    ("Barcelona, Spain", "hispanic", "EUR", 0.42),
    ("Madrid, Spain", "hispanic", "EUR", 0.42),
    ("Lisbon, Portugal", "lusophone", "EUR", 0.35),
    ("Milan, Italy", "italian", "EUR", 0.42),
    ("Zurich, Switzerland", "german", "CHF", 0.95),
    ("Vienna, Austria", "german", "EUR", 0.55),
    ("Stockholm, Sweden", "nordic", None, 0.0),
    ("Copenhagen, Denmark", "nordic", None, 0.0),
    ("Oslo, Norway", "nordic", None, 0.0),
    ("Helsinki, Finland", "nordic", "EUR", 0.5),
    ("Warsaw, Poland", "slavic", None, 0.0),
    ("Kraków, Poland", "slavic", None, 0.0),
    ("Prague, Czechia", "slavic", None, 0.0),
    ("Bucharest, Romania", "slavic", None, 0.0),
    ("Tallinn, Estonia", "slavic", "EUR", 0.4),
    ("New York, NY, USA", "anglo", "USD", 1.1),
    ("San Francisco, CA, USA", "anglo", "USD", 1.2),
    ("Seattle, WA, USA", "anglo", "USD", 1.1),
    ("Austin, TX, USA", "anglo", "USD", 0.95),
    ("Boston, MA, USA", "anglo", "USD", 1.0),
    ("Chicago, IL, USA", "anglo", "USD", 0.9),
    ("Denver, CO, USA", "anglo", "USD", 0.9),
    ("Atlanta, GA, USA", "anglo", "USD", 0.85),
    ("Toronto, Canada", "anglo", "CAD", 0.9),
    ("Vancouver, Canada", "anglo", "CAD", 0.9),
    ("Montreal, Canada", "french", "CAD", 0.8),
    ("Mexico City, Mexico", "hispanic", None, 0.0),
    ("São Paulo, Brazil", "lusophone", None, 0.0),
    ("Buenos Aires, Argentina", "hispanic", None, 0.0),
    ("Bogotá, Colombia", "hispanic", None, 0.0),
    ("Bangalore, India", "indian", None, 0.0),
    ("Hyderabad, India", "indian", None, 0.0),
    ("Pune, India", "indian", None, 0.0),
    ("Singapore", "east_asian", "SGD", 0.9),
    ("Tokyo, Japan", "east_asian", None, 0.0),
    ("Seoul, South Korea", "east_asian", None, 0.0),
    ("Ho Chi Minh City, Vietnam", "east_asian", None, 0.0),
    ("Sydney, Australia", "anglo", "AUD", 1.0),
    ("Melbourne, Australia", "anglo", "AUD", 0.95),
    ("Auckland, New Zealand", "anglo", None, 0.0),
    ("Cape Town, South Africa", "african", None, 0.0),
    ("Lagos, Nigeria", "african", None, 0.0),
    ("Nairobi, Kenya", "african", None, 0.0),
    ("Accra, Ghana", "african", None, 0.0),
    ("Dubai, United Arab Emirates", "mena", None, 0.0),
    ("Tel Aviv, Israel", "mena", None, 0.0),
    ("Istanbul, Turkey", "mena", None, 0.0),
    ("Cairo, Egypt", "mena", None, 0.0),
)
_REMOTE_REGIONS = ("Europe", "EMEA", "US time zones", "Americas", "APAC", "worldwide")
_CURRENCY_SIGN = {"EUR": "€", "GBP": "£", "USD": "$", "CAD": "CA$", "CHF": "CHF ",
                  "SGD": "S$", "AUD": "A$"}
_LANGUAGE_OF_GROUP = {
    "anglo": None, "german": "German", "french": "French", "hispanic": "Spanish",
    "lusophone": "Portuguese", "italian": "Italian", "nordic": "Swedish", "slavic": "Polish",
    "indian": "Hindi", "east_asian": "Mandarin", "african": "Yoruba", "mena": "Arabic",
}
_OTHER_LANGUAGES = ("German", "French", "Spanish", "Dutch", "Italian", "Portuguese",
                    "Japanese", "Mandarin")
_LANGUAGE_LEVELS = ("fluent", "professional working proficiency", "conversational", "basic")

_EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")

# Fictional employers: a prefix and an industry-bearing suffix, so name and industry agree.
_COMPANY_PREFIXES = (
    "Northwind", "Bluefin", "Lumen", "Quanta", "Harbor", "Cobalt", "Juniper", "Orbital",
    "Pinewood", "Redwood", "Silverline", "Tidal", "Vertex", "Zephyr", "Atlas", "Beacon",
    "Cedar", "Crescent", "Ember", "Fathom", "Granite", "Helix", "Kestrel", "Lattice",
    "Meridian", "Nimbus", "Onyx", "Polaris", "Ridgeline", "Sable", "Summit", "Tundra",
    "Vanguard", "Willow", "Brightwave", "Clearpath", "Driftwood", "Evergreen", "Foxglove",
    "Greenfield", "Highland", "Ironclad", "Keystone", "Lighthouse", "Mosaic", "Nova",
    "Oakridge", "Parallax", "Quill", "Riverstone", "Starling", "Trellis", "Upland", "Wavelength",
)
_COMPANY_KINDS: tuple[tuple[str, str], ...] = (
    ("Pay", "fintech"), ("Bank", "digital banking"), ("Capital", "investment management"),
    ("Health", "digital health"), ("Bio", "biotech"), ("Logistics", "logistics"),
    ("Freight", "freight and supply chain"), ("Labs", "developer tooling"),
    ("Analytics", "data analytics"), ("Cloud", "cloud infrastructure"),
    ("Security", "cybersecurity"), ("Systems", "enterprise software"),
    ("Robotics", "industrial robotics"), ("Energy", "renewable energy"),
    ("Games", "mobile gaming"), ("Media", "streaming media"), ("Learning", "edtech"),
    ("Mobility", "urban mobility"), ("Insurance", "insurtech"), ("Retail", "e-commerce"),
    ("Market", "online marketplaces"), ("Travel", "travel booking"), ("Foods", "food delivery"),
    ("HR", "HR software"), ("Legal", "legal tech"), ("Homes", "proptech"),
    ("Telecom", "telecommunications"), ("AI", "applied AI"),
)
_COMPANY_SIZES = ("20-person", "45-person", "80-person", "150-person", "300-person",
                  "600-person", "1,200-person", "5,000-person")

_UNIVERSITIES = (
    "Technical University of Munich", "University of Cambridge", "University of Edinburgh",
    "ETH Zurich", "KTH Royal Institute of Technology", "Delft University of Technology",
    "Sorbonne University", "Universidad Politécnica de Madrid", "University of Lisbon",
    "Politecnico di Milano", "University of Warsaw", "Charles University",
    "University of Toronto", "University of British Columbia", "University of Michigan",
    "Georgia Institute of Technology", "University of Texas at Austin", "Boston University",
    "University of Washington", "Carnegie Mellon University", "University of São Paulo",
    "Universidad de Buenos Aires", "Indian Institute of Technology Bombay",
    "Anna University", "National University of Singapore", "University of Tokyo",
    "Seoul National University", "University of Melbourne", "University of Sydney",
    "University of Cape Town", "University of Lagos", "University of Nairobi",
    "Tel Aviv University", "Boğaziçi University", "American University in Cairo",
    "Open University", "Humboldt University of Berlin", "University College Dublin",
)


# --------------------------------------------------------------------------------------------
# Roles: titles, skills, what such people write in a CV and what a posting asks of them
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    key: str
    weight: int
    # Titles per level; levels missing fall back to "<Prefix> <base>" built from `base`.
    base: tuple[str, ...]
    exec_titles: tuple[str, ...]
    # Each candidate takes one stack whole (what the person is), plus a few pool skills.
    stacks: tuple[tuple[str, ...], ...]
    pool: tuple[str, ...]
    # CV bullets: {s1}/{s2} are two of the person's skills, {pct} {n} {x} {team} {users}
    # {money} {weeks} are numbers.
    bullets: tuple[str, ...]
    focus: tuple[str, ...]  # "… experience {focus}" in a summary
    degrees: tuple[str, ...]
    duties: tuple[str, ...]  # job posting responsibilities; {s1}/{s2} are required skills
    mission: tuple[str, ...]  # "We are looking for a {title} to {mission}."
    titles: dict[str, tuple[str, ...]] | None = None


_ENG_DEGREES = ("B.Sc. Computer Science", "M.Sc. Computer Science", "B.Eng. Software Engineering",
                "B.Sc. Mathematics", "M.Sc. Informatics", "B.Sc. Physics",
                "B.Sc. Information Systems")
_DATA_DEGREES = ("M.Sc. Data Science", "M.Sc. Statistics", "B.Sc. Mathematics",
                 "Ph.D. Computer Science", "M.Sc. Applied Mathematics", "B.Sc. Economics",
                 "M.Sc. Physics")
_BUSINESS_DEGREES = ("BBA Business Administration", "B.A. Economics", "B.A. Communications",
                     "MBA", "B.A. Psychology", "B.Sc. Management", "B.A. Marketing")

_ENG_BULLETS = (
    "Cut p95 latency of the core {s1} services by {pct}% by profiling hot paths.",
    "Designed and shipped a {s1} service handling {users} requests a day with 99.95% uptime.",
    "Split a legacy monolith into {n} services over {n} quarters without downtime.",
    "!Led the rewrite of the billing pipeline in {s1}, reducing failed charges by {pct}%.",
    "Introduced contract tests in CI for the {s1} codebase, halving production incidents.",
    "!Mentored {team} engineers and ran the team's weekly design review.",
    "Built internal tooling in {s1} that saved the support team {n} hours a week.",
    "Reduced cloud spend by {money} a year by right-sizing workloads and caching.",
    "Owned on-call for {n} services and wrote the runbooks the team still uses.",
    "Shipped the public REST API used by {n} partner integrations.",
    "Improved test coverage from {pct}% to 85% and brought build times under {n} minutes.",
    "Collaborated with product and design to launch {n} features used by {users} customers.",
)

ROLES: tuple[Role, ...] = (
    Role(
        key="backend", weight=14,
        base=("Backend Engineer", "Software Engineer", "Backend Developer"),
        exec_titles=("VP of Engineering", "Head of Engineering", "Director of Engineering"),
        stacks=(("Python", "Django", "PostgreSQL"), ("Python", "FastAPI", "PostgreSQL"),
                ("Python", "Flask", "MySQL"), ("Go", "PostgreSQL", "gRPC"),
                ("Java", "Spring Boot", "MySQL"), ("Kotlin", "Spring Boot", "PostgreSQL"),
                ("Ruby", "Ruby on Rails", "PostgreSQL"), ("Node.js", "TypeScript", "Express"),
                ("C#", ".NET", "SQL"), ("PHP", "Laravel", "MySQL"), ("Elixir", "PostgreSQL"),
                ("Scala", "Apache Kafka"), ("Rust", "PostgreSQL", "gRPC")),
        pool=("Redis", "Apache Kafka", "Docker", "Kubernetes", "AWS", "GCP", "REST APIs",
              "GraphQL", "Microservices", "Distributed Systems", "CI/CD", "Linux", "Git",
              "Elasticsearch", "MongoDB", "DynamoDB", "Terraform", "Observability"),
        bullets=_ENG_BULLETS + (
            "Designed an event-driven order flow processing {users} events a day.",
            "Tuned slow queries and indexes, taking the nightly reconciliation from "
            "{n} hours to minutes.",
        ),
        focus=("building reliable APIs and data-heavy backend systems",
               "scaling backend services for high-traffic products",
               "payments, billing and transactional systems",
               "designing service boundaries and clean, well-tested code"),
        degrees=_ENG_DEGREES,
        duties=("Design, build and operate backend services in {s1}.",
                "Own the data model, APIs and queries for your domain, working with {s2}.",
                "Review code, write design docs and share on-call with the team.",
                "Work with product managers to turn requirements into small, shippable "
                "increments.",
                "Improve reliability, latency and cost of the platform.",
                "Help shape our service architecture as we grow from {n} to {team} services."),
        mission=("build the services behind our core product",
                 "scale our platform through the next stage of growth",
                 "own critical parts of our payments and billing backend"),
    ),
    Role(
        key="frontend", weight=9,
        base=("Frontend Engineer", "Frontend Developer", "UI Engineer"),
        exec_titles=("Head of Frontend Engineering", "Director of Engineering"),
        stacks=(("TypeScript", "React", "Redux"), ("TypeScript", "React", "Next.js"),
                ("JavaScript", "Vue.js"), ("TypeScript", "Angular"), ("JavaScript", "React")),
        pool=("HTML", "CSS", "Tailwind CSS", "GraphQL", "REST APIs", "Figma", "Git", "CI/CD",
              "Test Automation", "Node.js", "A/B Testing", "UI Design"),
        bullets=(
            "Rebuilt the checkout in {s1}, lifting conversion by {pct}% in an A/B test.",
            "Created the company's {s2} component library, now used by {n} product teams.",
            "Cut the main bundle size by {pct}% and improved Largest Contentful Paint to 1.8 s.",
            "!Led the migration from a legacy jQuery front end to {s2} over {n} months.",
            "Made the dashboard accessible (WCAG 2.1 AA), working closely with design.",
            "Introduced visual regression tests and stricter linting in CI.",
            "!Mentored {team} developers and ran a frontend guild across teams.",
            "Shipped a real-time collaboration feature used by {users} users a month.",
            "Partnered with designers to turn Figma prototypes into production screens in "
            "{weeks} weeks.",
            "Reduced client-side errors by {pct}% after adding monitoring and error budgets.",
        ),
        focus=("building fast, accessible web applications",
               "design systems and component libraries",
               "turning product ideas into polished user interfaces"),
        degrees=_ENG_DEGREES + ("B.A. Interaction Design",),
        duties=("Build product features end to end in {s1} and {s2}.",
                "Own performance and accessibility of our web app.",
                "Contribute to and maintain our design system with the design team.",
                "Write tests and review code with a focus on maintainability.",
                "Work with backend engineers on API design."),
        mission=("craft the interfaces thousands of customers use every day",
                 "lead the next generation of our web application",
                 "grow our design system and raise the bar on UI quality"),
    ),
    Role(
        key="fullstack", weight=8,
        base=("Full Stack Engineer", "Full Stack Developer", "Software Engineer"),
        exec_titles=("CTO", "VP of Engineering", "Head of Engineering"),
        stacks=(("TypeScript", "React", "Node.js"), ("Python", "Django", "React"),
                ("Ruby", "Ruby on Rails", "React"), ("PHP", "Laravel", "Vue.js"),
                ("TypeScript", "Next.js", "PostgreSQL"), ("C#", ".NET", "Angular")),
        pool=("PostgreSQL", "MySQL", "Redis", "Docker", "AWS", "GraphQL", "REST APIs",
              "CSS", "HTML", "CI/CD", "Git", "Tailwind CSS", "Serverless", "Agile"),
        bullets=_ENG_BULLETS + (
            "Built the customer portal end to end with {s1} and {s2} in {weeks} weeks.",
            "Owned a feature area from database schema to UI, shipping weekly.",
        ),
        focus=("shipping product features end to end",
               "early-stage startups where one engineer owns the whole stack",
               "SaaS products from database to user interface"),
        degrees=_ENG_DEGREES,
        duties=("Ship features across the stack with {s1} and {s2}.",
                "Talk to customers and turn feedback into product improvements.",
                "Own features from schema design to the last pixel.",
                "Keep our codebase simple, tested and easy to change.",
                "Take part in planning, code review and on-call."),
        mission=("ship product features end to end",
                 "help a small team build a product customers love",
                 "own whole features from the database to the browser"),
    ),
    Role(
        key="data_engineer", weight=8,
        base=("Data Engineer", "Analytics Engineer", "Data Platform Engineer"),
        exec_titles=("Head of Data", "Director of Data Engineering", "VP of Data"),
        stacks=(("Python", "Apache Spark", "SQL"), ("Scala", "Apache Spark", "Apache Kafka"),
                ("Python", "dbt", "SQL"), ("SQL", "dbt", "Snowflake"),
                ("Python", "Apache Airflow", "BigQuery")),
        pool=("Apache Airflow", "Apache Kafka", "Snowflake", "BigQuery", "Redshift", "dbt",
              "Prefect", "Dagster", "ETL", "Data Modeling", "Hadoop", "AWS", "GCP",
              "PostgreSQL", "Docker", "Terraform", "Pandas", "Kubernetes"),
        bullets=(
            "Built batch and streaming pipelines in {s1} ingesting {users} events a day.",
            "Migrated {n} legacy ETL jobs to {s2}, cutting run time by {pct}%.",
            "Designed the warehouse data model used by {n} analysts and every dashboard.",
            "Introduced data quality checks that caught {pct}% of incidents before consumers did.",
            "Reduced warehouse cost by {money} a year by partitioning and pruning tables.",
            "Set up orchestration for {n} pipelines, with backfills and alerting on every job.",
            "Partnered with data scientists to productionize {n} models.",
            "!Mentored {team} engineers and wrote the team's data contract guidelines.",
            "Cut dashboard latency from minutes to seconds with incremental models.",
            "Built a CDC pipeline from PostgreSQL to the warehouse with minutes of lag.",
        ),
        focus=("building reliable, well-modelled data platforms",
               "batch and streaming pipelines at scale",
               "making data trustworthy for analysts and data scientists"),
        degrees=_ENG_DEGREES + _DATA_DEGREES[:3],
        duties=("Build and operate pipelines with {s1} and {s2}.",
                "Model data in the warehouse for analytics and machine learning.",
                "Own data quality, lineage and freshness SLAs.",
                "Work with analysts and data scientists on new data products.",
                "Keep the data platform cost-efficient and observable."),
        mission=("build the data platform the whole company relies on",
                 "make our data reliable, timely and easy to use",
                 "scale our pipelines from millions to billions of events"),
    ),
    Role(
        key="data_scientist", weight=6,
        base=("Data Scientist", "Applied Scientist", "Decision Scientist"),
        exec_titles=("Head of Data Science", "Director of Data Science", "Chief Data Officer"),
        stacks=(("Python", "scikit-learn", "Pandas", "Statistics"),
                ("R", "Statistics", "SQL"), ("Python", "Statistics", "A/B Testing"),
                ("Python", "Machine Learning", "SQL")),
        pool=("Machine Learning", "A/B Testing", "SQL", "NumPy", "Tableau", "Time Series",
              "Recommender Systems", "NLP", "Deep Learning", "PyTorch", "Looker", "Excel",
              "BigQuery", "Apache Spark", "Communication", "Stakeholder Management"),
        bullets=(
            "Built a churn model in {s1} that drove retention campaigns worth {money} a year.",
            "Designed and analysed {n} A/B tests a quarter with the growth team.",
            "Developed a demand forecasting model, reducing stock-outs by {pct}%.",
            "Built a pricing model with {s2} that lifted margin by {pct}%.",
            "Presented findings to leadership and turned them into {n} roadmap decisions.",
            "Created the experimentation guidelines and sample-size calculator used company-wide.",
            "Productionized {n} models with the data engineering team.",
            "Analysed {users} user sessions to find the drivers of activation.",
            "!Mentored {team} analysts on statistics and reproducible notebooks.",
        ),
        focus=("experimentation, forecasting and causal inference",
               "turning messy data into product and business decisions",
               "machine learning models that ship and pay off"),
        degrees=_DATA_DEGREES,
        duties=("Build models in {s1} that change how the product behaves.",
                "Design and analyse experiments with {s2}.",
                "Partner with product and business leads on their toughest questions.",
                "Communicate results clearly to technical and non-technical audiences.",
                "Raise the bar for statistical rigour across the company."),
        mission=("turn our data into better product decisions",
                 "own forecasting and experimentation for the business",
                 "build the models behind our personalization"),
    ),
    Role(
        key="data_analyst", weight=5,
        base=("Data Analyst", "Business Intelligence Analyst", "Product Analyst"),
        exec_titles=("Head of Analytics", "Director of Business Intelligence"),
        stacks=(("SQL", "Tableau", "Excel"), ("SQL", "Power BI", "Excel"),
                ("SQL", "Looker", "Python")),
        pool=("Statistics", "A/B Testing", "Pandas", "BigQuery", "Snowflake", "dbt",
              "Data Modeling", "Stakeholder Management", "Communication", "Excel", "Python"),
        bullets=(
            "Built the executive KPI dashboard in {s2}, used in every weekly business review.",
            "Automated monthly reporting with {s1}, saving {n} hours of manual work a month.",
            "Found a funnel drop-off that, once fixed, lifted sign-ups by {pct}%.",
            "Defined metrics and a single source of truth for {n} teams.",
            "Analysed pricing experiments and recommended changes worth {money} a year.",
            "Trained {team} colleagues to self-serve data with {s2}.",
            "Cleaned and reconciled finance and CRM data across {n} systems.",
        ),
        focus=("dashboards, metrics and self-serve analytics",
               "finding the story in product and business data",
               "helping teams make decisions with data"),
        degrees=_DATA_DEGREES + _BUSINESS_DEGREES[:2],
        duties=("Build dashboards and reports in {s2}.",
                "Write {s1} to answer product and business questions.",
                "Define and own the metrics the company runs on.",
                "Work with stakeholders to frame questions and share insights."),
        mission=("help every team make decisions with data",
                 "own reporting and insights for our commercial teams"),
    ),
    Role(
        key="ml_engineer", weight=6,
        base=("Machine Learning Engineer", "ML Engineer", "AI Engineer"),
        exec_titles=("Head of Machine Learning", "Director of AI", "VP of AI"),
        stacks=(("Python", "PyTorch", "MLOps"), ("Python", "TensorFlow", "Machine Learning"),
                ("Python", "Hugging Face", "LLMs"), ("Python", "PyTorch", "Computer Vision"),
                ("Python", "NLP", "PyTorch")),
        pool=("Deep Learning", "NLP", "Computer Vision", "LLMs", "Hugging Face", "Kubernetes",
              "Docker", "AWS", "GCP", "Apache Spark", "Recommender Systems", "scikit-learn",
              "NumPy", "FastAPI", "C++", "Machine Learning", "MLOps"),
        bullets=(
            "Trained and deployed a {s2} ranking model that lifted click-through by {pct}%.",
            "Built the model serving platform on Kubernetes, serving {users} predictions a day.",
            "Fine-tuned open models with {s2} for document classification at {pct}% lower cost.",
            "Cut GPU inference cost by {money} a year with quantization and batching.",
            "Set up feature stores, model registry and monitoring for {n} production models.",
            "Built a retrieval-augmented search system over {users} documents.",
            "Reduced training time by {x}x with distributed data loading in {s1}.",
            "!Mentored {team} engineers and ran the ML paper reading group.",
            "Shipped an image quality model in {s2} now used on every upload.",
        ),
        focus=("taking machine learning models from notebook to production",
               "recommendation, ranking and search systems",
               "LLM applications, retrieval and evaluation"),
        degrees=_DATA_DEGREES + _ENG_DEGREES[:2],
        duties=("Train, evaluate and deploy models with {s1} and {s2}.",
                "Build the pipelines and services that keep models fresh and fast.",
                "Define offline and online evaluation for our ML systems.",
                "Work with product teams to find the problems worth solving with ML.",
                "Monitor models in production and fix drift before users notice."),
        mission=("bring machine learning into the heart of our product",
                 "build and scale our ranking and recommendation systems",
                 "ship reliable LLM-powered features"),
    ),
    Role(
        key="sre", weight=7,
        base=("Site Reliability Engineer", "DevOps Engineer", "Platform Engineer",
              "Cloud Engineer"),
        exec_titles=("Head of Platform", "Director of Infrastructure", "VP of Infrastructure"),
        stacks=(("Kubernetes", "Terraform", "AWS"), ("Linux", "Ansible", "Bash"),
                ("GCP", "Terraform", "Kubernetes", "Go"), ("Azure", "Terraform", "Docker"),
                ("AWS", "Terraform", "Site Reliability Engineering", "Python")),
        pool=("Docker", "Prometheus", "Grafana", "Observability", "CI/CD", "GitHub Actions",
              "Jenkins", "Networking", "Site Reliability Engineering", "Python", "Go", "Bash",
              "Security", "Serverless", "PostgreSQL", "Linux", "Distributed Systems"),
        bullets=(
            "Moved {n} services to {s1}, cutting deploy time from an hour to {n} minutes.",
            "Wrote the {s2} code that provisions every environment from scratch.",
            "Defined SLOs and error budgets with product teams for {n} critical services.",
            "Reduced infrastructure cost by {money} a year with autoscaling and spot capacity.",
            "Built monitoring and alerting with Prometheus and Grafana, cutting noisy pages "
            "by {pct}%.",
            "!Led incident response and blameless postmortems for a {users}-user platform.",
            "Automated certificate, secret and access management across {n} accounts.",
            "Brought availability from 99.5% to 99.95% over {n} quarters.",
            "!Mentored {team} engineers and ran the on-call onboarding programme.",
        ),
        focus=("reliable, automated cloud infrastructure",
               "Kubernetes platforms and infrastructure as code",
               "observability, incident response and SLOs"),
        degrees=_ENG_DEGREES + ("B.Sc. Network Engineering",),
        duties=("Run and improve our platform on {s1} and {s2}.",
                "Automate everything: infrastructure as code, CI/CD, self-service tooling.",
                "Own observability, SLOs and incident response with the product teams.",
                "Keep our infrastructure secure, cost-efficient and well documented.",
                "Take part in a fair, well-paid on-call rotation."),
        mission=("keep our platform fast, safe and boring",
                 "build the internal platform our engineers deploy on",
                 "raise our reliability as traffic grows {x}x"),
    ),
    Role(
        key="mobile", weight=5,
        base=("Mobile Engineer", "iOS Engineer", "Android Engineer", "Mobile Developer"),
        exec_titles=("Head of Mobile", "Director of Mobile Engineering"),
        stacks=(("Swift", "iOS"), ("Kotlin", "Android"), ("TypeScript", "React Native"),
                ("Dart", "Flutter"), ("Java", "Android", "Kotlin")),
        pool=("REST APIs", "GraphQL", "CI/CD", "Git", "Figma", "A/B Testing",
              "Test Automation", "Agile"),
        bullets=(
            "Built the {s2} app from scratch to {users} downloads and a 4.7-star rating.",
            "Cut app start-up time by {pct}% and crash rate below 0.1%.",
            "Shipped offline mode and background sync in {s1}.",
            "Set up CI/CD for mobile releases, moving from monthly to weekly releases.",
            "!Led the migration of {n} screens to a modern declarative UI framework.",
            "Worked with designers on a redesign that lifted retention by {pct}%.",
            "!Mentored {team} mobile engineers and owned the release process.",
        ),
        focus=("polished, fast native mobile apps",
               "cross-platform apps with a native feel",
               "mobile release engineering and app performance"),
        degrees=_ENG_DEGREES,
        duties=("Build features for our {s2} app with {s1}.",
                "Own app quality: performance, crash rate and accessibility.",
                "Work closely with design and backend engineers.",
                "Improve our mobile release process and test automation."),
        mission=("build the app our customers open every day",
                 "lead the next version of our mobile experience"),
    ),
    Role(
        key="designer", weight=4,
        base=("Product Designer", "UX Designer", "UI Designer", "UX Researcher"),
        exec_titles=("Head of Design", "Design Director", "VP of Design"),
        stacks=(("Figma", "UI Design", "UX Research"), ("Figma", "UX Research"),
                ("Figma", "UI Design")),
        pool=("HTML", "CSS", "A/B Testing", "Communication", "Stakeholder Management",
              "Agile", "Copywriting", "Product Management", "Jira"),
        bullets=(
            "Redesigned onboarding based on {n} user interviews, lifting activation by {pct}%.",
            "Built and maintained the design system in {s1}, used by {n} squads.",
            "Ran usability studies every sprint and shared insights with the whole company.",
            "Designed the mobile checkout, reducing drop-off by {pct}%.",
            "Partnered with engineering to ship {n} features from sketch to production.",
            "Led a research programme on {users} support tickets to prioritize the roadmap.",
            "!Mentored {team} designers and ran weekly design critiques.",
        ),
        focus=("user research and product design for complex workflows",
               "design systems and accessible interfaces",
               "turning research insights into simple products"),
        degrees=("B.A. Interaction Design", "B.Des. Graphic Design", "M.A. Human-Computer "
                 "Interaction", "B.A. Psychology", "B.A. Visual Communication"),
        duties=("Design end-to-end experiences in {s1}.",
                "Plan and run research with real users.",
                "Contribute to our design system.",
                "Work with product and engineering from discovery to launch."),
        mission=("shape how customers experience our product",
                 "bring research and craft to every part of the product"),
    ),
    Role(
        key="product_manager", weight=5,
        base=("Product Manager",),
        exec_titles=("VP of Product", "Head of Product", "Chief Product Officer"),
        titles={"intern": ("Product Management Intern",),
                "junior": ("Associate Product Manager",),
                "lead": ("Group Product Manager", "Lead Product Manager"),
                "principal": ("Principal Product Manager", "Director of Product")},
        stacks=(("Product Management", "Roadmapping"), ("Product Management", "Agile"),
                ("Product Management", "A/B Testing")),
        pool=("Agile", "Jira", "Stakeholder Management", "A/B Testing", "SQL", "UX Research",
              "Communication", "Technical Writing", "Roadmapping", "Leadership"),
        bullets=(
            "!Owned the roadmap for the payments area, growing revenue by {pct}% in a year.",
            "Launched a self-serve onboarding flow that cut time-to-value from days to hours.",
            "Ran discovery with {n} customers and turned it into a clear strategy.",
            "Defined success metrics and ran {n} experiments with the growth team.",
            "Aligned engineering, design, sales and support on a quarterly plan.",
            "Grew weekly active users from {users} to twice that in {n} quarters.",
            "Wrote PRDs and user stories for a team of {team} engineers.",
        ),
        focus=("B2B SaaS products from discovery to launch",
               "growth, onboarding and monetization",
               "data-informed product strategy"),
        degrees=_BUSINESS_DEGREES + ("B.Sc. Computer Science",),
        duties=("Own the product strategy and roadmap for your area.",
                "Talk to customers every week and bring insights back to the team.",
                "Define success metrics and run experiments.",
                "Work with engineering and design to ship iteratively."),
        mission=("lead one of our core product areas",
                 "drive growth and monetization of our platform"),
    ),
    Role(
        key="qa", weight=4,
        base=("QA Engineer", "Test Automation Engineer", "Software Development Engineer in Test"),
        exec_titles=("Head of Quality", "Director of Quality Engineering"),
        stacks=(("Python", "Test Automation", "QA Testing"),
                ("Java", "Test Automation", "QA Testing"),
                ("TypeScript", "Test Automation", "CI/CD")),
        pool=("CI/CD", "Jira", "Agile", "REST APIs", "GitHub Actions", "Jenkins", "Docker",
              "SQL", "JavaScript", "Git", "Linux"),
        bullets=(
            "Built an end-to-end test suite in {s1} covering {n} critical user journeys.",
            "Cut the regression cycle from {n} days to {n} hours with automated tests in CI.",
            "Reduced escaped defects by {pct}% by introducing risk-based test plans.",
            "Set up API contract tests for {n} services.",
            "!Coached {team} developers on writing testable code.",
            "Triaged and reproduced hundreds of bug reports with support and product.",
        ),
        focus=("test automation and quality engineering",
               "making releases safe and fast",
               "API and end-to-end testing"),
        degrees=_ENG_DEGREES,
        duties=("Design and automate tests in {s1}.",
                "Own the test strategy for your team's releases.",
                "Keep our CI fast and reliable.",
                "Work with developers to build quality in from the start."),
        mission=("make quality everyone's job and releases boring",
                 "build our test automation from the ground up"),
    ),
    Role(
        key="security", weight=3,
        base=("Security Engineer", "Application Security Engineer", "Cloud Security Engineer"),
        exec_titles=("Head of Security", "CISO", "Director of Security"),
        stacks=(("Security", "Linux", "Networking"), ("Security", "AWS", "Kubernetes"),
                ("Security", "Python", "Azure")),
        pool=("Linux", "Python", "Bash", "Terraform", "Go", "Azure", "Observability", "CI/CD",
              "Docker", "Networking", "GCP"),
        bullets=(
            "Ran the company's first penetration test programme and fixed {n} critical issues.",
            "Built guardrails in CI that block insecure {s2} configurations before deploy.",
            "!Led SOC 2 Type II readiness in {n} months.",
            "Rolled out SSO and hardware keys for {n}00 employees.",
            "Automated dependency and container scanning in CI, cutting exposure time by {pct}%.",
            "!Trained {team} engineers on threat modelling and secure code review.",
            "Responded to and wrote postmortems for {n} security incidents.",
        ),
        focus=("application and cloud security",
               "security engineering that developers actually like",
               "threat modelling, detection and incident response"),
        degrees=_ENG_DEGREES + ("M.Sc. Cybersecurity",),
        duties=("Secure our cloud and applications on {s2}.",
                "Threat-model new features with product teams.",
                "Build detection and response for our environment.",
                "Lead compliance work such as SOC 2 and ISO 27001."),
        mission=("keep our customers' data safe",
                 "build a security programme engineers want to work with"),
    ),
    Role(
        key="embedded", weight=2,
        base=("Embedded Software Engineer", "Firmware Engineer"),
        exec_titles=("Head of Embedded Software", "Director of Hardware Engineering"),
        stacks=(("C", "Embedded Systems"), ("C++", "Embedded Systems", "Linux"),
                ("Rust", "Embedded Systems")),
        pool=("Python", "Bash", "Git", "Networking", "Linux", "C", "CI/CD"),
        bullets=(
            "Wrote firmware in {s1} for a sensor platform shipped in {users} devices.",
            "Cut power consumption by {pct}%, doubling battery life.",
            "Brought up a new board and wrote drivers for {n} peripherals.",
            "Built a hardware-in-the-loop test rig that runs on every commit.",
            "Implemented secure over-the-air updates for the device fleet.",
        ),
        focus=("firmware for connected devices",
               "low-power embedded systems and drivers"),
        degrees=("B.Sc. Electrical Engineering", "M.Sc. Electrical Engineering",
                 "B.Eng. Computer Engineering", "M.Sc. Embedded Systems"),
        duties=("Develop firmware in {s1} for our devices.",
                "Bring up new hardware with the electronics team.",
                "Own testing and over-the-air updates for the fleet."),
        mission=("build the firmware inside our devices",),
    ),
    Role(
        key="gamedev", weight=2,
        base=("Game Developer", "Gameplay Programmer", "Engine Programmer"),
        exec_titles=("Technical Director", "Head of Engineering"),
        stacks=(("C++", "Game Development"), ("C#", "Game Development")),
        pool=("Git", "Computer Vision", "Agile", "Python", "Networking", "Jira"),
        bullets=(
            "Shipped {n} titles, including one with {users} players.",
            "Implemented gameplay systems in {s1} for combat, AI and progression.",
            "Improved frame times by {pct}% on low-end hardware.",
            "Built multiplayer netcode supporting {n} players per match.",
            "Worked with artists and designers to prototype {n} new mechanics.",
        ),
        focus=("gameplay programming and engine performance",
               "multiplayer games on PC, console and mobile"),
        degrees=_ENG_DEGREES + ("B.Sc. Game Development",),
        duties=("Build gameplay systems in {s1}.",
                "Profile and optimize performance across platforms.",
                "Work closely with designers and artists."),
        mission=("build the gameplay of our next title",),
    ),
    Role(
        key="sales", weight=4,
        base=("Account Executive",),
        exec_titles=("VP of Sales", "Head of Sales", "Chief Revenue Officer"),
        titles={"intern": ("Sales Intern",),
                "junior": ("Sales Development Representative",
                           "Business Development Representative"),
                "lead": ("Sales Manager", "Enterprise Account Executive"),
                "principal": ("Regional Sales Director", "Director of Sales")},
        stacks=(("Sales", "Negotiation"), ("Sales", "Account Management"),
                ("Sales", "Salesforce")),
        pool=("Salesforce", "Communication", "Stakeholder Management", "Excel",
              "Account Management", "Negotiation", "Leadership"),
        bullets=(
            "Closed {money} in new annual recurring revenue, {pct}% above quota.",
            "Built a pipeline of {n} enterprise opportunities from outbound prospecting.",
            "Ran discovery calls and demos for {n} prospects a week.",
            "Kept forecasts accurate within 5% through weekly pipeline reviews.",
            "Expanded {n} key accounts, growing net revenue retention to 120%.",
            "!Coached {team} SDRs on discovery and objection handling.",
        ),
        focus=("B2B SaaS sales to mid-market and enterprise",
               "full-cycle sales from prospecting to close",
               "building and closing complex enterprise deals"),
        degrees=_BUSINESS_DEGREES,
        duties=("Own a territory and the full sales cycle.",
                "Build pipeline through outbound and partner channels.",
                "Negotiate and close multi-year contracts.",
                "Keep the CRM up to date and forecasts accurate."),
        mission=("grow our business with mid-market and enterprise customers",
                 "open a new market for us"),
    ),
    Role(
        key="marketing", weight=4,
        base=("Marketing Manager", "Content Marketing Manager", "Growth Marketer"),
        exec_titles=("VP of Marketing", "Head of Marketing", "CMO"),
        titles={"intern": ("Marketing Intern",),
                "junior": ("Marketing Coordinator", "Marketing Associate"),
                "mid": ("Marketing Manager", "Content Marketing Manager", "Growth Marketer"),
                "lead": ("Senior Marketing Manager", "Head of Content"),
                "principal": ("Director of Marketing", "Director of Growth")},
        stacks=(("Marketing", "SEO"), ("Marketing", "Content Marketing", "Copywriting"),
                ("Marketing", "A/B Testing")),
        pool=("A/B Testing", "Excel", "Looker", "SQL", "Communication", "Project Management",
              "Salesforce", "SEO", "Copywriting", "Stakeholder Management"),
        bullets=(
            "Grew organic traffic by {pct}% in a year with a new content strategy.",
            "Ran paid campaigns with a {money} budget at a 3.5x return on ad spend.",
            "Launched {n} products with positioning, messaging and launch campaigns.",
            "Built lifecycle email programmes that lifted activation by {pct}%.",
            "Wrote {n} long-form articles and case studies that became top lead sources.",
            "!Managed a team of {team} marketers and freelancers.",
        ),
        focus=("B2B content and demand generation",
               "growth marketing and experimentation",
               "product marketing and launches"),
        degrees=_BUSINESS_DEGREES,
        duties=("Plan and run campaigns, with a focus on {s2}.",
                "Own messaging and positioning with product marketing.",
                "Measure everything and double down on what works.",
                "Work with sales on pipeline goals."),
        mission=("grow awareness and pipeline for our product",
                 "own our content and brand"),
    ),
    Role(
        key="finance", weight=3,
        base=("Financial Analyst", "Accountant", "FP&A Analyst"),
        exec_titles=("CFO", "VP of Finance", "Head of Finance"),
        titles={"intern": ("Finance Intern",),
                "lead": ("Finance Manager", "Senior FP&A Manager"),
                "principal": ("Financial Controller", "Director of FP&A")},
        stacks=(("Financial Modeling", "Excel"), ("Accounting", "Excel")),
        pool=("SQL", "Power BI", "Tableau", "Stakeholder Management", "Communication",
              "Python", "Accounting", "Financial Modeling"),
        bullets=(
            "Built the three-statement financial model used in a {money} funding round.",
            "Cut the month-end close from {n} days to 5 with automation.",
            "Owned budgeting and forecasting for {n} departments.",
            "Built {s2} reports that gave leadership weekly visibility on cash.",
            "!Led the audit with external auditors with zero material findings.",
        ),
        focus=("FP&A, budgeting and forecasting",
               "accounting and financial reporting for scale-ups"),
        degrees=("B.Sc. Finance", "B.A. Accounting", "B.A. Economics", "MBA",
                 "M.Sc. Finance"),
        duties=("Own the financial model and monthly forecast in {s2}.",
                "Partner with budget holders across the company.",
                "Improve and automate the close and reporting."),
        mission=("build our finance function as we scale",),
    ),
    Role(
        key="recruiter", weight=3,
        base=("Recruiter", "Technical Recruiter", "Talent Acquisition Partner"),
        exec_titles=("Head of Talent", "VP of People", "Chief People Officer"),
        titles={"intern": ("Recruiting Intern",),
                "junior": ("Recruiting Coordinator", "Sourcer"),
                "lead": ("Recruiting Lead", "Talent Acquisition Manager"),
                "principal": ("Director of Talent Acquisition",)},
        stacks=(("Recruiting", "Communication"), ("Recruiting", "Stakeholder Management")),
        pool=("Negotiation", "Stakeholder Management", "Excel", "Project Management",
              "Communication", "Leadership"),
        bullets=(
            "Hired {n}0 people in a year with an offer-acceptance rate of 90%.",
            "Cut time-to-hire from {n} weeks to 4 by redesigning the interview loop.",
            "Built sourcing pipelines for hard-to-fill roles in {n} countries.",
            "!Trained {team} hiring managers on structured interviewing.",
            "Improved candidate experience scores by {pct}%.",
        ),
        focus=("technical recruiting for fast-growing teams",
               "full-cycle recruiting and employer branding"),
        degrees=_BUSINESS_DEGREES,
        duties=("Run full-cycle recruiting for engineering and product roles.",
                "Partner with hiring managers on role definitions and interview loops.",
                "Source and engage great candidates.",
                "Keep our process fair, fast and kind."),
        mission=("help us hire the team for our next stage",),
    ),
    Role(
        key="support", weight=4,
        base=("Customer Support Specialist", "Technical Support Engineer",
              "Customer Success Manager"),
        exec_titles=("Head of Customer Experience", "VP of Customer Success"),
        titles={"intern": ("Customer Support Intern",),
                "junior": ("Customer Support Representative", "Support Associate"),
                "lead": ("Support Team Lead", "Customer Success Lead"),
                "principal": ("Director of Customer Support",)},
        stacks=(("Customer Support", "Communication"), ("Customer Support", "Jira", "SQL"),
                ("Customer Support", "Account Management")),
        pool=("Jira", "SQL", "Technical Writing", "Salesforce", "Excel", "REST APIs",
              "Communication", "Stakeholder Management"),
        bullets=(
            "Resolved {n} tickets a week with a 96% customer satisfaction score.",
            "Wrote {n} help-centre articles that deflected {pct}% of incoming tickets.",
            "Reproduced API issues and escalated clear bug reports to engineering.",
            "Onboarded {n} enterprise customers and cut churn by {pct}%.",
            "!Trained {team} new support agents.",
        ),
        focus=("customer support and success for SaaS products",
               "technical support for developer tools"),
        degrees=_BUSINESS_DEGREES,
        duties=("Help customers by chat, email and video.",
                "Reproduce and escalate technical issues to engineering.",
                "Write and improve help-centre articles.",
                "Bring customer feedback to the product team."),
        mission=("give our customers the best support they have had",),
    ),
    Role(
        key="project_manager", weight=2,
        base=("Project Manager", "Technical Program Manager", "Delivery Manager"),
        exec_titles=("Head of Delivery", "Director of Program Management"),
        stacks=(("Project Management", "Agile", "Jira"),
                ("Project Management", "Stakeholder Management")),
        pool=("Agile", "Jira", "Stakeholder Management", "Communication", "Leadership",
              "Roadmapping", "Technical Writing", "Excel"),
        bullets=(
            "Delivered a {n}-team platform migration on time and {pct}% under budget.",
            "Introduced {s2} planning that made quarterly commitments predictable.",
            "!Ran risk reviews and steering meetings for a {money} programme.",
            "!Coordinated {team} teams across three time zones.",
        ),
        focus=("delivering complex, cross-team programmes",
               "agile delivery in engineering organisations"),
        degrees=_BUSINESS_DEGREES + ("B.Sc. Computer Science",),
        duties=("Plan and run cross-team programmes.",
                "Keep stakeholders aligned and risks visible.",
                "Improve how teams plan and deliver."),
        mission=("make our big projects land on time",),
    ),
    Role(
        key="technical_writer", weight=1,
        base=("Technical Writer", "Documentation Engineer"),
        exec_titles=("Head of Documentation",),
        stacks=(("Technical Writing", "Git"), ("Technical Writing", "Git", "REST APIs")),
        pool=("Python", "Communication", "HTML", "Agile", "Jira", "Git"),
        bullets=(
            "Rewrote the API reference docs, cutting related support tickets by {pct}%.",
            "Built a docs-as-code pipeline with {s2} and automatic previews.",
            "Wrote {n} tutorials and quick-starts for developers.",
            "!Set the style guide used by {team} engineers.",
        ),
        focus=("developer documentation and API references",),
        degrees=("B.A. English", "B.A. Communications", "B.Sc. Computer Science"),
        duties=("Write and maintain developer documentation.",
                "Work with engineers to document new features before launch.",
                "Own our docs tooling and style guide."),
        mission=("make our docs the best in the industry",),
    ),
    Role(
        key="blockchain", weight=1,
        base=("Blockchain Engineer", "Smart Contract Engineer"),
        exec_titles=("Head of Protocol Engineering",),
        stacks=(("Blockchain", "Rust"), ("Blockchain", "Go"), ("Blockchain", "TypeScript")),
        pool=("Security", "Distributed Systems", "Docker", "Git", "Node.js", "PostgreSQL"),
        bullets=(
            "Wrote and audited smart contracts securing {money} in deposits.",
            "Built indexers in {s2} processing {users} transactions a day.",
            "Reduced transaction fees by {pct}% with contract optimizations.",
            "Contributed {n} patches to an open-source node implementation.",
        ),
        focus=("protocol and smart contract engineering",),
        degrees=_ENG_DEGREES,
        duties=("Build and audit on-chain and off-chain components in {s2}.",
                "Work on the security of our protocol."),
        mission=("build our protocol's core components",),
    ),
)


# Bullets any senior person may add to their current role; "!" marks a bullet that only reads
# true from senior level up (leading, mentoring, owning budgets).
_SENIOR_BULLETS = (
    "Ran hiring loops and interviewed over {n}0 candidates.",
    "Presented the team's work at {n} internal all-hands and one external conference.",
    "Wrote onboarding documentation that cut ramp-up time for new joiners by half.",
    "!Led a working group on ways of working across {n} teams.",
)
_LEAD_BULLETS = (
    "!Managed a team of {team}, running one-to-ones, performance reviews and career plans.",
    "!Set the direction for {n} teams and wrote the multi-year strategy.",
    "!Grew the team from {n} to {team} people while keeping attrition low.",
    "!Owned a budget of {money} and the hiring plan for the department.",
)
# Bullets true of anyone's job; drawn only once a role's own bullets run out.
_GENERIC_BULLETS = (
    "Worked closely with {n} teams across product, engineering and operations.",
    "Documented processes that the team still uses today.",
    "Onboarded {n} new colleagues and ran their first-week sessions.",
    "Improved a recurring weekly process, saving {n} hours a month.",
    "Took part in quarterly planning and ran retrospectives for the team.",
    "Represented the team in incident and customer escalation reviews.",
)
_INTERN_BULLETS = (
    "Fixed {n} bugs and shipped one feature to production with the help of a mentor.",
    "Wrote a final report and demo presented to {team} colleagues.",
    "Paired with senior colleagues and learned how the team reviews, tests and ships work.",
    "Took over a small recurring task and documented it so the team could keep running it.",
)
_INTERN_TECH_BULLETS = (
    "Built a small internal tool in {s1} that the team kept using after the internship.",
    "Added tests to an untested {s1} module and fixed the {n} bugs they uncovered.",
)
_PROJECT_TECH_BULLETS = (
    "Course project: built a web application with {s1} and {s2} in a team of {n}.",
    "Thesis project using {s2}, graded with distinction.",
    "Hackathon winner: a working prototype built with {s1} in 48 hours.",
    "Open-source contributions: {n} merged pull requests to a {s1} project.",
)
_PROJECT_OTHER_BULLETS = (
    "Case competition finalist with a go-to-market plan for a fintech start-up.",
    "Volunteer coordinator for a student-run charity, managing {n}0 volunteers.",
    "Research assistant: survey design and analysis for a faculty project.",
    "Treasurer of a student society with {n}00 members.",
)

_INTERESTS = ("running", "climbing", "chess", "photography", "cooking", "cycling",
              "open-source software", "volunteering as a mentor", "hiking", "jazz piano",
              "board games", "swimming", "reading history", "learning languages")

_SUMMARY_CLOSERS = (
    "I care about clear communication, pragmatic decisions and leaving things better than I "
    "found them.",
    "Known for ownership, calm under pressure and helping teammates grow.",
    "I like small teams, short feedback loops and measurable outcomes.",
    "Happiest working closely with customers and cross-functional partners.",
    "Looking for a team that values craft, autonomy and honest feedback.",
)

_BENEFITS = (
    "{days} days of paid holiday", "A learning budget of {money_small} a year",
    "Flexible working hours", "Home office budget", "Private health insurance",
    "Parental leave beyond the legal minimum", "Stock options", "Pension contributions",
    "Public transport pass", "Team off-sites twice a year", "Wellbeing budget",
    "Four-day work week in summer",
)

_SOFT_REQUIREMENTS = (
    "Clear written and spoken communication in English.",
    "You enjoy working with people from different backgrounds and disciplines.",
    "You take ownership and follow through.",
    "You are curious and keep learning.",
    "You can explain trade-offs to non-specialists.",
)

_ABOUT_LINES = (
    "We build software that makes everyday work simpler for our customers.",
    "We are profitable, growing and backed by long-term investors.",
    "Our customers range from start-ups to some of the largest companies in Europe and North "
    "America.",
    "We care about craft, kindness and shipping things that matter.",
)
_MANAGERS = ("the CTO", "the Head of the department", "an Engineering Manager", "the CEO",
             "the team lead", "a Director")
_INCLUSION = ("We welcome applications from people of all backgrounds. If you are excited about "
              "this role but do not meet every requirement, please apply anyway.")


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------


def _cumulative(weights: Sequence[float]) -> list[float]:
    total = 0.0
    out = []
    for w in weights:
        total += w
        out.append(total)
    return out


_ROLE_CUM = _cumulative([r.weight for r in ROLES])
_CANDIDATE_LEVEL_CUM = _cumulative(_CANDIDATE_LEVEL_WEIGHTS)
_JOB_LEVEL_CUM = _cumulative(_JOB_LEVEL_WEIGHTS)
_GROUPS = tuple(_NAMES)
_SENIOR = LEVELS.index("senior")
_TECH_ROLES = frozenset({"backend", "frontend", "fullstack", "data_engineer", "data_scientist",
                         "data_analyst", "ml_engineer", "sre", "mobile", "qa", "security",
                         "embedded", "gamedev", "blockchain"})
_PREFIX = {"junior": "Junior", "mid": "", "senior": "Senior", "lead": "Lead",
           "principal": "Principal"}


def _weighted(rng: random.Random, items: Sequence, cum: list[float]):
    # random.choices recomputes cumulative weights on every call; this is the hot path.
    return items[bisect.bisect_right(cum, rng.random() * cum[-1])]


class _Slots(dict):
    """A `str.format_map` mapping that draws a number only when a template names it.

    Lazy draws keep the generator fast, and each placeholder gets its own value so a CV does
    not repeat "62%" in every bullet. `{s1}`/`{s2}` are fixed per person: the first two skills
    of their stack, which the templates are written around (a language, then a framework or
    tool).
    """

    def __init__(self, rng: random.Random, s1: str, s2: str) -> None:
        super().__init__(s1=s1, s2=s2)
        self.rng = rng

    def __missing__(self, key: str) -> object:
        rng = self.rng
        if key == "pct":
            return rng.randrange(12, 68)
        if key == "n":
            return rng.randrange(3, 13)
        if key == "x":
            return rng.randrange(2, 9)
        if key == "team":
            return rng.randrange(4, 16)
        if key == "weeks":
            return rng.randrange(4, 13)
        if key == "days":
            return rng.randrange(25, 31)
        if key == "users":
            return rng.choice(("50k", "120k", "200k", "500k", "1M", "3M", "10M", "40M"))
        if key == "money":
            return rng.choice(("$180k", "$400k", "$1.2M", "€250k", "€900k", "£300k", "$2.5M"))
        if key == "money_small":
            return rng.choice(("€1,000", "$1,500", "£1,000", "€2,000"))
        raise KeyError(key)


def _title(rng: random.Random, role: Role, level: str) -> str:
    if level == "executive":
        return rng.choice(role.exec_titles)
    if role.titles and level in role.titles:
        return rng.choice(role.titles[level])
    base = rng.choice(role.base)
    if level == "intern":
        return f"{base} Intern"
    prefix = _PREFIX[level]
    if level == "principal" and rng.random() < 0.4:
        prefix = "Staff"
    return f"{prefix} {base}" if prefix else base


_ASCII: dict[str, str] = {}


def _ascii(text: str) -> str:
    """"Müller" -> "muller", "O'Connor" -> "oconnor" (memoized: the name pools are small)."""
    out = _ASCII.get(text)
    if out is None:
        folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
        out = _ASCII[text] = "".join(ch for ch in folded.lower() if ch.isalnum())
    return out


def _email(rng: random.Random, first: str, last: str) -> str:
    f, la = _ascii(first), _ascii(last)
    pattern = rng.randrange(5)
    if pattern == 0:
        local = f"{f}.{la}"
    elif pattern == 1:
        local = f"{f}{la}{rng.randrange(1, 100)}"
    elif pattern == 2:
        local = f"{f[0]}.{la}"
    elif pattern == 3:
        local = f"{f}_{la}"
    else:
        local = f"{la}.{f}{rng.randrange(70, 100)}"
    return f"{local}@{rng.choice(_EMAIL_DOMAINS)}"


def _company(rng: random.Random) -> tuple[str, str]:
    suffix, industry = rng.choice(_COMPANY_KINDS)
    return f"{rng.choice(_COMPANY_PREFIXES)} {suffix}", industry


def _skills_for(rng: random.Random, role: Role, level: str) -> list[str]:
    """One stack whole (it comes first: the templates lean on it), then some pool skills."""
    stack = rng.choice(role.stacks)
    extra = {"intern": 1, "junior": 2, "mid": 3, "senior": 4, "lead": 4, "principal": 5,
             "executive": 3}[level] + rng.randrange(0, 3)
    pool = [s for s in role.pool if s not in stack and s != "Leadership"]
    skills = list(stack) + rng.sample(pool, min(extra, len(pool)))
    if LEVELS.index(level) >= LEVELS.index("lead"):
        skills.append("Leadership")
        if rng.random() < 0.5 and "Mentoring" not in skills:
            skills.append("Mentoring")
    if rng.random() < 0.25 and "Git" not in skills and role.key in _TECH_ROLES:
        skills.append("Git")
    return skills


def _pick(bullets: list[str], count: int, level_index: int) -> list[str]:
    """Take up to `count` templates that read true at this level (removing them from the pool,
    so a CV never repeats a bullet); returns them without their "!" marker."""
    out: list[str] = []
    i = len(bullets) - 1
    while i >= 0 and len(out) < count:
        template = bullets[i]
        if template[0] != "!":
            out.append(bullets.pop(i))
        elif level_index >= _SENIOR:
            out.append(bullets.pop(i)[1:])
        i -= 1
    return out


def _words(parts: Iterable[str]) -> int:
    return sum(len(p.split()) for p in parts)


# --------------------------------------------------------------------------------------------
# Candidates
# --------------------------------------------------------------------------------------------

# Section headers in three styles, so a normalizer cannot lean on one layout.
_HEADER_STYLES = (str.upper, str, lambda s: f"## {s}")


def _career(rng: random.Random, level: str, years: int) -> list[tuple[str, int, int | None]]:
    """Positions as (level, start year, end year or None for present), most recent first.

    The years are split into 1–5 spans of at least a year; earlier positions sit one level
    lower each (never below junior), so titles climb towards today's.
    """
    if level == "intern":
        return [("intern", CURRENT_YEAR, None)]
    count = max(1, min(5, 1 + years // 3 + rng.randrange(-1, 2), years))
    cuts = sorted(rng.sample(range(1, years), count - 1)) if count > 1 else []
    bounds = [0, *cuts, years]
    spans = [bounds[i + 1] - bounds[i] for i in range(count)]
    idx = LEVELS.index(level)
    history: list[tuple[str, int, int | None]] = []
    end: int | None = None
    for i, span in enumerate(reversed(spans)):
        start = (end or CURRENT_YEAR) - span
        history.append((LEVELS[max(1, idx - i)], start, end))
        end = start
    return history


def _field(degree: str) -> str:
    """"B.Sc. Computer Science" -> "Computer Science"; "MBA" stays "MBA"."""
    head, _, rest = degree.partition(" ")
    return rest if rest and "." in head else degree


def _candidate(rng: random.Random, number: int) -> dict:
    role = _weighted(rng, ROLES, _ROLE_CUM)
    level = _weighted(rng, LEVELS, _CANDIDATE_LEVEL_CUM)
    li = LEVELS.index(level)
    years = rng.randint(*LEVEL_YEARS[level])
    if rng.random() < 0.1:
        location, group = "Remote", rng.choice(_GROUPS)
    else:
        location, group, _, _ = rng.choice(_CITIES)
        if rng.random() < 0.3:  # people move: names do not always follow the city
            group = rng.choice(_GROUPS)
    firsts, lasts = _NAMES[group]
    first, last = rng.choice(firsts), rng.choice(lasts)
    name = f"{first} {last}"
    email = _email(rng, first, last) if rng.random() > 0.03 else None
    skills = _skills_for(rng, role, level)
    title = _title(rng, role, level)
    slots = _Slots(rng, skills[0], skills[1])
    tech = role.key in _TECH_ROLES
    header = rng.choice(_HEADER_STYLES)

    degree = rng.choice(role.degrees)
    university = rng.choice(_UNIVERSITIES)
    if level == "intern":
        grad_year = CURRENT_YEAR + 1
        education = f"{degree}, {university} (expected {grad_year})"
    else:
        grad_year = CURRENT_YEAR - years - rng.randrange(0, 3)
        education = f"{degree}, {university}, {grad_year}"

    focus = rng.choice(role.focus)
    if level == "intern":
        summary = (f"{_field(degree)} student at {university}, graduating in {grad_year} and "
                   f"interested in {focus}. Comfortable with {skills[0]} and {skills[1]}; "
                   f"looking for an internship where I can learn from an experienced team.")
    else:
        if years == 0:
            experience = "with under a year of professional experience"
        else:
            experience = f"with {years} {'year' if years == 1 else 'years'} of experience"
        summary = (f"{title} {experience} in {focus}. Strongest in {skills[0]} and "
                   f"{skills[1]}. {rng.choice(_SUMMARY_CLOSERS)}")

    # Experience, most recent first; bullets are drawn without repeats across the whole CV.
    bullets = list(role.bullets)
    rng.shuffle(bullets)
    generic = list(_GENERIC_BULLETS)
    rng.shuffle(generic)
    bullets = generic + bullets  # _pick takes from the end: the role's own bullets first
    positions: list[tuple[str, list[str]]] = []
    for i, (lvl, start, end) in enumerate(_career(rng, level, years)):
        company, industry = _company(rng)
        if level == "intern":
            pool = list(_INTERN_BULLETS + _INTERN_TECH_BULLETS if tech else _INTERN_BULLETS)
            rng.shuffle(pool)
            head = f"{title}, {company}, {industry} (summer {CURRENT_YEAR})"
            items = [b.format_map(slots) for b in pool[:2]]
        else:
            job_title = title if i == 0 else _title(rng, role, lvl)
            when = f"{start} – {'present' if end is None else end}"
            head = f"{job_title} — {company}, {industry} ({when})"
            want = (rng.randrange(3, 5), rng.randrange(2, 4))[i] if i < 2 else \
                rng.randrange(1, 3)
            items = [b.format_map(slots) for b in _pick(bullets, want, LEVELS.index(lvl))]
            if i == 0 and li >= _SENIOR:
                extra = list(_LEAD_BULLETS if li >= LEVELS.index("lead") else _SENIOR_BULLETS)
                items += [b.format_map(slots) for b in _pick([rng.choice(extra)], 1, li)]
        positions.append((head, items))

    native = _LANGUAGE_OF_GROUP[group]
    if native is None:
        languages = "English (native)"
        if rng.random() < 0.4:
            languages += f", {rng.choice(_OTHER_LANGUAGES)} ({rng.choice(_LANGUAGE_LEVELS)})"
    else:
        languages = f"{native} (native), English ({rng.choice(_LANGUAGE_LEVELS[:3])})"
    skills_line = rng.choice((", ", ", ", " · ")).join(skills)
    interests = None
    if rng.random() < 0.35:
        a, b = rng.sample(_INTERESTS, 2)
        interests = f"{a.capitalize()}, {b}."

    # Keep within the word budget: drop bullets from the oldest roles, or add projects.
    total = (_words([name, title, location, email or "", summary, skills_line, education,
                     languages, interests or ""])
             + sum(_words([h, *b]) for h, b in positions) + 8)
    while total > CV_WORDS[1] - 10:
        j = max(k for k, (_, b) in enumerate(positions) if b)
        total -= len(positions[j][1].pop().split())
    projects: list[str] = []
    spare = list(_PROJECT_TECH_BULLETS if tech else _PROJECT_OTHER_BULLETS)
    rng.shuffle(spare)
    while total < CV_WORDS[0] + 10 and (bullets or spare):
        if spare and (li <= 1 or not bullets):
            line = spare.pop().format_map(slots)
            projects.append(line)
        else:
            picked = _pick(bullets, 1, li)
            if not picked:
                bullets.clear()
                continue
            line = picked[0].format_map(slots)
            positions[0][1].append(line)
        total += len(line.split())

    out = [name, f"{title} · {location}"]
    if email:
        out.append(email)
    out += ["", header("Summary"), summary, ""]
    skills_block = [header("Skills"), skills_line, ""]
    if li <= 1 or rng.random() < 0.3:  # early-career CVs lead with skills and education
        out += skills_block
        skills_block = []
    if level == "intern":
        out += [header("Education"), education, ""]
    out.append(header("Experience"))
    for head, items in positions:
        out.append(head)
        out += [f"- {b}" for b in items]
        out.append("")
    if projects:
        out.append(header("Projects"))
        out += [f"- {p}" for p in projects]
        out.append("")
    out += skills_block
    if level != "intern":
        out += [header("Education"), education, ""]
    out += [header("Languages"), languages]
    if interests:
        out += ["", header("Interests"), interests]
    return {
        "id": f"c-{number:05d}",
        "name": name,
        "email": email,
        "location": location,
        "cv_text": "\n".join(out),
    }


def generate_candidates(n: int, seed: int) -> Iterator[dict]:
    """Yield `n` candidate rows (`c-00001`, …); the same (n, seed) gives the same rows."""
    rng = random.Random(f"talentflow/candidates/{seed}")
    for number in range(1, n + 1):
        yield _candidate(rng, number)


# --------------------------------------------------------------------------------------------
# Jobs
# --------------------------------------------------------------------------------------------

_BASE_SALARY_K = {"intern": 30, "junior": 60, "mid": 90, "senior": 125, "lead": 145,
                  "principal": 175, "executive": 210}


def _salary(rng: random.Random, level: str, currency: str | None, factor: float) -> str | None:
    """A pay range where pay transparency is the norm; None elsewhere ("competitive")."""
    if currency is None:
        return None
    low = int(_BASE_SALARY_K[level] * factor * (0.9 + rng.random() * 0.2)) // 5 * 5
    high = int(low * 1.3) // 5 * 5
    sign = _CURRENCY_SIGN[currency]
    if level == "intern":
        return f"{sign}{max(100, low * 1000 // 12 // 100 * 100):,} per month"
    return f"{sign}{low}k – {sign}{high}k per year"


def _job(rng: random.Random, number: int) -> dict:
    role = _weighted(rng, ROLES, _ROLE_CUM)
    level = _weighted(rng, LEVELS, _JOB_LEVEL_CUM)
    li = LEVELS.index(level)
    title = _title(rng, role, level)
    company, industry = _company(rng)

    mode = rng.random()
    if mode < 0.25:
        region = rng.choice(_REMOTE_REGIONS)
        location = "Remote"
        currency = "EUR" if region in ("Europe", "EMEA") else "USD"
        factor = 0.8
        arrangement = f"Remote ({region})"
    else:
        location, _, currency, factor = rng.choice(_CITIES)
        city = location.split(",")[0]
        if mode < 0.7:
            arrangement = f"Hybrid, {rng.randrange(2, 4)} days a week in our {city} office"
        else:
            arrangement = f"On-site in {city}"

    stack = rng.choice(role.stacks)
    pool = [s for s in role.pool if s not in stack and s != "Leadership"]
    required = list(stack) + rng.sample(pool, min(len(pool), rng.randrange(1, 3)))
    rest = [s for s in pool if s not in required]
    nice = rng.sample(rest, min(len(rest), rng.randrange(1, 4)))
    if li >= LEVELS.index("lead"):
        required.append("Leadership")
    slots = _Slots(rng, required[0], required[1])

    low_years = LEVEL_YEARS[level][0]
    if level == "intern":
        years_line = "You are a student or recent graduate in a related field."
    elif low_years == 0:
        years_line = ("Up to two years of professional experience, or a strong portfolio of "
                      "projects.")
    else:
        years_line = f"{low_years}+ years of experience in a similar role."
    depth = "Familiarity with" if li <= 1 else "Solid, hands-on experience with"
    skills_line = f"{depth} {', '.join(required[:-1])} and {required[-1]}."

    duties = list(role.duties)
    rng.shuffle(duties)
    duties = duties[: rng.randrange(min(3, len(duties)), len(duties) + 1)]
    reqs = [years_line, skills_line, *rng.sample(_SOFT_REQUIREMENTS, rng.randrange(1, 3))]
    if li >= LEVELS.index("lead"):
        reqs.append(rng.choice((
            "Experience leading and growing teams of {team} or more.",
            "A track record of setting direction across several teams.",
        )).format_map(slots))
    benefits = [b.format_map(slots) for b in rng.sample(_BENEFITS, rng.randrange(3, 6))]
    salary = _salary(rng, level, currency, factor)
    if salary:
        benefits.insert(0, f"Salary range: {salary}, depending on experience")
    else:
        benefits.insert(0, "Competitive salary and equity")

    header = rng.choice(_HEADER_STYLES)
    employment = "Internship (6 months)" if level == "intern" else rng.choice(
        ("Full-time", "Full-time", "Full-time, permanent", "Contract (12 months)"))
    about = f"{company} is a {rng.choice(_COMPANY_SIZES)} {industry} company. " + \
        rng.choice(_ABOUT_LINES)
    mission = rng.choice(role.mission).format_map(slots)
    role_text = (f"We are looking for a {title} to {mission}. You will join a team of "
                 f"{slots['team']} and report to {rng.choice(_MANAGERS)}.")

    out = [f"{title} at {company}",
           f"Location: {location} · {arrangement}",
           f"Seniority: {level} · Employment: {employment}",
           "", header(f"About {company}"), about,
           "", header("The role"), role_text,
           "", header("What you will do"), *[f"- {d.format_map(slots)}" for d in duties],
           "", header("What we are looking for"), *[f"- {r}" for r in reqs]]
    if nice:
        out += ["", header("Nice to have"), f"- Experience with {' or '.join(nice)}."]
    out += ["", header("What we offer"), *[f"- {b}" for b in benefits]]
    if len(" ".join(out).split()) < JOB_WORDS[0] + 10 or rng.random() < 0.3:
        out += ["", _INCLUSION]
    return {
        "id": f"j-{number:05d}",
        "title": title,
        "company": company,
        "location": location,
        "description": "\n".join(out),
    }


def generate_jobs(n: int, seed: int) -> Iterator[dict]:
    """Yield `n` job rows (`j-00001`, …); the same (n, seed) gives the same rows."""
    rng = random.Random(f"talentflow/jobs/{seed}")
    for number in range(1, n + 1):
        yield _job(rng, number)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def write_jsonl(rows: Iterable[dict], path: Path | str) -> int:
    """Write rows as UTF-8 JSON Lines (one object per line, `\\n` endings); returns the count.

    `ensure_ascii=False` keeps names like "Müller" readable; key order is the row's order, so
    output is byte-stable for the same rows.
    """
    count = 0
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(dumps(row))
            f.write("\n")
            count += 1
    return count


def write_csv(rows: Iterable[dict], path: Path | str) -> int:
    """Write rows as UTF-8 CSV with a header from the first row's keys; returns the count.

    Multi-line texts are quoted (RFC 4180), None becomes an empty field. An empty input writes
    an empty file: there is no row to take a header from.
    """
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(f, fieldnames=list(row), lineterminator="\n")
                writer.writeheader()
            writer.writerow(row)
            count += 1
    return count
