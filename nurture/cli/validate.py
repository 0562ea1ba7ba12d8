"""`nurture validate [DIR]`: check every sequence file, expression and template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nurture.cli.common import console, errors, settings_of
from nurture.core.sequences import Pipeline, Sequence
from nurture.files.validate import validate


def validate_command(
    ctx: typer.Context,
    directory: Annotated[
        Path | None, typer.Argument(help="sequences folder (default: sequences_dir from config)")
    ] = None,
    templates: Annotated[
        Path | None, typer.Option(help="templates folder (default: templates_dir from config)")
    ] = None,
    schema: Annotated[
        bool, typer.Option("--schema", help="print the JSON Schema of sequence files and exit")
    ] = False,
    pipeline_schema: Annotated[
        bool, typer.Option("--pipeline-schema", help="print the JSON Schema of pipeline.toml")
    ] = False,
) -> None:
    """Check sequences, pipeline.toml and templates; print FILE:LINE: field: message per problem."""
    if schema or pipeline_schema:
        print(json.dumps(json_schema("pipeline" if pipeline_schema else "sequence"), indent=2))
        return
    settings = settings_of(ctx)
    sequences_dir = directory or settings.sequences_dir
    templates_dir = templates or settings.templates_dir
    sender = {"name": settings.sender.name, "email": settings.sender.email,
              "postal_address": settings.sender.postal_address}
    result = validate(sequences_dir, templates_dir, sender)
    for problem in result.problems:
        errors.print(str(problem), highlight=False, markup=False, soft_wrap=True)
    project = result.project
    summary = (f"{len(project.pipeline.stages)} stages, {len(project.pipeline.rules)} rules, "
               f"{len(project.sequences)} sequences, "
               f"{sum(len(s.touches) for s in project.sequences)} touches: "
               f"{len(result.errors)} errors, {len(result.warnings)} warnings")
    console.print(summary, highlight=False)
    if result.errors:
        raise typer.Exit(1)


def json_schema(kind: str = "sequence") -> dict[str, object]:
    """JSON Schema of a sequence file (or of pipeline.toml), for editors."""
    model = Pipeline if kind == "pipeline" else Sequence
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
