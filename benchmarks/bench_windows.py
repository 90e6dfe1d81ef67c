"""Benchmark: 30 days of windows for a 200-member roster (target: under 100 ms).

Run: python benchmarks/bench_windows.py [--members 200] [--days 30] [--repeat 20]
Prints the best and median wall time of `usable_windows` over the repeats; a
fresh roster is built each time so no cache survives between runs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rollout.core.cron import parse_cron
from rollout.core.windows import (
    CronWindow,
    FreezePeriod,
    GateRules,
    OverlapRequirement,
    Person,
    Shift,
    usable_windows,
)

ZONES = [
    "America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York",
    "America/St_Johns", "America/Sao_Paulo", "Europe/London", "Europe/Berlin",
    "Europe/Helsinki", "Asia/Dubai", "Asia/Kolkata", "Asia/Kathmandu", "Asia/Singapore",
    "Asia/Tokyo", "Australia/Adelaide", "Australia/Sydney", "Australia/Lord_Howe",
    "Pacific/Auckland", "Pacific/Chatham", "Pacific/Kiritimati", "UTC",
]  # fmt: skip


def roster(size: int, start: date, seed: int = 7) -> tuple[Person, ...]:
    rng = random.Random(seed)
    people = []
    for i in range(size):
        begin = rng.choice([7, 8, 8, 9, 9, 9, 10, 22])
        minute = rng.choice([0, 0, 15, 30, 45])
        shifts: tuple[Shift, ...]
        if begin == 22:
            shifts = (Shift(time(22, minute), time(6, minute), crosses_midnight=True),)
        elif rng.random() < 0.3:  # a split day
            shifts = (Shift(time(begin, minute), time(12)), Shift(time(13), time(begin + 8)))
        else:
            shifts = (Shift(time(begin, minute), time(begin + 8, minute)),)
        days = range(5) if rng.random() < 0.9 else range(7)
        off = {start + timedelta(days=rng.randrange(30)) for _ in range(rng.randrange(4))}
        groups = {g for g, p in (("approvers", 0.2), ("oncall", 0.1)) if rng.random() < p}
        people.append(
            Person(
                f"m{i:03d}",
                ZoneInfo(rng.choice(ZONES)),
                {d: shifts for d in days},
                days_off=frozenset(off),
                groups=frozenset(groups),
            )
        )
    return tuple(people)


def rules(size: int, start: datetime) -> GateRules:
    return GateRules(
        roster=roster(size, start.date()),
        overlap=OverlapRequirement(min_online=20, groups={"approvers": 2, "oncall": 1}),
        explicit=(
            CronWindow("deny", parse_cron("0 22 * * fri"), timedelta(hours=58), ZoneInfo("UTC")),
            CronWindow(
                "allow", parse_cron("0 2 * * 2"), timedelta(hours=2), ZoneInfo("Asia/Tokyo")
            ),
        ),
        freezes=(FreezePeriod(start + timedelta(days=9), start + timedelta(days=10), "release"),),
        min_duration=timedelta(minutes=30),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    start = datetime(2026, 3, 1, tzinfo=UTC)  # spans the US and EU DST changes
    timings = []
    count = 0
    for _ in range(args.repeat):
        built = rules(args.members, start)
        began = clock.perf_counter()
        windows = usable_windows(built, start, start + timedelta(days=args.days))
        timings.append(clock.perf_counter() - began)
        count = len(windows)
    print(
        f"{args.members} members x {args.days} days: {count} windows; "
        f"best {min(timings) * 1000:.1f} ms, median {statistics.median(timings) * 1000:.1f} ms "
        f"over {args.repeat} runs"
    )


if __name__ == "__main__":
    main()
