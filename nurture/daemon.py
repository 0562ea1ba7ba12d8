"""`nurture run`: one asyncio process. APScheduler runs the periodic jobs (dispatch due touches,
enroll leads), uvicorn serves the HTTP app in the same loop.

The handoff job runs in its own loop: at once when this process's API has committed a handoff
request (`Wakeup`) or, on PostgreSQL, another process announced one (store/handoff_channel.py),
else every `handoff.poll_seconds`.

Signals: SIGTERM/SIGINT stop claiming, let the batch in hand finish (bounded), and exit 0;
SIGHUP reloads sequences and templates, keeping the running set if the new one is invalid.
Only this module and the command line read the clock, through `Clock`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from nurture.clock import Clock, SystemClock
from nurture.core.limits import LeadCap
from nurture.engine.compose import Identity
from nurture.engine.digest import run_digests
from nurture.engine.dispatch import DispatchConfig, Dispatcher, TickReport
from nurture.engine.enrollment_sweep import enroll_pending
from nurture.engine.handoff import run_handoffs
from nurture.engine.notices import RunReport
from nurture.engine.reps import sync_reps
from nurture.engine.rules_sweep import sweep_rules
from nurture.engine.scoring_config import rescore_if_changed
from nurture.engine.sla import run_sla
from nurture.engine.wakeup import Wakeup
from nurture.files.loader import Project
from nurture.files.problems import ProblemsFound
from nurture.files.validate import validate
from nurture.heap import settle
from nurture.instance import InstanceLock, release_orphaned_leases, singleton
from nurture.logs import Repeats, one_line
from nurture.mail.build import build_transport
from nurture.mail.imap import poll_mailbox
from nurture.mail.transport import Transport
from nurture.metrics import Metrics
from nurture.render import TemplateRenderer
from nurture.settings import Settings
from nurture.store.engine import make_engine, upgrade, writing
from nurture.store.handoff_channel import listen_for_handoffs
from nurture.store.queue import due_backlog
from nurture.store.tallies import fold
from nurture.web.app import create_app
from nurture.web.state import WebContext

log = logging.getLogger("nurture.daemon")
NoticeRun = Callable[[Engine, Settings, Project, Transport, datetime], Awaitable[RunReport]]
# SLA and digests are by the hour; handoffs have their own loop (`handoff_loop`).
NOTICE_JOBS: tuple[tuple[NoticeRun, float], ...] = ((run_sla, 60.0), (run_digests, 60.0))
RULES_SWEEP_SECONDS = 60.0  # events are assessed at once; the sweep is for time passing
FOLD_SECONDS = 60.0  # the reports' daily counts: exact unfolded too, only slower to sum
MAX_ROUNDS_PER_JOB = 50  # full batches drained back to back before yielding to the scheduler
SHUTDOWN_GRACE_SECONDS = 30


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside our loop: the daemon owns the signal handlers, not uvicorn."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def dispatch_config(settings: Settings, worker: str) -> DispatchConfig:
    limits = settings.limits
    return DispatchConfig(
        worker=worker, batch_size=settings.batch_size, default_zone=settings.default_timezone,
        lead_cap=LeadCap(limits.per_lead_per_day, limits.per_lead_per_week),
        per_hour=limits.per_hour, per_day=limits.per_day,
        per_domain_per_minute=limits.per_domain_per_minute,
        jitter=timedelta(minutes=settings.jitter_minutes),
        chunk_size=settings.smtp.pool_size * 8,
        on_interrupted=settings.on_interrupted,
    )


class Daemon:
    """The long-running service. `run()` returns when asked to stop."""

    def __init__(self, settings: Settings, clock: Clock | None = None,
                 extra_jobs: list[tuple[Callable[[], Awaitable[None]], float]] | None = None
                 ) -> None:
        self.settings = settings
        self.extra_jobs = extra_jobs or []
        self.clock = clock or SystemClock()
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.metrics = Metrics()
        self.engine = make_engine(settings.database_url)
        self.project: Project = self._checked_project()
        self.renderer = TemplateRenderer(settings.templates_dir)
        self.transport = build_transport(settings)
        self.dispatcher = Dispatcher(self.engine, self.project, self.renderer, self.transport,
                                     Identity.from_settings(settings),
                                     dispatch_config(settings, self.worker))
        self.stopping = asyncio.Event()
        self.handoff_wakeup = Wakeup()
        self.busy = asyncio.Lock()
        self.jobs: set[asyncio.Task[object]] = set()  # periodic jobs running now (_guarded)
        self.scheduler: AsyncIOScheduler | None = None
        self.last_report = TickReport()
        self.repeats = Repeats(log)

    async def run(self) -> None:
        # A web-only instance (`nurture serve`) claims nothing, so it may share a SQLite
        # database with the daemon; every other role holds the one-daemon lock.
        url = "postgresql://" if self.settings.role == "web" else self.settings.database_url
        with InstanceLock.for_database(url) as lock:
            upgrade(self.engine)
            sync_reps(self.engine, self.settings.reps)
            self._rescore_if_scoring_changed()
            if lock.is_exclusive and (orphans := release_orphaned_leases(self.engine)):
                log.warning("took back %d enrollments claimed by a daemon that did not stop "
                            "cleanly; see on_interrupted for the touches it was sending",
                            orphans)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop)
            loop.add_signal_handler(signal.SIGHUP, self.reload)
            scheduler = self.scheduler = self._scheduler()
            server = self._http_server()
            serving = asyncio.create_task(server.serve()) if server else None
            scheduler.start()
            handoffs = listening = None
            if self.settings.role != "web":
                handoffs = asyncio.create_task(self.handoff_loop())
                listening = asyncio.create_task(listen_for_handoffs(
                    self.engine, self.handoff_wakeup.ring, self.stopping))
            settle()  # what is built by now lives as long as the daemon
            log.info("nurture running as %s: %d sequences, database %s", self.worker,
                     len(self.project.sequences), self.engine.url.render_as_string())
            await self.stopping.wait()
            scheduler.pause()  # no new runs; shutdown() would cancel the batch in hand
            await self._finish_batch()
            await self._finish_jobs()
            if handoffs and listening:
                listening.cancel()
                await asyncio.gather(listening, return_exceptions=True)
                await self._finish_handoffs(handoffs)
            scheduler.shutdown(wait=False)
            if server and serving:
                server.should_exit = True
                await serving
            await self.transport.close()
            self.engine.dispose()
            log.info("nurture stopped")

    def request_stop(self) -> None:
        if not self.stopping.is_set():
            log.info("stopping: no new claims; finishing the batch in hand")
        self.stopping.set()
        self.handoff_wakeup.ring()

    def _checked_project(self) -> Project:
        """Sequences and templates, checked as `nurture validate` checks them; ProblemsFound
        (every FILE:LINE: field: problem) when they have errors."""
        sender = self.settings.sender
        checked = validate(self.settings.sequences_dir, self.settings.templates_dir,
                           {"name": sender.name, "email": sender.email,
                            "postal_address": sender.postal_address})
        if checked.errors:
            raise ProblemsFound(checked.errors)
        return checked.project

    def reload(self) -> None:
        """SIGHUP: load sequences and templates again, checked as at start; keep the running
        set if the new one has errors."""
        try:
            project = self._checked_project()
        except ProblemsFound as problems:
            log.error("reload refused, keeping the running sequences and templates:\n%s",
                      problems)
            return
        self.project = self.dispatcher.project = project
        self.renderer = self.dispatcher.renderer = TemplateRenderer(self.settings.templates_dir)
        log.info("reloaded %d sequences", len(project.sequences))
        try:
            self._rescore_if_scoring_changed()
        except Exception as error:  # the next start or reload tries again
            self._failed("reload", "could not check the [scoring] section for changes", error)

    def _rescore_if_scoring_changed(self) -> None:
        """New points, half-life or fit grades: every lead's score is rebuilt by the sweep,
        which runs at once rather than at its next interval (at start it runs first anyway)."""
        marked = rescore_if_changed(self.engine, self.project.pipeline.scoring,
                                    self.clock.now())
        if marked is None:
            return
        log.info("the [scoring] section of pipeline.toml changed: %d lead%s will be "
                 "rescored by the rules sweep", marked, "" if marked == 1 else "s")
        if marked and self.scheduler and self.scheduler.get_job("rules"):
            self.scheduler.modify_job("rules", next_run_time=datetime.now(UTC))

    async def dispatch_job(self) -> None:
        """Drain due touches: full batches back to back, then wait for the next interval."""
        if self.stopping.is_set():
            return
        async with self.busy:
            for _ in range(MAX_ROUNDS_PER_JOB):
                started = time.perf_counter()
                try:
                    report = await self.dispatcher.tick(self.clock.now())
                    self._observe(report, time.perf_counter() - started)
                except Exception as error:  # the daemon never dies on one bad tick
                    self._failed("dispatch", "dispatch tick failed", error)
                    return
                self.repeats.worked("dispatch")
                if report.claimed < self.settings.batch_size or self.stopping.is_set():
                    break

    def _failed(self, job: str, what: str, error: Exception) -> None:
        """A job raised: counted in /metrics, and logged once per cause while it lasts (with
        the traceback when it is not the database failing, which would be a bug)."""
        self.metrics.job_errors.labels(job).inc()
        cause = one_line(error)
        self.repeats.failed(job, cause, "%s; trying again at the next interval, not logging "
                            "this again until it works: %s", what, cause,
                            exc_info=None if _database_trouble(error) else error)

    async def _guarded(self, name: str, work: Callable[[], Awaitable[str | None]], *,
                       single: bool) -> None:
        """Run one periodic job: never while stopping, on PostgreSQL in one worker at a time
        when `single`, and never letting an error out (logged, counted in /metrics). `work`
        returns what to log, or None when it had nothing to do."""
        if self.stopping.is_set():
            return
        task = asyncio.current_task()
        if task is not None:
            self.jobs.add(task)  # waited for when stopping (_finish_jobs)
        try:
            with singleton(self.engine, name) if single else contextlib.nullcontext(True) \
                    as is_mine:
                if not is_mine:
                    return
                started = time.perf_counter()
                said = await work()
            if said:
                log.info("%s: %s in %.3fs", name, said, time.perf_counter() - started)
        except Exception as error:
            self._failed(name, f"{name} job failed", error)
            return
        finally:
            self.jobs.discard(task)
        self.repeats.worked(name)

    async def enroll_job(self) -> None:
        """The enrollment sweep."""
        async def work() -> str | None:
            seen = await asyncio.to_thread(
                enroll_pending, self.engine, self.project, self.clock.now(),
                self.settings.default_timezone, timedelta(minutes=self.settings.jitter_minutes))
            return f"{seen} leads looked at" if seen else None

        await self._guarded("enroll", work, single=True)

    async def rules_job(self) -> None:
        """The rules sweep: time-based conditions, stale leads, score decay. In a worker
        thread (and on PostgreSQL in up to `rules_workers` processes): a sweep of 50,000 leads
        is seconds of work, which in the event loop would hold up every HTTP request."""
        async def work() -> str | None:
            report = await asyncio.to_thread(sweep_rules, self.engine, self.project,
                                             self.clock.now(),
                                             workers=self.settings.rules_workers)
            return str(report) if report.leads else None

        await self._guarded("rules", work, single=True)

    async def fold_job(self) -> None:
        """Merge the daily report counts the writers appended into one row per day and key,
        so reports sum a few rows rather than every change (store/tallies.py)."""
        async def work() -> str | None:
            await asyncio.to_thread(self._fold)
            return None

        await self._guarded("fold", work, single=True)

    def _fold(self) -> None:
        with writing(self.engine) as connection:
            fold(connection)

    async def mailbox_job(self) -> None:
        """Poll the [imap] mailbox for replies and bounces."""
        async def work() -> str | None:
            report = await poll_mailbox(self.settings, self.engine, self.project,
                                        self.clock.now(), repeats=self.repeats)
            if report.error:  # poll_mailbox logged it
                self.metrics.job_errors.labels("mailbox").inc()
            return str(report) if report.found else None

        await self._guarded("mailbox", work, single=True)

    def _notice_job(self, run: NoticeRun) -> Callable[[], Awaitable[None]]:
        """A handoff, SLA or digest job: safe in several workers at once (each claims rows)."""
        name = run.__name__.removeprefix("run_")

        async def work() -> str | None:
            report = await run(self.engine, self.settings, self.project,
                               self.dispatcher.transport, self.clock.now())
            return str(report) if report.outcomes or report.notices else None

        async def job() -> None:
            await self._guarded(name, work, single=False)

        return job

    async def handoff_loop(self) -> None:
        """The handoff job, until stopping: again at once when rung (a qualifying request
        through this process's API has committed), else after the poll interval."""
        self.handoff_wakeup.bind()
        job = self._notice_job(run_handoffs)
        while not self.stopping.is_set():
            await job()
            await self.handoff_wakeup.wait(self.settings.handoff.poll_seconds)

    async def _finish_handoffs(self, loop: asyncio.Task[None]) -> None:
        try:
            await asyncio.wait_for(loop, SHUTDOWN_GRACE_SECONDS)
        except TimeoutError:
            log.warning("the handoff job did not finish in %ss; the requests it held are "
                        "handled again at the next start", SHUTDOWN_GRACE_SECONDS)

    def _observe(self, report: TickReport, seconds: float) -> None:
        self.last_report = report
        for outcome, count in report.outcomes.items():
            self.metrics.touches.labels(outcome).inc(count)
        self.metrics.tick_seconds.observe(seconds)
        self.metrics.sender_paused.set(1 if self.dispatcher.paused_until else 0)
        if self.dispatcher.paused_until:
            self.metrics.alerts.labels("sender_rejected").inc()
        with self.engine.connect() as connection:
            self.metrics.due_backlog.set(due_backlog(connection, self.clock.now()))
        if report.claimed:
            log.info("dispatch: %s in %.3fs", report, seconds)

    def _scheduler(self) -> AsyncIOScheduler:
        scheduler = AsyncIOScheduler(timezone=UTC)
        first = datetime.now(UTC)
        interval = self.settings.dispatch_interval_seconds
        if self.settings.role != "web":
            scheduler.add_job(self.enroll_job, "interval", seconds=interval, id="enroll",
                              max_instances=1, coalesce=True, next_run_time=first)
            scheduler.add_job(self.dispatch_job, "interval", seconds=interval, id="dispatch",
                              max_instances=1, coalesce=True,
                              next_run_time=first + timedelta(seconds=0.2))
            scheduler.add_job(self.rules_job, "interval", seconds=RULES_SWEEP_SECONDS,
                              id="rules", max_instances=1, coalesce=True,
                              next_run_time=first + timedelta(seconds=0.4))
            scheduler.add_job(self.fold_job, "interval", seconds=FOLD_SECONDS, id="fold",
                              max_instances=1, coalesce=True,
                              next_run_time=first + timedelta(seconds=0.6))
            for run, seconds in NOTICE_JOBS:
                scheduler.add_job(self._notice_job(run), "interval", seconds=seconds,
                                  id=run.__name__, max_instances=1, coalesce=True,
                                  next_run_time=first + timedelta(seconds=0.3))
            if self.settings.imap.enabled:
                scheduler.add_job(self.mailbox_job, "interval", id="mailbox",
                                  seconds=self.settings.imap.poll_seconds, max_instances=1,
                                  coalesce=True, next_run_time=first + timedelta(seconds=0.5))
        for job, seconds in self.extra_jobs:
            scheduler.add_job(job, "interval", seconds=seconds, max_instances=1, coalesce=True,
                              next_run_time=first)
        return scheduler

    def _http_server(self) -> uvicorn.Server | None:
        if self.settings.role == "worker" or self.settings.http_port == 0:
            return None
        context = WebContext(engine=self.engine, settings=self.settings,
                             project=lambda: self.project, clock=self.clock,
                             wake_handoffs=self.handoff_wakeup.ring)
        config = uvicorn.Config(create_app(self.metrics, context), host=self.settings.http_host,
                                port=self.settings.http_port, log_config=None, lifespan="off",
                                access_log=False)
        return _EmbeddedServer(config)

    async def _finish_jobs(self) -> None:
        """Let the periodic jobs running now end (a sweep's thread cannot be interrupted;
        cancelling the job that waits for it would only hide when it ends)."""
        running = [job for job in self.jobs if job is not asyncio.current_task()]
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=SHUTDOWN_GRACE_SECONDS)
        if late:
            log.warning("%d job(s) still running after %ss; stopping without them",
                        len(late), SHUTDOWN_GRACE_SECONDS)

    async def _finish_batch(self) -> None:
        try:
            await asyncio.wait_for(self.busy.acquire(), SHUTDOWN_GRACE_SECONDS)
        except TimeoutError:
            log.warning("the batch in hand did not finish in %ss; its leases will expire and "
                        "another run picks it up", SHUTDOWN_GRACE_SECONDS)


def _database_trouble(error: Exception) -> bool:
    """The database cannot be reached, is restarting or is locked: an operational fault that
    says all it has to say in one line (a programming error is not one)."""
    return isinstance(error, OperationalError | InterfaceError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated)
