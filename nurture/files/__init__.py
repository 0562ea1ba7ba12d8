"""Loading and validating the files marketers write: sequences, pipeline, templates, lead CSVs."""
