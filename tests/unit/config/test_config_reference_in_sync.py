"""docs/configuration.md is generated from the schema and must match it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from pydantic import BaseModel

from rollout.config.schema import Settings

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "hack" / "gen-config-docs.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_config_docs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configuration_reference_matches_the_schema() -> None:
    generated = _generator().generate()
    current = (ROOT / "docs" / "configuration.md").read_text()
    assert current == generated, "docs/configuration.md is stale: run hack/gen-config-docs.py"


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    gen = _generator()
    if model in seen:
        return seen
    seen.add(model)
    for field in model.model_fields.values():
        inner = gen._model_in(field.annotation)
        if inner is not None:
            _models(inner, seen)
    return seen


def test_every_model_and_key_is_documented() -> None:
    text = _generator().generate()
    for model in _models(Settings, set()):
        if model.__name__ != "SecretRef":
            assert f"## {model.__name__}\n" in text
        for name, field in model.model_fields.items():
            assert f"| `{field.alias or name}` |" in text, f"{model.__name__}.{name}"


def test_types_and_defaults_read_like_yaml() -> None:
    gen = _generator()
    text = gen.generate()
    assert "| `poll_interval` | duration | `1m` |" in text
    assert "| `timezone` | IANA timezone | **required** |" in text
    assert "| `namespaces` | list of DNS label | **required** |" in text
    assert "| `kind` | one of `allow`, `deny` | **required** |" in text
    assert "| `token` | secret reference | none |" in text


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    gen = _generator()  # a fresh module: redirecting its output affects nothing else
    stale = tmp_path / "configuration.md"
    stale.write_text("old\n")
    setattr(gen, "OUTPUT", stale)  # noqa: B010
    setattr(gen, "ROOT", tmp_path)  # noqa: B010
    assert gen.main(["--check"]) == 1
    assert gen.main([]) == 0
    assert gen.main(["--check"]) == 0
