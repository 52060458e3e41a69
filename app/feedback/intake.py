"""One writer per process for field reports: many requests share each transaction.

A commit costs far more than an insert, and on SQLite only one writer can run at a time; so the
requests that arrive while a transaction is being written wait for the next one, their reports
are checked before it begins, all of them are stored with one statement, and each request gets
its answer only after the commit that stored its reports. Before a transaction begins, the
writer lets the requests already under way join it (`gather_arrivals`), and it keeps one
connection between transactions.

On SQLite the transaction runs in the event loop itself: it takes a millisecond or two and never
waits on the disk (WAL, synchronous=NORMAL), while handing it to a thread would make every one of
its statements wait for the interpreter lock behind the requests being served. A PostgreSQL
transaction waits on the network and the server's disk, so it runs in a thread.
"""

import asyncio
import fcntl
import os
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from app.config import Settings
from app.content.published import ReleaseCache
from app.db import writer
from app.errors import AppError
from app.feedback import service as feedback

MAX_REPORTS_PER_COMMIT = 1000
MAX_GATHERING_TURNS = 8


@dataclass
class Job:
    reports: list[Any]
    client: str
    answer: asyncio.Future[list[feedback.Outcome]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Intake:
    def __init__(self, engine: Engine, settings: Settings, releases: ReleaseCache) -> None:
        self._engine = writer(engine)
        self._settings = settings
        self._releases = releases
        self._jobs: asyncio.Queue[Job] | None = None
        self._task: asyncio.Task[None] | None = None
        self._connection: Connection | None = None
        url = engine.url
        self._inline = url.get_backend_name() == "sqlite"
        self._turn = (
            f"{url.database}-write.lock"
            if self._inline and url.database and url.database != ":memory:"
            else None
        )

    async def receive(self, reports: list[Any], client: str) -> list[feedback.Outcome]:
        """Store `reports`; return once they are committed, or refused."""
        if self._task is None or self._task.done():
            self._jobs = asyncio.Queue()
            self._task = asyncio.create_task(self._run(self._jobs), name="intake")
        job = Job(reports, client)
        assert self._jobs is not None
        self._jobs.put_nowait(job)
        return await job.answer

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._close()

    async def _run(self, jobs: asyncio.Queue[Job]) -> None:
        while True:
            batch = [await jobs.get()]
            await gather_arrivals(jobs)
            reports = len(batch[0].reports)
            while reports < MAX_REPORTS_PER_COMMIT and not jobs.empty():
                batch.append(jobs.get_nowait())
                reports += len(batch[-1].reports)
            await self._write(batch)

    async def _write(self, jobs: list[Job]) -> None:
        settings = self._settings
        try:
            submissions = [
                feedback.submission(
                    job.reports,
                    client=job.client,
                    release=self._releases.version,
                    languages=settings.languages,
                )
                for job in jobs
            ]
            if self._inline:
                async with WritersTurn(self._turn):
                    answers = self._store(submissions)
            else:
                answers = await asyncio.to_thread(self._store, submissions)
        except Exception as failure:  # noqa: BLE001 - every waiting request learns of it
            for job in jobs:
                if not job.answer.done():
                    job.answer.set_exception(failure)
            return
        for job, answer in zip(jobs, answers, strict=True):
            if job.answer.done():  # the request was cancelled: its client went away
                continue
            if isinstance(answer, AppError):
                job.answer.set_exception(answer)
            else:
                job.answer.set_result(answer)

    def _store(
        self, submissions: list[feedback.Submission]
    ) -> list[list[feedback.Outcome] | AppError]:
        """Store in one transaction, on the connection this writer keeps between batches.

        A connection found broken (the database restarted) is replaced and the batch tried
        once more: storing is idempotent, so a commit that went through unanswered is found.
        """
        try:
            return self._store_once(submissions)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            self._close()
            return self._store_once(submissions)

    def _store_once(
        self, submissions: list[feedback.Submission]
    ) -> list[list[feedback.Outcome] | AppError]:
        if self._connection is None:
            self._connection = self._engine.connect()
        settings = self._settings
        with self._connection.begin():
            return feedback.store(
                self._connection,
                submissions,
                secret=settings.secret_key.get_secret_value(),
                limit=settings.feedback_per_minute,
            )

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


async def gather_arrivals(jobs: asyncio.Queue[Job]) -> None:
    """Let the requests already under way reach the queue before a transaction begins.

    The requests whose bytes have arrived need a turn or two of the event loop to be parsed
    and queued; writing at once would commit the first alone and leave the rest for the next
    transaction. Waiting while each turn still brings more makes one commit serve all of them,
    and costs a single turn when a request comes alone.
    """
    for _ in range(MAX_GATHERING_TURNS):
        waiting = jobs.qsize()
        await asyncio.sleep(0)
        if jobs.qsize() == waiting:
            return


class WritersTurn:
    """Wait, without blocking the event loop, for this process's turn to write a SQLite file.

    The processes serving one database take turns on a lock file beside it, so that a
    transaction never sits in SQLite's busy handler, which would block the loop while it sleeps.
    """

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._fd: int | None = None

    async def __aenter__(self) -> None:
        if self._path is None:
            return
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another process is writing: wake when it is done
                await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    async def __aexit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
