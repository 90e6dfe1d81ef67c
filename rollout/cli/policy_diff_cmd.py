"""`rollout policy diff`: connections opened and closed between two revisions.

Workload pairs with their port ranges by default (`--pods`: pod pairs); the
two revisions come from folders (OLD NEW) or from commits (`--rev A --rev B`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import click

from rollout.cli.actions import report_to_actions
from rollout.cli.help_examples import examples
from rollout.cli.options import MACHINE_FORMATS, as_format, output_option
from rollout.cli.output import emit
from rollout.cli.policy_inputs import build_model, load_paths, pod_ip_option
from rollout.errors import InputError
from rollout.manifests import ParseCache, split_origins
from rollout.policy import ClusterModel, connectivity_diff, load_cluster, report
from rollout.policy.diff_workloads import workload_diff_markdown, workload_diff_text
from rollout.policy.portset import parse_port_arg


def _revision_model(
    repo: str, rev: str, paths: Sequence[str], cache: ParseCache | None = None
) -> ClusterModel:
    """The manifests under `paths` at revision `rev` (kustomizations rendered)."""
    from rollout.gitwatch import GitRepository

    git_repo = GitRepository(path=Path(repo))
    sha = git_repo.resolve(rev)
    with tempfile.TemporaryDirectory(prefix="netpol-rev-") as tmp:
        tree = Path(tmp)
        # The whole tree: an overlay's bases live beside it (../base).
        git_repo.export_tree(sha, tree)
        manifests = load_paths([str(tree / sub) for sub in paths] or [tmp], root=tree, cache=cache)
        objects, origins = split_origins(manifests)
        return load_cluster(objects, origins=[f"{rev}:{o}" if o else o for o in origins])


@examples(
    "rollout policy diff old/ new/",
    "rollout policy diff --rev main --rev HEAD k8s/network-policies/production -o markdown",
)
@click.command(name="diff")
@click.argument("paths", nargs=-1)
@click.option(
    "--rev",
    "revs",
    multiple=True,
    metavar="REV",
    help="Two revisions of the policy repo (--rev A --rev B) instead of OLD NEW; "
    "PATHs are then folders inside the repo.",
)
@click.option("--repo", default=".", show_default=True, help="Policy repository, for --rev.")
@click.option("--port", "ports", multiple=True, metavar="PORT/PROTO")
@click.option("--pods", is_flag=True, help="List changed pod pairs instead of workload pairs.")
@pod_ip_option
@output_option("markdown")
def diff_cmd(
    paths: tuple[str, ...],
    revs: tuple[str, ...],
    repo: str,
    ports: tuple[str, ...],
    pods: bool,
    pod_ip_in_ipblock: bool,
    output: str,
) -> None:
    """Connections opened and closed between OLD and NEW, with the policies responsible.

    Text and Markdown list workload pairs with their port ranges (--pods: pod
    pairs); JSON has both (`opened`/`closed` per pod pair, `workloads`).
    """
    # What the two revisions share (most documents, usually) is parsed once.
    cache = ParseCache()
    if revs:
        if len(revs) != 2:
            raise InputError("--rev: give exactly two revisions, --rev OLD --rev NEW")
        old = _revision_model(repo, revs[0], paths, cache)
        new = _revision_model(repo, revs[1], paths, cache)
    else:
        if len(paths) != 2:
            raise InputError("policy diff: give OLD and NEW folders (or --rev A --rev B)")
        old = build_model([paths[0]], cache=cache)
        new = build_model([paths[1]], cache=cache)
    port_list = [parse_port_arg(p) for p in ports] or None
    result = connectivity_diff(old, new, port_list, pod_ip_in_ipblock=pod_ip_in_ipblock)
    _machine = dict.fromkeys(MACHINE_FORMATS, report.diff_json)
    if pods:
        formatter = {
            "markdown": report.diff_markdown,
            **dict.fromkeys(MACHINE_FORMATS, report.diff_json),
        }.get(output, report.diff_text)
    else:
        formatter = {
            "markdown": workload_diff_markdown,
            **dict.fromkeys(MACHINE_FORMATS, report.diff_json),
        }.get(output, workload_diff_text)
    text = formatter(result)
    emit(as_format(output, text) if output in MACHINE_FORMATS else text)
    report_to_actions(
        "policy diff",
        workload_diff_markdown(result),
        {"opened": len(result.opened), "closed": len(result.closed)},
    )
