"""Pipeline reports: one query layer for the command line, the API and the dashboard.

Every report is a function `(connection, pipeline, filters, now) -> a typed dataclass`, in a
module named for its family (funnel, velocity, forecast, sequences, sources). The arithmetic
(rates, velocity, significance, bottleneck) and the funnel's shape live in pure modules
(rates.py, significance.py, stages.py) that import no adapter.

They read summaries the writers keep (store/report_models.py): stage entries with what came
before and after each (entries.py, wins.py), email outcomes (emails.py), leads created
(created.py), counted per day for whole days and read from the rows for the rest of a period
(periods.py). rebuild.py makes them again from the raw history.
"""
