"""`rollout demo`: the whole flow on this machine, in about a minute.

Everything lives under one temporary folder, removed at the end (also on
Ctrl-C/SIGTERM; `keep` leaves it for inspection): two development clusters
(real etcd + kube-apiserver, `rollout.devcluster`) for staging and
production; staging on the real node when this machine can run one (real
containers and packets, kube-router enforcing; `rollout.demo.nodes`),
production (and staging otherwise) on a simulated node that runs probe pods
and judges connections with the policy engine; a bare git remote and a work tree from
the packaged example repository; a local receiver for the signed webhooks;
and the service itself, in-process, with the demo configuration.

Then two commits are pushed. The first adds a policy and goes through
staging, smoke tests, an approval (a real HTTP request with a member token)
and production. The second has a typo that breaks a staging flow: its smoke
tests fail and staging is rolled back automatically. `run()` says whether
both ended as expected.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import uvicorn
import yaml

from rollout.cluster_ops import ClusterOps
from rollout.config import load_config
from rollout.config.schema import Settings
from rollout.demo import scenario, world
from rollout.demo.nodes import NodeChoice, NodeRequest
from rollout.demo.receiver import WebhookReceiver, of_rollout
from rollout.demo.scenario import DemoFailed
from rollout.demo.view import DemoView, Failure
from rollout.devcluster.apiserver import ApiServer
from rollout.devcluster.binaries import KubeBinaries
from rollout.devcluster.errors import RealNodeUnavailable
from rollout.devcluster.processes import free_ports
from rollout.devcluster.real_node import RealNode, another_node_runs
from rollout.render import KUSTOMIZE_ENV
from rollout.server.auth import hash_token, new_token
from rollout.service import Service
from rollout.store.records import RolloutRecord, StageEvent
from rollout.wiring import git_for

TERMINAL = frozenset(
    {"done", "invalid", "staging_failed", "rejected", "superseded", "production_failed"}
)
ROLLOUT_TIMEOUT = 75.0  # seconds for one commit, detection to a final state
DELIVERY_WAIT = 8.0  # seconds to wait for the last webhook of a rollout


SIMULATED = NodeChoice("simulated", "--node simulated")

__all__ = ["DemoFailed", "DemoRunner"]


class DemoRunner:
    """Set up, run both commits, tear down. `run()` -> True when both behaved as expected."""

    def __init__(
        self,
        view: DemoView,
        binaries: KubeBinaries,
        *,
        keep: bool = False,
        serve: bool = False,
        node: NodeChoice = SIMULATED,
        node_requested: NodeRequest = "simulated",
    ) -> None:
        """`node`: where staging runs; with `node_requested` "auto", a real node held by
        another process on this machine makes staging fall back to the simulated node."""
        self.view = view
        self.binaries = binaries
        self.node = node
        self._node_requested = node_requested
        self.keep = keep
        self.serve = serve
        self.root: Path | None = None
        self._stack = ExitStack()
        self._token = new_token()
        self._secret = secrets.token_hex(16)
        self._service: Service | None = None
        self._settings: Settings | None = None
        self._receiver: WebhookReceiver | None = None
        self._repository: world.PolicyRepository | None = None
        self._url = ""
        self._production: ApiServer | None = None

    # -- the whole run -------------------------------------------------------------------------

    def run(self) -> bool:
        started = time.monotonic()
        self.root = Path(tempfile.mkdtemp(prefix="netpol-demo-"))
        try:
            self._set_up()
            results = [
                self._scenario(number, change)
                for number, change in enumerate(scenario.CHANGES, start=1)
            ]
            ok = all(results)
            self.view.finished(ok, time.monotonic() - started, results)
            if self.serve:
                self._serve_until_interrupted()
            return ok
        except BaseException as exc:
            self.view.cleaning_up(interrupted=isinstance(exc, KeyboardInterrupt))
            raise
        finally:
            self.clean_up()

    def clean_up(self) -> None:
        """Stop the service, the nodes, the apiservers; remove the temporary folder.

        A second Ctrl-C (or a SIGTERM) while this runs is ignored, so cleaning up
        always finishes.
        """
        in_main = threading.current_thread() is threading.main_thread()
        signals = (signal.SIGINT, signal.SIGTERM) if in_main else ()
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in signals}
        try:
            self._stack.close()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if self._settings is not None:
                # The service's mirror of the demo remote lives in the user's cache.
                shutil.rmtree(git_for(self._settings.repository).path, ignore_errors=True)
            if self.root is not None:
                if self.keep:
                    self.view.kept(self.root)
                else:
                    shutil.rmtree(self.root, ignore_errors=True)
                self.root = None

    # -- set-up ------------------------------------------------------------------------------

    def _set_up(self) -> None:
        root = self._require_root()
        logging.getLogger().addHandler(self._log_handler(root / "service.log"))
        with self.view.step("starting staging and production apiservers (etcd + kube-apiserver)"):
            clusters = world.start_clusters(self.binaries, root, self._stack)
        self._production = clusters[1].server
        staging, production = clusters
        if self.node.real:
            self._start_real_node(staging)
        with self.view.step("starting the simulated node" + ("" if self.node.real else "s")):
            if not self.node.real:
                world.start_node(staging, self._stack, real=False, lock_timeout=0)
            world.start_node(production, self._stack, real=False, lock_timeout=0)
        self.view.node_choice(self.node)
        with self.view.step("creating namespaces and workloads"):
            for cluster in clusters:
                world.populate(cluster)
        with self.view.step("creating the policy repository from the example"):
            repository = self._repository = world.PolicyRepository(root)
            initial = repository.commit("Initial policies (examples/policy-repo)")
        self._receiver = self._stack.enter_context(WebhookReceiver(self._secret))
        os.environ[scenario.WEBHOOK_SECRET_ENV] = self._secret
        self._stack.callback(os.environ.pop, scenario.WEBHOOK_SECRET_ENV, None)
        if not (shutil.which("kustomize") or shutil.which("kubectl")):
            os.environ[KUSTOMIZE_ENV] = f"{self.binaries.kubectl} kustomize"
            self._stack.callback(os.environ.pop, KUSTOMIZE_ENV, None)
        port = free_ports(1)[0]
        self._url = f"http://127.0.0.1:{port}"
        config = scenario.service_config(
            remote=repository.remote,
            staging_kubeconfig=clusters[0].server.kubeconfig_path,
            production_kubeconfig=clusters[1].server.kubeconfig_path,
            store_path=root / "state.db",
            listen=f"127.0.0.1:{port}",
            webhook_url=self._receiver.url,
            staging_probe_image=staging.node.probe_image
            if isinstance(staging.node, RealNode)
            else None,
        )
        config_path = root / "rollout.yaml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        settings = self._settings = load_config(config_path)
        with self.view.step("deploying the initial policies to both clusters"):
            self._bootstrap(settings, initial)
        with self.view.step(f"starting the service on {self._url}"):
            self._start_service(settings, root)
        self.view.setup_done(
            root=root,
            url=self._url,
            webhook=self._receiver.url,
            approver=scenario.APPROVER,
            smoke_timeout=scenario.SMOKE_TIMEOUT,
            node=self.node,
        )

    def _start_real_node(self, staging: world.Cluster) -> None:
        """The real node for staging; with --node auto, a real node already running on
        this machine (one per machine) makes staging use the simulated node instead."""
        auto = self._node_requested == "auto"
        if not auto and another_node_runs():
            self.view.say(
                "[yellow]another real node runs on this machine (one per machine): "
                "waiting for it to stop[/]"
            )
        try:
            with self.view.step(
                "starting the real node for staging (kubelet, containerd, kube-router)"
            ):
                world.start_node(staging, self._stack, real=True, lock_timeout=0 if auto else 900)
        except RealNodeUnavailable as exc:
            if not auto:
                raise
            self.node = NodeChoice("simulated", str(exc))

    def _log_handler(self, path: Path) -> logging.Handler:
        handler = logging.FileHandler(path)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root_logger = logging.getLogger()
        previous = root_logger.level
        root_logger.setLevel(logging.INFO)

        def remove() -> None:
            root_logger.removeHandler(handler)
            root_logger.setLevel(previous)
            handler.close()

        self._stack.callback(remove)
        return handler

    def _bootstrap(self, settings: Settings, sha: str) -> None:
        git = git_for(settings.repository)
        git.fetch()
        ops = ClusterOps(settings, git, clock=_utc_now)
        try:
            for env in settings.environments:
                result = ops.apply(env.name, sha, "demo-bootstrap")
                if not result.ok:
                    raise DemoFailed(f"bootstrapping {env.name} failed: {result.summary}")
        finally:
            ops.close()

    def _start_service(self, settings: Settings, root: Path) -> None:
        service = self._service = Service(
            settings, base_dir=root, identity="demo", clock=_utc_now, tick=0.5
        )
        store = service.store
        store.create_token(scenario.APPROVER, hash_token(self._token))
        host, _, port = settings.server.listen.rpartition(":")
        server = uvicorn.Server(
            uvicorn.Config(service.app, host=host, port=int(port), log_config=None)
        )
        thread = threading.Thread(target=server.run, name="demo-http", daemon=True)

        def stop() -> None:
            server.should_exit = True
            thread.join(timeout=10)
            service.shutdown()

        self._stack.callback(stop)
        thread.start()
        service.start_leading()
        _wait(lambda: _ready(self._url), 20, "the service to answer /readyz")

    # -- one commit ------------------------------------------------------------------------------

    def _serve_until_interrupted(self) -> None:
        """Keep the service up for the browser until Ctrl-C (or SIGTERM); then clean up."""
        self.view.serving(self._url, scenario.APPROVER, self._token)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            self.view.cleaning_up(interrupted=False)

    def _scenario(self, number: int, change: scenario.Change) -> bool:
        service = self._require_service()
        receiver = self._require_receiver()
        self.view.scenario(number, change)
        repository = self._require_repository()
        change.edit(repository.policies)
        sha = repository.commit(change.message)
        self.view.pushed(sha, change.message, scenario.AUTHOR[0])
        rollout = self._wait_rollout(sha)
        shown: set[str] = set()
        with self.view.pipeline(rollout.id) as pipeline:
            timeout = ROLLOUT_TIMEOUT * (2 if self.node.real else 1)  # real pods, real waits
            deadline = time.monotonic() + timeout
            last_event = 0
            while True:
                current = service.store.get_rollout(rollout.id)
                assert current is not None
                pipeline.state("detected")
                # States from the recorded transitions, so a quick one is never missed.
                for event in service.store.events(rollout_id=rollout.id)[last_event:]:
                    if event.kind == "state.changed":
                        pipeline.state(str(event.details.get("to")))
                    else:
                        pipeline.event(event)
                    last_event += 1
                self._show_artifacts(current, shown)
                if current.state == "awaiting_approval" and "approval" not in shown:
                    shown.add("approval")
                    self._approve(current)
                if current.state in TERMINAL:
                    break
                if time.monotonic() > deadline:
                    self.view.timed_out(current.state, timeout)
                    return False
                time.sleep(0.2)
        if current.state == "staging_failed" and isinstance(current.smoke, dict):
            self.view.failure(
                Failure(
                    changed=repository.changed_lines(sha),
                    smoke=current.smoke.get("staging") or {},
                    rolled_back_to=_rolled_back_to(service.store.events(rollout_id=rollout.id)),
                )
            )
        # This rollout's notifications only: a previous rollout's late ones are not its own.
        _wait(lambda: self._delivered(rollout.id), DELIVERY_WAIT, None)
        mine = of_rollout(receiver.take(0), rollout.id)
        self.view.webhooks(mine, scenario.WEBHOOK_NAME)
        if current.state == "done":
            self.view.production(self._production_summary(current))
        self.view.audit(service.store.events(rollout_id=rollout.id))
        ok = current.state == change.expect
        self.view.outcome(change, current.state, ok)
        return ok

    def _wait_rollout(self, sha: str) -> RolloutRecord:
        service = self._require_service()
        found: list[RolloutRecord] = []

        def detected() -> bool:
            found[:] = [r for r in service.store.list_rollouts() if r.commit_sha == sha]
            return bool(found)

        with self.view.waiting("waiting for the service to detect the commit (git poll: 1s)"):
            _wait(detected, 30, f"a rollout for {sha[:12]}")
        return found[0]

    def _delivered(self, rollout_id: str) -> bool:
        """Every webhook notification of the rollout was delivered (or gave up)."""
        items = self._require_service().store.outbox_items(rollout_id=rollout_id)
        wanted = f"webhook:{scenario.WEBHOOK_NAME}"
        return all(item.status != "pending" for item in items if item.channel == wanted)

    def _show_artifacts(self, rollout: RolloutRecord, shown: set[str]) -> None:
        if isinstance(rollout.diff, dict) and "diff" not in shown:
            shown.add("diff")
            self.view.diff(rollout.environment, rollout.diff, rollout.lint)
        if isinstance(rollout.smoke, dict):
            for env, entry in rollout.smoke.items():
                if f"smoke:{env}" not in shown and isinstance(entry, dict):
                    shown.add(f"smoke:{env}")
                    self.view.smoke(env, entry)

    def _approve(self, rollout: RolloutRecord) -> None:
        url = f"{self._url}/api/v1/rollouts/{rollout.id}/approve"
        response = requests.post(
            url,
            headers={"Authorization": f"Bearer {self._token}", "X-Request-Id": "demo-approval"},
            timeout=10,
        )
        self.view.approval(
            approver=scenario.APPROVER,
            url=url,
            token=self._token,
            status=response.status_code,
            body=_json_or_text(response),
        )

    def _production_summary(self, rollout: RolloutRecord) -> dict[str, Any]:
        service = self._require_service()
        applied = [
            dict(e.details)
            for e in service.store.events(rollout_id=rollout.id, kinds=["state.changed"])
            if e.details.get("to") == "production_applied"
        ]
        policies: list[str] = []
        if self._production is not None:
            items = self._production.rest().get("/apis/networking.k8s.io/v1/networkpolicies")
            policies = sorted(
                f"{p['metadata']['namespace']}/{p['metadata']['name']}"
                for p in items.get("items", [])
            )
        return {
            "sha": rollout.commit_sha,
            "details": applied[-1] if applied else {},
            "policies": policies,
        }

    # -- small helpers -------------------------------------------------------------------------

    def _require_root(self) -> Path:
        assert self.root is not None
        return self.root

    def _require_repository(self) -> world.PolicyRepository:
        assert self._repository is not None
        return self._repository

    def _require_service(self) -> Service:
        assert self._service is not None
        return self._service

    def _require_receiver(self) -> WebhookReceiver:
        assert self._receiver is not None
        return self._receiver


def _rolled_back_to(events: list[StageEvent]) -> str | None:
    for event in reversed(events):
        if event.kind == "rollback" and event.details.get("to"):
            return str(event.details["to"])
    return None


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/readyz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _wait(check: Callable[[], bool], timeout: float, what: str | None) -> bool:
    """Poll `check`; False after `timeout` seconds, or DemoFailed naming `what` if given."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            if what is not None:
                raise DemoFailed(f"timed out after {timeout:.0f}s waiting for {what}")
            return False
        time.sleep(0.2)
    return True


def _json_or_text(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
