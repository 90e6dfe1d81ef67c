"""Observed traffic replayed against policy revisions. PURE: no I/O, no clock.

Records come in parsed (`parse_hubble`, `parse_neutral` take one decoded
line); reading files, globs and URLs is the adapter `rollout.flow_sources`.

    directory = PodDirectory(snapshot_objects + repo_workloads)   # IP -> pod over time
    agg = FlowAggregator(directory, since=now - window)
    for record in records: agg.add(record)                        # bounded memory
    observed = agg.result()            # distinct (source, destination, port, protocol)
    result = replay(observed.flows, model_before, model_after)    # .cut, .opened
    summary = replay_summary(result, observed, window="7d")       # the one JSON record
"""

from rollout.flows.aggregate import FlowAggregator, Observed, ObservedFlow, UnresolvedFlow
from rollout.flows.hubble import parse_hubble
from rollout.flows.neutral import parse_neutral
from rollout.flows.records import FlowRecord, ObservedEndpoint
from rollout.flows.replay import ReplayedFlow, ReplayResult, Verdict, replay
from rollout.flows.report import cut_sentence, replay_summary
from rollout.flows.resolve import PodDirectory, Unresolved
from rollout.policy.workloads import Workload

__all__ = [
    "FlowAggregator",
    "FlowRecord",
    "Observed",
    "ObservedEndpoint",
    "ObservedFlow",
    "PodDirectory",
    "ReplayResult",
    "ReplayedFlow",
    "Unresolved",
    "UnresolvedFlow",
    "Verdict",
    "Workload",
    "cut_sentence",
    "parse_hubble",
    "parse_neutral",
    "replay",
    "replay_summary",
]
