"""`python -m nurture`: the same command line as the `nurture` script."""

from nurture.cli import app

app(prog_name="nurture")
