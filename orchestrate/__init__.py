"""Dagster definitions that run the Meltano project's jobs, one run per account at a time.

`meltano_project` reads the jobs and schedules from `meltano.yml`, `meltano_runner` runs one
`meltano run` and says how it ended, and `definitions` turns both into Dagster jobs and
schedules. Only `definitions` imports Dagster (the `orchestrate` extra).
"""
