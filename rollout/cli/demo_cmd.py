"""`rollout demo`: the whole flow on an embedded example, on this machine."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import click
from rich.console import Console

from rollout.cli.help_examples import examples

EXIT_INTERRUPTED = 130
EXIT_UNEXPECTED = 1
EXIT_NO_BINARIES = 2


@examples(
    "rollout demo",
    "rollout demo --serve",
    "rollout demo --node simulated",
    "rollout demo --node real --build",
    "rollout demo -v --keep",
)
@click.command(name="demo")
@click.option("--keep", is_flag=True, help="Keep the temporary folder (logs, state, git remote).")
@click.option("--no-color", is_flag=True, help="Plain output without colours.")
@click.option(
    "--build/--no-build",
    "build",
    default=None,
    help="Build the kube binaries if missing without asking (--build) or never (--no-build); "
    "with --build also kubelet and kube-router for the real node.",
)
@click.option(
    "--node",
    type=click.Choice(["auto", "real", "simulated"]),
    default="auto",
    show_default=True,
    help="Where staging's probe pods run: the real node (a real kubelet and containerd, "
    "kube-router enforcing on real packets; root, Linux), the simulated node (the policy "
    "engine judges each connection), or auto: real when this machine can run it, else "
    "simulated, saying why.",
)
@click.option("-v", "--verbose", is_flag=True, help="Also print the webhook payloads (JSON).")
@click.option(
    "--serve",
    is_flag=True,
    help="Keep the service and its dashboard up after the story, printing the URL and a "
    "sign-in token, until Ctrl-C.",
)
def command(
    keep: bool, no_color: bool, build: bool | None, node: str, verbose: bool, serve: bool
) -> None:
    """Run the whole flow on an embedded example: two local clusters, a good
    commit to production and a bad one rolled back. Takes a minute or two."""
    # The terminal's width, or $COLUMNS (80 when neither says) in a pipe or a log.
    console = Console(no_color=no_color, highlight=False)
    sys.exit(run(console, keep=keep, build=build, node=node, verbose=verbose, serve=serve))


def run(
    console: Console,
    *,
    keep: bool,
    build: bool | None,
    node: str = "auto",
    verbose: bool = False,
    serve: bool = False,
) -> int:
    """The demo's exit code: 0 both commits behaved as expected, 1 otherwise,
    2 no kube binaries (or `--node real` where no real node can run), 130
    interrupted (Ctrl-C or SIGTERM) before the story ended."""
    # Imported here so the other commands do not pay for uvicorn, the store and the engine.
    from rollout.demo.nodes import NODE_CHOICES, NodeUnavailable, choose_node
    from rollout.demo.runner import DemoFailed, DemoRunner
    from rollout.demo.view import DemoView
    from rollout.devcluster import binaries as kube
    from rollout.devcluster import node_config
    from rollout.devcluster.errors import HarnessError, KubeBinariesMissing
    from rollout.errors import RolloutError

    view = DemoView(console, verbose=verbose)
    try:
        found = kube.KubeBinaries.discover()
    except KubeBinariesMissing as exc:
        script = kube.build_script()
        if script is None or build is False:
            view.error(f"{exc}\n`rollout demo` needs them; build them from a source checkout.")
            return EXIT_NO_BINARIES
        if build is None and not _confirm(
            f"The demo needs etcd and kube-apiserver: {kube.BUILD_NOTE}. Build now?"
        ):
            view.error(str(exc))
            return EXIT_NO_BINARIES
        try:
            found = kube.build(script, echo=console.print)
        except KubeBinariesMissing as failed:
            view.error(str(failed))
            return EXIT_NO_BINARIES

    requested = next(c for c in NODE_CHOICES if c == node)

    def build_node() -> str:
        """Build kubelet and kube-router if allowed; what is still missing for a real node.
        `auto` builds only with --build (it takes tens of minutes); `real` asks first."""
        allowed = build is True or (
            build is None
            and requested == "real"
            and _confirm(
                "--node real needs kubelet and kube-router: "
                f"{node_config.NODE_BUILD_NOTE}. Build now?"
            )
        )
        if not allowed:
            return node_config.missing_for_real_node()
        return node_config.build_node_binaries(echo=console.print)

    try:
        choice = choose_node(requested, can_run=node_config.missing_for_real_node, build=build_node)
    except NodeUnavailable as exc:
        view.error(f"--node real: {exc}")
        return EXIT_NO_BINARIES

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    view.intro()
    runner = DemoRunner(view, found, keep=keep, serve=serve, node=choice, node_requested=requested)
    try:
        return 0 if runner.run() else EXIT_UNEXPECTED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except (DemoFailed, HarnessError, RolloutError) as exc:
        view.error(str(exc))
        return EXIT_UNEXPECTED
    finally:
        signal.signal(signal.SIGTERM, previous)


def _confirm(question: str) -> bool:
    """Ask in a terminal; yes when nobody can answer."""
    if not sys.stdin.isatty():
        return True  # README: `rollout demo` must work as written on a fresh clone
    return click.confirm(question, default=True)
