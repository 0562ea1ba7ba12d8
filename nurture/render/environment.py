"""The Jinja2 sandboxes templates run in, and the translation of Jinja2's failures into
TemplateError messages that name the template file, the line and what went wrong.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import FileSystemLoader, StrictUndefined, Template, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from nurture.core.errors import TemplateError

FALLBACK_HINT = (
    "give the template a fallback, e.g. {{ lead.first_name | default('there') }}, "
    "or test the field first: {% if lead.company is defined %}"
)

# Anything a template raises while rendering is that template's failure for this lead.
RENDER_FAILURES = (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError,
                   RecursionError)


def build_environment(
    templates_dir: Path, *, autoescape: bool, finalize: Callable[..., Any] | None = None
) -> ImmutableSandboxedEnvironment:
    """A sandbox reading `templates_dir`; a template is read on first use, then kept."""
    return ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(templates_dir.resolve()),
        undefined=StrictUndefined,
        autoescape=autoescape,
        finalize=finalize,
        auto_reload=False,
        keep_trailing_newline=True,
    )


def render_template(template: Template, variables: dict[str, Any], block: str | None = None
                    ) -> str:
    """`template.render(variables)`, or one of its blocks, without merging the globals into a
    new dict (a ChainMap walk) on every call: a quarter of a render's time otherwise."""
    env = template.environment
    names = _globals_of(template)
    context = env.context_class(env, {**names, **variables}, template.name, template.blocks,
                                globals=names)
    render = template.blocks[block] if block is not None else template.root_render_func
    try:
        return env.concat(render(context))
    except Exception:
        env.handle_exception()  # raises, with the template's own lines in the traceback


@lru_cache(maxsize=256)
def _globals_of(template: Template) -> dict[str, Any]:
    return dict(template.globals)


def compile_tree(env: jinja2.Environment, name: str) -> None:
    """Compile `name` and every template it includes, imports or extends by a constant name."""
    pending, seen = [name], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        with translated_errors(env, current):
            parsed = env.parse(_source(env, current), current)
            pending.extend(n for n in meta.find_referenced_templates(parsed) if n)


def _source(env: jinja2.Environment, name: str) -> str:
    assert env.loader is not None
    return env.loader.get_source(env, name)[0]


@contextmanager
def translated_errors(env: jinja2.Environment, name: str) -> Iterator[None]:
    """Turn a Jinja2 failure inside the block into a TemplateError naming file and line;
    `name` stands for templates without a file (a subject line)."""
    try:
        yield
    except TemplateError:
        raise
    except RENDER_FAILURES as exc:
        raise describe(exc, env, name) from exc


def describe(exc: BaseException, env: jinja2.Environment, name: str) -> TemplateError:
    """A TemplateError for people: where (file:line), what, and for missing fields, what to do."""
    if isinstance(exc, jinja2.TemplateNotFound):
        return TemplateError(f"template {exc.name!r} not found in {_root(env)}")
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return TemplateError(f"{exc.name or name}:{exc.lineno}: syntax error: {exc.message}")
    where = _failing_line(exc, env, name)
    if isinstance(exc, jinja2.UndefinedError):
        return TemplateError(f"{where}: {exc.message}; {FALLBACK_HINT}")
    if isinstance(exc, jinja2.TemplateError):
        return TemplateError(f"{where}: {exc.message}")
    return TemplateError(f"{where}: {type(exc).__name__}: {exc}")


def _failing_line(exc: BaseException, env: jinja2.Environment, name: str) -> str:
    """'file:line' of the innermost template frame of the traceback, else just `name`."""
    root = _root(env)
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == "<template>":
            return f"{name}:{frame.lineno}"
        path = Path(frame.filename)
        if path.is_relative_to(root):
            return f"{path.relative_to(root).as_posix()}:{frame.lineno}"
    return name


def _root(env: jinja2.Environment) -> Path:
    loader = env.loader
    assert isinstance(loader, FileSystemLoader)
    return Path(loader.searchpath[0])
