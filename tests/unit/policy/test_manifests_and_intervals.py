"""Manifest loading (file:line, errors) and the interval sets for ports and addresses."""

from pathlib import Path

import pytest

from rollout.errors import InputError, PolicyError
from rollout.manifests import load_manifests, load_text
from rollout.policy.ipset import IPSet
from rollout.policy.portset import PortSet, parse_port_arg


def test_documents_keep_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "kind: Namespace\nmetadata: {name: a}\n---\n\nkind: Namespace\nmetadata: {name: b}\n"
    )
    (tmp_path / "notes.txt").write_text("ignored")
    docs = load_manifests([tmp_path])
    assert [(d.obj["metadata"]["name"], d.line) for d in docs] == [("a", 1), ("b", 5)]


def test_non_mapping_document_names_the_line() -> None:
    with pytest.raises(PolicyError, match=r"x.yaml:3: expected a Kubernetes object"):
        load_text("kind: A\n---\n- a list\n", "x.yaml")


def test_missing_path_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no such file"):
        load_manifests(["/nonexistent/path"])


def test_ipset_difference_and_cidrs() -> None:
    s = IPSet.parse("10.0.0.0/8") - IPSet.parse("10.1.0.0/16")
    assert s.contains_address("10.2.0.1") and not s.contains_address("10.1.2.3")
    assert IPSet.parse("10.1.0.0/16").issubset(IPSet.parse("10.0.0.0/8"))
    assert (s | IPSet.parse("10.1.0.0/16")).to_cidrs() == ["10.0.0.0/8"]
    assert IPSet.parse("::/0").contains_address("2001:db8::1")
    assert not IPSet.parse("::/0").contains_address("1.2.3.4")


def test_ipset_blocks_prefer_cidr_except_form() -> None:
    s = IPSet.parse("0.0.0.0/0") - IPSet.parse("10.0.0.0/8", "192.168.0.0/16")
    assert s.blocks() == [("0.0.0.0/0", ("10.0.0.0/8", "192.168.0.0/16"))]


def test_portset_intervals() -> None:
    ps = PortSet({"TCP": [(80, 80), (81, 90)], "UDP": [(53, 53)]})
    assert (85, "TCP") in ps and (53, "UDP") in ps and (53, "TCP") not in ps
    assert PortSet({"TCP": [(82, 84)]}).issubset(ps)
    assert repr(ps) == "PortSet(80-90/TCP, 53/UDP)"


def test_port_argument_parsing() -> None:
    assert parse_port_arg("5432/tcp") == (5432, "TCP")
    assert parse_port_arg("53/UDP") == (53, "UDP")
    with pytest.raises(InputError):
        parse_port_arg("70000/TCP")
