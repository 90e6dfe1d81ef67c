"""`smoke-tests.yaml`: the declared expectations, validated with precise errors.

Format (documented in docs/smoke-tests.md)::

    tests:                                  # shared by every environment
      - name: web-to-api                    # optional; unique; used by `disable`
        from: {namespace: web, labels: {app: web}}
        to: {namespace: api, labels: {app: api}}   # or {service: api/backend}
                                                   # or {host: db.example.com} / {host: 10.0.0.7}
        port: 8080
        protocol: TCP                       # TCP (default) or UDP
        http: false                         # true: an HTTP GET (wget) instead of a TCP connect
        expect: allow                       # allow | deny
        timeout: 10s                        # optional; default: the environment's smoke.timeout
    environments:
      staging:
        tests: [...]                        # added for this environment only
        disable: [web-to-api, dns, cni-canary]   # names of tests or built-ins to skip
        canary_namespace: payments          # optional; default: first managed namespace
        dns_name: kubernetes.default.svc.corp.local   # optional; what the DNS built-in resolves

Errors are `ValidationError`s with one line per problem, each
`FILE: field.path: what was expected, got what`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rollout.config.loader import describe_errors
from rollout.config.schema import DnsLabel, Duration
from rollout.errors import ValidationError
from rollout.manifests import read_text_file, yaml_document

BUILTIN_DNS = "dns"
BUILTIN_CANARY = "cni-canary"
BUILTINS = (BUILTIN_DNS, BUILTIN_CANARY)

_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_HOST = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9.:]*[A-Za-z0-9])?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _check_labels(labels: dict[str, str]) -> dict[str, str]:
    for key, value in labels.items():
        if not _LABEL_KEY.match(key) or len(key.rsplit("/", 1)[-1]) > 63:
            raise ValueError(f"{key!r} is not a valid label key")
        if not isinstance(value, str) or not _LABEL_VALUE.match(value) or len(value) > 63:
            raise ValueError(f"label {key}: {value!r} is not a valid label value")
    return labels


class Workload(_Strict):
    """Pods selected by `labels` in `namespace` (empty labels: any pod there)."""

    namespace: DnsLabel
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("labels")
    @classmethod
    def _labels_ok(cls, labels: dict[str, str]) -> dict[str, str]:
        return _check_labels(labels)


class Destination(_Strict):
    """Exactly one of: `namespace` (+`labels`), `service: NS/NAME`, `host`."""

    namespace: DnsLabel | None = None
    labels: dict[str, str] | None = None
    service: str | None = None
    host: str | None = None

    @field_validator("labels")
    @classmethod
    def _labels_ok(cls, labels: dict[str, str] | None) -> dict[str, str] | None:
        return None if labels is None else _check_labels(labels)

    @field_validator("service")
    @classmethod
    def _service_ref(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[a-z0-9-]{1,63}/[a-z0-9-]{1,63}$", value):
            raise ValueError(f"expected NAMESPACE/NAME, got {value!r}")
        return value

    @field_validator("host")
    @classmethod
    def _host_ok(cls, value: str | None) -> str | None:
        if value is not None and (not _HOST.match(value) or len(value) > 253):
            raise ValueError(f"expected a host name or IP address, got {value!r}")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Destination:
        given = [k for k in ("namespace", "service", "host") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of 'namespace' (+ 'labels'), 'service' (NS/NAME) or 'host'"
                + (f", got {' and '.join(given)}" if given else "")
            )
        if self.labels is not None and self.namespace is None:
            raise ValueError("'labels' needs 'namespace'")
        return self


class Expectation(_Strict):
    """One declared expectation: traffic `from` -> `to` on `port` is allowed or denied."""

    name: str | None = None
    source: Workload = Field(alias="from")
    to: Destination
    port: int = Field(ge=1, le=65535)
    protocol: Literal["TCP", "UDP"] = "TCP"
    http: bool = False
    expect: Literal["allow", "deny"]
    timeout: Duration | None = None

    model_config = ConfigDict(populate_by_name=True)

    @field_validator("protocol", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("expect", mode="before")
    @classmethod
    def _expect_word(cls, value: Any) -> Any:
        if value not in ("allow", "deny"):
            raise ValueError(f"expected allow or deny, got {value!r}")
        return value

    @model_validator(mode="after")
    def _http_is_tcp(self) -> Expectation:
        if self.http and self.protocol != "TCP":
            raise ValueError("'http: true' needs protocol TCP")
        return self


DEFAULT_DNS_NAME = "kubernetes.default.svc.cluster.local"


class EnvironmentTests(_Strict):
    tests: tuple[Expectation, ...] = ()
    disable: tuple[str, ...] = ()
    canary_namespace: DnsLabel | None = None
    dns_name: str | None = None


class SmokeFile(_Strict):
    tests: tuple[Expectation, ...] = ()
    environments: dict[str, EnvironmentTests] = Field(default_factory=dict)
    canary_namespace: DnsLabel | None = None
    dns_name: str = DEFAULT_DNS_NAME  # what the DNS built-in resolves (FQDN: no search path)


@dataclass(frozen=True)
class NamedExpectation:
    """An expectation with its final, unique name."""

    name: str
    spec: Expectation

    @property
    def timeout(self) -> timedelta | None:
        return self.spec.timeout


@dataclass(frozen=True)
class SmokeSuite:
    """What one environment runs: its expectations and which built-ins are on."""

    environment: str
    expectations: tuple[NamedExpectation, ...]
    dns_check: bool = True
    cni_canary: bool = True
    canary_namespace: str | None = None
    dns_name: str = DEFAULT_DNS_NAME


def describe_destination(to: Destination) -> str:
    if to.service is not None:
        return f"svc/{to.service}"
    if to.host is not None:
        return to.host
    return f"{to.namespace}/{format_labels(to.labels or {})}"


def format_labels(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "*"


def default_name(exp: Expectation) -> str:
    src = f"{exp.source.namespace}/{format_labels(exp.source.labels)}"
    return f"{src} -> {describe_destination(exp.to)}:{exp.port}/{exp.protocol}"


def parse_smoke_file(raw: Any, file: str = "smoke-tests.yaml") -> SmokeFile:
    """Validate parsed YAML; ValidationError naming the file and each field path."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationError(f"{file}: expected a mapping with 'tests' and 'environments'")
    try:
        parsed = SmokeFile.model_validate(raw)
    except pydantic.ValidationError as exc:
        lines = [f"{file}: {line}" for line in describe_errors(exc, raw)]
        raise ValidationError(
            lines[0] if len(lines) == 1 else f"{file}: {len(lines)} problem(s)",
            details=[] if len(lines) == 1 else lines,
        ) from None
    return parsed


