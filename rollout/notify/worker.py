"""The delivery worker: drains the outbox into channels, isolated from each other.

One dispatcher thread polls the store for due items and hands each to its
channel's own thread and queue, so a slow or failing channel delays only
itself, never a rollout stage (stages only write outbox rows) nor another
channel. Per rollout and channel, items go out strictly in order: a later item
waits while an earlier one is pending, so a Slack thread or a PR comment never
shows stages out of order, and a 429 on the first message cannot produce a
second parent message.

Semantics: an item is marked delivered right after the channel accepted it;
a crash between the two re-sends that one item (at-least-once, with the
idempotency key in the request for receivers that deduplicate). Nothing
delivered is re-sent after a restart, and nothing pending is lost.
"""

from __future__ import annotations

import logging
import queue
import random as _random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from rollout.core.events import RolloutEvent, event_from_json
from rollout.errors import NotificationError
from rollout.notify.outbox import RetryPolicy, plan_retry
from rollout.notify.redact import redact

log = logging.getLogger(__name__)


class OutboxRecord(Protocol):
    """What the worker reads of a stored outbox row."""

    @property
    def id(self) -> int: ...
    @property
    def rollout_id(self) -> str | None: ...
    @property
    def channel(self) -> str: ...
    @property
    def event(self) -> str: ...
    @property
    def idempotency_key(self) -> str: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...
    @property
    def attempts(self) -> int: ...


class OutboxStore(Protocol):
    """The part of the state store the worker needs (must be thread-safe).

    `rollout.store.Store` satisfies it; `mark_failed` counts the attempt."""

    def due_outbox(self, now: datetime, limit: int, /) -> Sequence[OutboxRecord]: ...
    def outbox_items(self, status: str | None = None, /) -> Sequence[OutboxRecord]: ...
    def mark_delivered(self, item_id: int, external_ref: str | None, /) -> object: ...
    def mark_failed(
        self, item_id: int, error: str, next_attempt_at: datetime, dead: bool, /
    ) -> object: ...
    def external_ref_for(self, rollout_id: str, channel: str, /) -> str | None: ...


