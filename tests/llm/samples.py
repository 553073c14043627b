"""Small, realistic CVs and job postings (written for these tests; the shapes follow what
generated sample data and real CVs look like: a name line, a headline, contact details,
sections, date ranges, skills lists)."""

BACKEND_CV = """\
Jane Doe
Senior Backend Engineer
Berlin, Germany · jane.doe@example.com · +49 151 2345 6789 · linkedin.com/in/janedoe

Summary
Backend engineer with 8 years of experience building distributed systems and data-heavy APIs. \
I care about reliability, observability and mentoring junior engineers. Open to remote roles \
across the EU.

Experience
Senior Backend Engineer — Acme Payments GmbH (Mar 2020 – Present)
- Designed an event-driven ledger in Go and Python on Apache Kafka and PostgreSQL.
- Cut p99 latency by 40% with Redis caching; ran everything on Kubernetes in AWS.
Software Engineer — Webshop AG (2016 – 2020)
- Built REST APIs with Django; introduced CI/CD with GitHub Actions and Docker.

Education
M.Sc. Computer Science, TU Berlin (2014 – 2016)

Skills
Languages: Go, Python, SQL, C
Infrastructure: Kubernetes, Terraform, AWS, Prometheus, Grafana
"""

DATA_SCIENTIST_CV = """\
# Priya Raman
Data Scientist | Manchester, United Kingdom | priya@example.org

## Profile
Data scientist focused on forecasting demand for retail. Comfortable across the stack from \
SQL to model deployment.

## Work experience
Data Scientist, ShopCo Ltd — Sep 2022 to Present
* Built demand models with scikit-learn, pandas and PyTorch; A/B testing of pricing.
Junior Data Analyst, Numbers Inc — Jul 2021 – Aug 2022
* Dashboards in Tableau and Excel, reporting in R.

## Education
BSc Mathematics, University of Leeds, 2018 – 2021

## Skills
Python, R, SQL, Statistics, Machine Learning, Time Series, Communication
"""

# Ambiguous words everywhere, none of them a skill here.
PLAIN_WORDS_CV = """\
Sam Jenkins
Product Designer
Lisbon, Portugal

About
I excel at turning messy research into clear interfaces and I go the extra mile for users. \
Worked closely with sales and marketing on a go-to-market plan presented to C-level \
stakeholders, plus R&D. Swift delivery matters to me, and so does clear communication.

Experience
Product Designer — Studio Nine (2019 – 2024)
- Ran user research and designed the UI in Figma.
"""

JOB_STAFF_DATA_ENGINEER = """\
Title: Staff Data Engineer
Company: Northwind Analytics
Location: Remote (EU)

About the role
We are looking for a Staff Data Engineer to own our lakehouse. You will design batch and \
streaming pipelines and mentor a team of four.

Requirements
- 5+ years of experience in data engineering; 3+ years with Python.
- Apache Spark, Airflow, dbt and Snowflake in production.
- Strong communication skills in English.

Fully remote, EU time zones.
"""

JOB_HEAD_OF_MARKETING = """\
Head of Marketing (m/f/d)
BrightLabs — Munich, Germany (hybrid, 3 days in office)

About us
BrightLabs builds tools for small bakeries. We are growing fast and need someone to lead \
our brand and demand generation.

What you'll do
- Own the marketing budget and a team of six; SEO, content marketing and paid acquisition.

What we're looking for
- 10 years in B2B marketing, including 3 leading teams.
- Salesforce, Excel, Negotiation, Leadership
"""

JOB_NO_HEADINGS = """\
We're hiring a Junior iOS Developer to join our mobile team in Austin, TX. You will ship \
features in Swift and SwiftUI, write tests and review code. On-site only, five days a week. \
Experience with REST APIs and Git is a plus.
"""

# As the pipeline composes a job row (title, company, location, description) into one text.
JOB_AS_COMPOSED = """\
Associate Product Manager at Clearpath Market
Location: Remote · Remote (EMEA)
Seniority: junior · Employment: Full-time, permanent

The role
We are looking for a Associate Product Manager to drive growth of our platform. You will \
join a team of 9 and report to the CTO.

What we are looking for
- Up to two years of professional experience, or a strong portfolio of projects.
- Familiarity with Product Management, Roadmapping and Jira.
"""

# As the pipeline composes a candidate row ("Location: ..." first, then the CV).
CV_AS_COMPOSED = """\
Location: Austin, TX, USA
Jules Petit
Senior Software Engineer · Austin, TX, USA
jules_petit@example.net

## Summary
Senior Software Engineer with 8 years of experience in designing service boundaries and \
clean, well-tested code. Strongest in Python and Django.

## Skills
Python, Django, PostgreSQL, Redis
"""
