from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from rollout.notify.outbox import RetryPolicy, backoff_delay, plan_retry

POLICY = RetryPolicy(max_attempts=5, base_delay=2.0, max_delay=60.0)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_exponential_ceiling_with_full_jitter() -> None:
    assert [backoff_delay(n, POLICY, random=lambda: 1.0) for n in (1, 2, 3, 4, 5, 6, 7)] == [
        2.0,
        4.0,
        8.0,
        16.0,
        32.0,
        60.0,
        60.0,
    ]
    assert backoff_delay(3, POLICY, random=lambda: 0.25) == 2.0
    assert backoff_delay(3, POLICY, random=lambda: 0.0) == 0.0


@given(st.integers(1, 200), st.floats(0, 1))
def test_delay_is_never_negative_nor_above_the_cap(attempt: int, fraction: float) -> None:
    assert 0.0 <= backoff_delay(attempt, POLICY, random=lambda: fraction) <= POLICY.max_delay


def test_retry_after_wins_even_above_the_cap() -> None:
    assert backoff_delay(1, POLICY, random=lambda: 0.0, retry_after=120) == 120


def test_dead_after_max_attempts_or_when_permanent() -> None:
    assert plan_retry(4, POLICY, now=NOW, random=lambda: 1.0).next_attempt_at == NOW + timedelta(
        seconds=16
    )
    assert plan_retry(5, POLICY, now=NOW, random=lambda: 1.0).dead
    assert plan_retry(1, POLICY, now=NOW, random=lambda: 1.0, permanent=True).dead