class DeliveryError(NotificationError):
    """A channel refused or could not take a delivery.

    `retry_after` (seconds) is the server's Retry-After; `permanent` means
    retrying cannot help (bad token, unknown channel) and dead-letters now.
    Messages must already be free of secrets; the worker redacts again anyway.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


@dataclass(frozen=True)
class Delivery:
    """One attempt at one outbox item, as a channel sees it."""

    id: int
    channel: str
    event: RolloutEvent
    idempotency_key: str
    attempt: int
    external_ref: str | None
    """The latest external reference stored for this rollout and channel
    (Slack parent message, GitHub comment id), or None."""


class Channel(Protocol):
    def deliver(self, delivery: Delivery) -> str | None:
        """Send; return the external reference to store. Raises DeliveryError."""
        ...

    def secrets(self) -> Sequence[str]:
        """Secret values this channel holds, to be scrubbed from every error."""
        ...


@dataclass(frozen=True)
class DeliveryResult:
    id: int
    channel: str
    event: str
    outcome: str  # "delivered" | "retry" | "dead"
    attempts: int
    error: str | None = None
    next_attempt_at: datetime | None = None


class DeliveryWorker:
    """Deliver due outbox items; `run_once()` synchronously, or `start()`/`stop()`."""

    def __init__(
        self,
        store: OutboxStore,
        channels: Mapping[str, Channel],
        *,
        clock: Callable[[], datetime],
        policy: RetryPolicy | None = None,
        random: Callable[[], float] = _random.random,
        poll_interval: float = 1.0,
        batch_size: int = 200,
        on_result: Callable[[DeliveryResult], None] | None = None,
    ) -> None:
        self._store = store
        self._channels = dict(channels)
        self._clock = clock
        self._policy = policy or RetryPolicy()
        self._random = random
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._on_result = on_result
        self._secrets = tuple(s for ch in self._channels.values() for s in ch.secrets())
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: set[int] = set()
        # When each item last finished, so a poll that started earlier (a stale
        # snapshot) cannot hand it out again.
        self._finished: dict[int, float] = {}
        self._queues: dict[str, queue.Queue[OutboxRecord | None]] = {}
        self._threads: list[threading.Thread] = []
        self._counts: dict[tuple[str, str], int] = {}

    # --- public -----------------------------------------------------------------

    def run_once(self) -> list[DeliveryResult]:
        """Deliver everything due now, in order, in this thread; for tests and CLI."""
        results: list[DeliveryResult] = []
        tried: set[int] = set()
        while True:
            batch = [r for r in self._deliverable() if r.id not in tried]
            if not batch:
                return results
            for record in batch:
                tried.add(record.id)
                results.append(self._process(record))

    def start(self) -> None:
        """Start the dispatcher and one thread per channel."""
        if self._threads:
            raise RuntimeError("DeliveryWorker already started")
        self._stop.clear()
        for name in self._channels:
            q: queue.Queue[OutboxRecord | None] = queue.Queue()
            self._queues[name] = q
            thread = threading.Thread(
                target=self._channel_loop, args=(q,), name=f"notify-{name}", daemon=True
            )
            self._threads.append(thread)
        self._threads.append(
            threading.Thread(target=self._dispatch_loop, name="notify-dispatch", daemon=True)
        )
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking work; in-flight requests finish (bounded by the channel
        timeout). Items not yet attempted stay pending for the next worker."""
        self._stop.set()
        self._wake.set()
        for q in self._queues.values():
            q.put(None)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        self._queues.clear()
        with self._lock:
            self._in_flight.clear()

    def wake(self) -> None:
        """Look for due items now (the engine calls this after a transition)."""
        self._wake.set()

    def stats(self) -> dict[str, dict[str, int]]:
        """Counts by channel and outcome since start: {"slack": {"delivered": 3}}."""
        with self._lock:
            out: dict[str, dict[str, int]] = {}
            for (channel, outcome), count in self._counts.items():
                out.setdefault(channel, {})[outcome] = count
            return out

    # --- internals ----------------------------------------------------------------

    def _deliverable(self) -> list[OutboxRecord]:
        now = self._clock()
        due = list(self._store.due_outbox(now, self._batch_size))
        if not due:
            return []
        # The first pending item per (rollout, channel) goes first; later ones wait.
        first: dict[tuple[str, str], int] = {}
        for record in self._store.outbox_items("pending"):
            if record.rollout_id is None:
                continue
            key = (record.rollout_id, record.channel)
            first[key] = min(first.get(key, record.id), record.id)
        return sorted(
            (
                r
                for r in due
                if r.rollout_id is None or first.get((r.rollout_id, r.channel), r.id) == r.id
            ),
            key=lambda r: r.id,
        )

    def _dispatch_loop(self) -> None:
        while not self._stop.is_set():
            try:
                polled_at = time.monotonic()
                with self._lock:
                    self._finished = {
                        i: t for i, t in self._finished.items() if t >= polled_at - 60
                    }
                for record in self._deliverable():
                    q = self._queues.get(record.channel)
                    with self._lock:
                        if (
                            record.id in self._in_flight
                            or self._finished.get(record.id, 0.0) >= polled_at
                        ):
                            continue
                        self._in_flight.add(record.id)
                    if q is None:  # channel no longer configured: process inline, dead-letters
                        self._process(record)
                        self._finish(record.id)
                    else:
                        q.put(record)
            except Exception as exc:  # the store may be briefly unavailable
                log.error("outbox poll failed: %s", redact(str(exc), self._secrets))
            self._wake.wait(self._poll_interval)
            self._wake.clear()

    def _channel_loop(self, q: queue.Queue[OutboxRecord | None]) -> None:
        while not self._stop.is_set():
            record = q.get()
            if record is None or self._stop.is_set():
                return
            try:
                self._process(record)
            except Exception as exc:  # never let one item kill the channel thread
                log.error("outbox item %s: %s", record.id, redact(str(exc), self._secrets))
            finally:
                self._finish(record.id)
                self._wake.set()

    def _finish(self, item_id: int) -> None:
        with self._lock:
            self._in_flight.discard(item_id)
            self._finished[item_id] = time.monotonic()

    def _process(self, record: OutboxRecord) -> DeliveryResult:
        attempt = record.attempts + 1
        channel = self._channels.get(record.channel)
        error: DeliveryError
        try:
            if channel is None:
                raise DeliveryError(f"channel {record.channel!r} is not configured", permanent=True)
            try:
                event = event_from_json(record.payload)
            except (KeyError, TypeError, ValueError) as exc:
                raise DeliveryError(f"unreadable event payload: {exc}", permanent=True) from exc
            ref = (
                self._store.external_ref_for(record.rollout_id, record.channel)
                if record.rollout_id
                else None
            )
            delivery = Delivery(
                id=record.id,
                channel=record.channel,
                event=event,
                idempotency_key=record.idempotency_key,
                attempt=attempt,
                external_ref=ref,
            )
            external_ref = channel.deliver(delivery)
        except DeliveryError as exc:
            error = exc
        except Exception as exc:  # a channel bug or an untranslated library error
            error = DeliveryError(f"{type(exc).__name__}: {exc}")
        else:
            self._store.mark_delivered(record.id, external_ref)
            log.info(
                "delivered %s to %s (attempt %d)", record.idempotency_key, record.channel, attempt
            )
            return self._report(
                DeliveryResult(record.id, record.channel, record.event, "delivered", attempt)
            )
        message = redact(error.message, self._secrets)[:2000]
        decision = plan_retry(
            attempt,
            self._policy,
            now=self._clock(),
            random=self._random,
            retry_after=error.retry_after,
            permanent=error.permanent,
        )
        self._store.mark_failed(record.id, message, decision.next_attempt_at, decision.dead)
        outcome = "dead" if decision.dead else "retry"
        (log.error if decision.dead else log.warning)(
            "delivery %s to %s failed (attempt %d, %s): %s",
            record.idempotency_key,
            record.channel,
            attempt,
            "dead-lettered" if decision.dead else f"retry at {decision.next_attempt_at:%H:%M:%S}",
            message,
        )
        return self._report(
            DeliveryResult(
                record.id,
                record.channel,
                record.event,
                outcome,
                attempt,
                error=message,
                next_attempt_at=None if decision.dead else decision.next_attempt_at,
            )
        )

    def _report(self, result: DeliveryResult) -> DeliveryResult:
        with self._lock:
            key = (result.channel, result.outcome)
            self._counts[key] = self._counts.get(key, 0) + 1
        if self._on_result is not None:
            try:
                self._on_result(result)
            except Exception:  # metrics must never break delivery
                log.exception("on_result hook failed")
        return result
