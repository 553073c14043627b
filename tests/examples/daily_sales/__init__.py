"""The daily sales system on the real database and Prefect."""
