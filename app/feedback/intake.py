"""One writer per process for field reports: many requests share each transaction.

A commit costs far more than an insert, and on SQLite only one writer can run at a time; so the
requests that arrive while a transaction is being written wait for the next one, and each gets
its answer only after the commit that stored its reports.
"""

import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from app.config import Settings
from app.content.published import ReleaseCache
from app.db import writer
from app.errors import AppError
from app.feedback import service as feedback

MAX_JOBS_PER_COMMIT = 256


@dataclass
class Job:
    reports: list[Any]
    client: str
    answer: Future[list[feedback.Outcome]] = field(default_factory=Future)


class Intake:
    def __init__(self, engine: Engine, settings: Settings, releases: ReleaseCache) -> None:
        self._engine = writer(engine)
        self._settings = settings
        self._releases = releases
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, reports: list[Any], client: str) -> Future[list[feedback.Outcome]]:
        """Queue `reports`; the future resolves once they are committed, or refused."""
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="intake", daemon=True)
                self._thread.start()
        job = Job(reports, client)
        self._jobs.put(job)
        return job.answer

    def stop(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                self._jobs.put(None)
                self._thread.join(timeout=10)
                self._thread = None

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            jobs = [job]
            while len(jobs) < MAX_JOBS_PER_COMMIT:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._jobs.put(None)  # stop after this transaction
                    break
                jobs.append(more)
            self._write(jobs)

    def _write(self, jobs: list[Job]) -> None:
        settings = self._settings
        results: list[list[feedback.Outcome] | AppError] = []
        try:
            with Session(self._engine) as session:
                for job in jobs:
                    try:
                        outcomes = feedback.stage(
                            session,
                            job.reports,
                            client=job.client,
                            secret=settings.secret_key.get_secret_value(),
                            limit=settings.feedback_per_minute,
                            release=self._releases.version,
                            languages=settings.languages,
                        )
                        results.append(outcomes)
                    except AppError as refusal:
                        results.append(refusal)
                session.commit()
        except Exception as failure:  # noqa: BLE001 - every waiting request learns of it
            for job in jobs:
                job.answer.set_exception(failure)
            return
        for job, result in zip(jobs, results, strict=True):
            if isinstance(result, AppError):
                job.answer.set_exception(result)
            else:
                job.answer.set_result(result)
