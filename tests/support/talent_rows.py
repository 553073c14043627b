"""A few hand-written candidates and jobs with known best matches, shared by flow tests."""

from __future__ import annotations

import psycopg

CVS = {
    "c-1": ("Ada Lovelace", "Berlin",
            "Senior Backend Engineer\nSenior backend engineer with 8 years of experience "
            "building Python and Go services on AWS with PostgreSQL, Kafka and Kubernetes. "
            "Led the migration of a payments platform to microservices."),
    "c-2": ("Grace Hopper", "London",
            "Product Designer\nProduct designer with 5 years in UX research, Figma and UI "
            "design for mobile apps. Ran usability studies and design systems."),
    "c-3": ("Alan Turing", "Remote",
            "Data Scientist\nData scientist, 4 years: machine learning, PyTorch, "
            "scikit-learn, statistics and A/B testing for recommender systems."),
}
JOBS = {
    "j-1": ("Senior Backend Engineer", "Paymo", "Berlin",
            "We need a senior backend engineer with 8 years of experience building Python and "
            "Go services on AWS with PostgreSQL, Kafka and Kubernetes for our payments "
            "platform and microservices."),
    "j-2": ("Machine Learning Engineer", "Recsys Ltd", "Remote",
            "Build recommender systems with PyTorch and scikit-learn; statistics and A/B "
            "testing experience required."),
    "j-3": ("Account Executive", "SellCo", "Paris",
            "Sales role: account management, negotiation and Salesforce. 3 years in B2B "
            "sales."),
}


def load_rows(db: str) -> None:
    """Insert the small fixture rows (real SQL, the table triggers run)."""
    with psycopg.connect(db) as conn:
        for cid, (name, loc, cv) in CVS.items():
            conn.execute("INSERT INTO candidates (id, name, location, cv_text) "
                         "VALUES (%s, %s, %s, %s)", [cid, name, loc, cv])
        for jid, (title, company, loc, desc) in JOBS.items():
            conn.execute("INSERT INTO jobs (id, title, company, location, description) "
                         "VALUES (%s, %s, %s, %s, %s)", [jid, title, company, loc, desc])
