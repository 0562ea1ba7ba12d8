"""Pipeline reports: one query layer for the command line, the API and the dashboard.

Every report is a function `(connection, pipeline, filters, now) -> a typed dataclass`, in a
module named for its family (funnel, velocity, forecast, sequences, sources). The arithmetic
(rates, velocity, significance, bottleneck) and the funnel's shape live in pure modules
(rates.py, significance.py, stages.py) that import no adapter.
"""
