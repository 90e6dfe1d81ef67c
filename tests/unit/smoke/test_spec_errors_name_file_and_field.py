"""smoke-tests.yaml is validated like the config: each problem names file and field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollout.errors import ValidationError
from rollout.smoke.spec import load_smoke_file, parse_smoke_file, suite_for

WEB = {"namespace": "web", "labels": {"app": "web"}}


def _test(**overrides: object) -> dict[str, object]:
    return {
        "from": WEB,
        "to": {"service": "api/backend"},
        "port": 80,
        "expect": "allow",
        **overrides,
    }


def _problems(raw: object) -> str:
    with pytest.raises(ValidationError) as caught:
        parse_smoke_file(raw)
    return str(caught.value)


def test_misspelled_expect_names_the_field_path() -> None:
    text = _problems({"tests": [_test(), _test(), _test(), _test(expect="allwo")]})
    assert text == "smoke-tests.yaml: tests[3].expect: expected allow or deny, got 'allwo'"


def test_every_problem_is_listed_with_its_path() -> None:
    text = _problems(
        {
            "tests": [
                _test(
                    to={"host": "x.example", "namespace": "a"},
                    port=0,
                    protocol="sctp",
                    timeout="soon",
                    colour="blue",
                )
            ]
        }
    )
    assert "tests[0].to: give exactly one of 'namespace'" in text
    assert "tests[0].port: must be >= 1, got 0" in text
    assert "tests[0].protocol: expected one of 'TCP' or 'UDP', got 'SCTP'" in text
    assert "tests[0].timeout: expected a duration" in text
    assert "tests[0].colour: unknown key" in text


def test_missing_from_and_bad_labels() -> None:
    text = _problems(
        {
            "tests": [
                {
                    "to": {"namespace": "api", "labels": {"bad key": "x"}},
                    "port": 1,
                    "expect": "deny",
                }
            ]
        }
    )
    assert "tests[0].from: required, but missing" in text
    assert "tests[0].to.labels: 'bad key' is not a valid label key" in text


def test_environment_overrides_add_and_disable() -> None:
    spec = parse_smoke_file(
        {
            "tests": [_test(name="shared"), _test(name="noisy", expect="deny")],
            "environments": {
                "staging": {"tests": [_test(name="extra")], "disable": ["noisy", "cni-canary"]}
            },
        }
    )
    staging = suite_for(spec, "staging")
    assert [e.name for e in staging.expectations] == ["shared", "extra"]
    assert staging.dns_check and not staging.cni_canary
    production = suite_for(spec, "production", dns_check=False)
    assert [e.name for e in production.expectations] == ["shared", "noisy"]
    assert not production.dns_check and production.cni_canary


def test_disable_of_unknown_name_and_duplicate_names_are_errors() -> None:
    spec = parse_smoke_file(
        {
            "tests": [_test(name="a"), _test(name="a")],
            "environments": {"staging": {"disable": ["b"]}},
        }
    )
    with pytest.raises(ValidationError) as caught:
        suite_for(spec, "staging")
    text = str(caught.value)
    assert "tests[1].name: duplicate name 'a' (also tests[0].name)" in text
    assert "environments.staging.disable[0]: no test or built-in named 'b'" in text


def test_unnamed_tests_get_a_readable_default_name() -> None:
    suite = suite_for(parse_smoke_file({"tests": [_test()]}), "staging")
    assert suite.expectations[0].name == "web/app=web -> svc/api/backend:80/TCP"


def test_missing_file_means_built_ins_only_and_bad_yaml_names_the_line(tmp_path: Path) -> None:
    assert load_smoke_file(tmp_path / "smoke-tests.yaml").tests == ()
    bad = tmp_path / "smoke-tests.yaml"
    bad.write_text("tests:\n  - from: [\n")
    with pytest.raises(ValidationError, match=r"smoke-tests.yaml:\d+:\d+: not valid YAML"):
        load_smoke_file(bad)
