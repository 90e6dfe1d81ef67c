"""`policy matrix` without `--port`: workload (or pod) rows with port sets, streamed.

Rows are computed source by source and written as they come (`Output`), so
memory follows the classes, not pods x pods x ports. Pod rows (`--pods`) are
counted first and refused above `--max-rows`.
"""

from __future__ import annotations

from rollout.cli.options import as_format
from rollout.cli.output import Output
from rollout.errors import InputError
from rollout.policy import Analysis
from rollout.policy.connectivity import count_rows, workload_connections
from rollout.policy.connectivity_report import ANALYZER_FORMATS, FORMATS, as_json

DEFAULT_MAX_ROWS = 1_000_000


def write_matrix(analysis: Analysis, *, output: str, style: str, pods: bool, max_rows: int) -> None:
    """Write the connectivity rows of `analysis` to standard output.

    `style` is `rollout` or `netpol-analyzer` (JSON/CSV only). Raises
    InputError for a format the style lacks or pod rows over `max_rows`.
    """
    if style == "netpol-analyzer":
        formatter = ANALYZER_FORMATS.get(output)
        if formatter is None:
            raise InputError(
                f"--format netpol-analyzer: -o {output} is not one of its formats "
                f"(use -o {' or -o '.join(ANALYZER_FORMATS)})"
            )
    else:
        formatter = FORMATS["json" if output == "yaml" else output]
    if pods:
        rows = count_rows(analysis, pods=True)
        if rows > max_rows:
            raise InputError(
                f"--pods would write {rows:,} pod-pair rows for {len(analysis.endpoints):,} "
                f"endpoints, over --max-rows {max_rows:,}: drop --pods for one row per "
                "workload pair, ask about one port with --port, or raise --max-rows"
            )
    connections = workload_connections(analysis, pods=pods)
    chunks = (
        as_json(connections, level="pod" if pods else "workload")
        if formatter is as_json
        else formatter(connections)
    )
    if output == "yaml":  # YAML is for reading; JSON streams, YAML is built whole
        chunks = iter([as_format("yaml", "".join(chunks)) + "\n"])
    Output().write_all(chunks)
