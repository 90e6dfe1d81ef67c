"""Malformed policies raise PolicyError naming the object and field, never a traceback."""

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rollout.cli.main import cli
from rollout.errors import PolicyError
from tests.unit.policy.builders import model, policy

CASES = [
    (
        {
            "ingress": [
                {
                    "from": [
                        {
                            "podSelector": {
                                "matchExpressions": [
                                    {"key": "app", "operator": "Equals", "values": ["x"]}
                                ]
                            }
                        }
                    ]
                }
            ]
        },
        "spec.ingress[0].from[0].podSelector.matchExpressions[0].operator",
    ),
    (
        {"podSelector": {"matchExpressions": [{"key": "app", "operator": "In"}]}},
        "spec.podSelector.matchExpressions[0].values",
    ),
    (
        {
            "podSelector": {
                "matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]
            }
        },
        "takes no values",
    ),
    (
        {"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/33"}}]}]},
        "spec.egress[0].to[0].ipBlock.cidr",
    ),
    ({"egress": [{"to": [{"ipBlock": {"cidr": "banana"}}]}]}, "not a valid CIDR"),
    (
        {"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["::1/128"]}}]}]},
        "same IP family",
    ),
    ({"ingress": [{"ports": [{"port": 70000}]}]}, "spec.ingress[0].ports[0].port"),
    ({"ingress": [{"ports": [{"port": 0}]}]}, "out of range"),
    ({"ingress": [{"ports": [{"port": 100, "endPort": 99}]}]}, "endPort: 99 is below port 100"),
    ({"ingress": [{"ports": [{"port": "http", "endPort": 99}]}]}, "endPort"),
    ({"ingress": [{"ports": [{"port": 80, "protocol": "ICMP"}]}]}, "protocol"),
    ({"ingress": [{"from": [{}]}]}, "a peer needs"),
    (
        {"ingress": [{"from": [{"ipBlock": {"cidr": "1.0.0.0/8"}, "podSelector": {}}]}]},
        "cannot be combined",
    ),
    ({"policyTypes": ["Inbound"]}, "spec.policyTypes"),
    ({"ingress": {"from": []}}, "expected a list"),
]


@pytest.mark.parametrize(("spec", "fragment"), CASES)
def test_error_names_object_and_field(spec: dict[str, Any], fragment: str) -> None:
    with pytest.raises(PolicyError) as info:
        model(policy("shop", "broken", **spec))
    message = str(info.value)
    assert "NetworkPolicy/shop/broken" in message
    assert fragment in message


def test_missing_pod_selector_is_an_error() -> None:
    obj = policy("shop", "broken")
    del obj["spec"]["podSelector"]
    with pytest.raises(PolicyError, match=r"spec\.podSelector is required"):
        model(obj)


def test_cli_prints_a_message_and_exit_code_3(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        "kind: NetworkPolicy\nmetadata: {name: broken, namespace: shop}\n"
        "spec:\n  podSelector: {}\n  ingress: [{ports: [{port: 10, endPort: 5}]}]\n"
    )
    result = CliRunner().invoke(cli, ["policy", "lint", str(tmp_path)])
    assert result.exit_code == 3
    assert "Traceback" not in result.output
    assert "NetworkPolicy/shop/broken" in result.output
    assert "p.yaml:1" in result.output


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("kind: Namespace\n---\nkind: [unclosed\n")
    result = CliRunner().invoke(cli, ["policy", "matrix", str(tmp_path)])
    assert result.exit_code == 3
    assert "bad.yaml:" in result.output and "YAML does not parse" in result.output
