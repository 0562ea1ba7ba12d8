"""The Jinja2 sandboxes templates run in, and the translation of Jinja2's failures into
TemplateError messages that name the template file, the line and what went wrong.

Besides the immutable sandbox, a render is bounded. What builds a huge value in one step is
checked before it runs (nurture.core.sandbox, shared with conditions): `*`, `**` and `%`
(`'a' * 10**9`, `2 ** 100000`, `'%999999999s' % x`), the widths of str.format and the
`center`, `indent` and `format` filters. One render may output at most MAX_OUTPUT
characters (Markdown values included) and take at most MAX_RENDER_SECONDS, checked as it
outputs and as `range` loops turn. A template past either fails for that lead with a
TemplateError, like any other render failure. (Not bounded: values grown step by step without
output, e.g. `join` of many long strings or a loop with no output over something other than
`range`. Templates are the team's own files, checked by `nurture validate`; lead data is never
evaluated.)
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import FileSystemLoader, StrictUndefined, Template, meta, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range

from nurture.core.errors import TemplateError
from nurture.core.sandbox import BoundedSandbox

FALLBACK_HINT = (
    "give the template a fallback, e.g. {{ lead.first_name | default('there') }}, "
    "or test the field first: {% if lead.company is defined %}"
)

# Anything a template raises while rendering is that template's failure for this lead.
RENDER_FAILURES = (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError,
                   RecursionError)
MAX_OUTPUT = 1_000_000  # characters one render may output: far beyond any email
MAX_RENDER_SECONDS = 5.0


@dataclass
class _Budget:
    """What is left of one render's output and time."""

    left: int
    deadline: float

    def spend(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise SecurityError(f"the output is larger than {MAX_OUTPUT:,} characters")
        if time.monotonic() > self.deadline:
            raise SecurityError(f"rendering took longer than {MAX_RENDER_SECONDS:g} s")


_BUDGET: ContextVar[_Budget | None] = ContextVar("render_budget", default=None)


def _spend(size: int) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.spend(size)


class _TimedRange:
    """`range` for templates: the sandbox's size limit, and the render's clock checked as a
    loop over it turns (a loop that outputs nothing is timed no other way)."""

    def __init__(self, *args: int) -> None:
        self._range = safe_range(*args)

    def __iter__(self) -> Iterator[int]:
        for count, number in enumerate(self._range):
            if not count % 1024:
                _spend(0)
            yield number

    def __len__(self) -> int:
        return len(self._range)

    def __getitem__(self, index: Any) -> Any:
        return self._range[index]

    def __reversed__(self) -> Iterator[int]:
        return reversed(self._range)

    def __contains__(self, value: object) -> bool:
        return value in self._range

    def __repr__(self) -> str:
        return repr(self._range)


class _BoundedSandbox(BoundedSandbox):
    """The shared bounded sandbox (nurture.core.sandbox): no one step builds a value longer
    than a whole render may output."""

    max_size = MAX_OUTPUT


def _counted(finalize: Callable[[EvalContext, Any], Any]) -> Callable[..., Any]:
    """`finalize`, with each value it sees counted against the render's output: a Markdown
    template outputs stand-in tokens, so its values are counted here."""

    @pass_eval_context
    def counted(eval_ctx: EvalContext, value: Any) -> Any:
        _spend(len(str(value)))
        return finalize(eval_ctx, value)

    return counted


def build_environment(
    templates_dir: Path, *, autoescape: bool,
    finalize: Callable[[EvalContext, Any], Any] | None = None,
) -> ImmutableSandboxedEnvironment:
    """A bounded sandbox reading `templates_dir`; a template is read on first use, then kept.
    `finalize`, if given, takes the eval context and the value (`@pass_eval_context`)."""
    env = _BoundedSandbox(
        loader=FileSystemLoader(templates_dir.resolve()),
        undefined=StrictUndefined,
        autoescape=autoescape,
        finalize=_counted(finalize) if finalize is not None else None,
        auto_reload=False,
        keep_trailing_newline=True,
    )
    env.globals["range"] = _TimedRange
    return env


def render_template(template: Template, variables: dict[str, Any], block: str | None = None
                    ) -> str:
    """`template.render(variables)`, or one of its blocks, without merging the globals into a
    new dict (a ChainMap walk) on every call: a quarter of a render's time otherwise."""
    env = template.environment
    names = _globals_of(template)
    context = env.context_class(env, {**names, **variables}, template.name, template.blocks,
                                globals=names)
    render = template.blocks[block] if block is not None else template.root_render_func
    budget = _Budget(MAX_OUTPUT, time.monotonic() + MAX_RENDER_SECONDS)
    reset = _BUDGET.set(budget)
    try:
        chunks = []
        for chunk in render(context):
            budget.spend(len(chunk))
            chunks.append(chunk)
        return env.concat(chunks)
    except Exception:
        env.handle_exception()  # raises, with the template's own lines in the traceback
    finally:
        _BUDGET.reset(reset)


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
