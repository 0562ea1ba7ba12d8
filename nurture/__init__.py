"""nurture: a lead-nurturing automation engine."""

__version__ = "0.1.0"