def load_smoke_file(path: Path) -> SmokeFile:
    """Read and validate `path`; a missing file is an empty spec (built-ins only)."""
    try:
        text = read_text_file(path, path.name, error=ValidationError)
    except FileNotFoundError:
        return SmokeFile()
    raw = yaml_document(text, path.name, error=ValidationError)
    return parse_smoke_file(raw, path.name)


def suite_for(
    spec: SmokeFile,
    environment: str,
    *,
    dns_check: bool = True,
    cni_canary: bool = True,
    file: str = "smoke-tests.yaml",
) -> SmokeSuite:
    """The suite `environment` runs: shared tests + its own, minus `disable`.

    `dns_check`/`cni_canary` come from the environment's `smoke` settings; the
    file's `disable` can switch them off too. ValidationError for duplicate
    names or a `disable` entry that names nothing.
    """
    env = spec.environments.get(environment, EnvironmentTests())
    problems: list[str] = []
    named: list[NamedExpectation] = []
    seen: dict[str, str] = {}
    for where, tests in (("tests", spec.tests), (f"environments.{environment}.tests", env.tests)):
        for index, exp in enumerate(tests):
            name = exp.name or default_name(exp)
            path = f"{where}[{index}].name"
            if name in BUILTINS:
                problems.append(f"{file}: {path}: {name!r} is reserved for a built-in check")
            elif name in seen:
                problems.append(f"{file}: {path}: duplicate name {name!r} (also {seen[name]})")
            seen[name] = path
            named.append(NamedExpectation(name, exp))
    disabled = set(env.disable)
    for index, name in enumerate(env.disable):
        if name not in seen and name not in BUILTINS:
            known = ", ".join([*BUILTINS, *seen]) or "none"
            problems.append(
                f"{file}: environments.{environment}.disable[{index}]: "
                f"no test or built-in named {name!r} (known: {known})"
            )
    if problems:
        raise ValidationError(
            problems[0] if len(problems) == 1 else f"{file}: {len(problems)} problem(s)",
            details=[] if len(problems) == 1 else problems,
        )
    return SmokeSuite(
        environment=environment,
        expectations=tuple(n for n in named if n.name not in disabled),
        dns_check=dns_check and BUILTIN_DNS not in disabled,
        cni_canary=cni_canary and BUILTIN_CANARY not in disabled,
        canary_namespace=env.canary_namespace or spec.canary_namespace,
        dns_name=env.dns_name or spec.dns_name,
    )
