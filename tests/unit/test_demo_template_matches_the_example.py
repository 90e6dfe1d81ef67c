"""`rollout demo` ships a copy of examples/policy-repo; the two must not drift apart."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "hack" / "sync-demo-template.py"


def _sync_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sync_demo_template", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_template_is_a_copy_of_the_example_repository() -> None:
    found = _sync_module().differences()
    assert found == [], "run hack/sync-demo-template.py:\n" + "\n".join(found)


def test_the_template_is_inside_the_package() -> None:
    import rollout.demo

    template = Path(rollout.demo.__file__).parent / "template"
    assert (template / "k8s" / "network-policies" / "smoke-tests.yaml").is_file()
