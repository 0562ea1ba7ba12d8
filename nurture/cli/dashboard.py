"""`nurture dashboard hash-password`: the hash of a dashboard password, to put in the config's
`[dashboard] users`. The password is asked twice at a terminal, or read as one line from
standard input (`… hash-password < file`); it is never a command-line argument, which other
users of the machine could see."""

from __future__ import annotations

import sys

import typer

from nurture.cli.common import errors
from nurture.core.passwords import hash_password

MIN_LENGTH = 8
app = typer.Typer(help="The web dashboard (/dashboard).", no_args_is_help=True)


@app.command("hash-password")
def hash_password_command() -> None:
    """Print the scrypt hash of a password for [dashboard] users in the config file."""
    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_LENGTH:
        errors.print(f"error: the password must have at least {MIN_LENGTH} characters",
                     highlight=False, markup=False)
        raise typer.Exit(1)
    print(hash_password(password))
