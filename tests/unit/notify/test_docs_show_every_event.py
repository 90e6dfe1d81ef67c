"""docs/notifications.md shows a valid, current example of every event type."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rollout.core.events import EventType, event_from_json, event_to_json

DOC = Path(__file__).parents[3] / "docs" / "notifications.md"


def test_every_event_has_an_example_that_round_trips() -> None:
    text = DOC.read_text()
    examples = dict(re.findall(r"#### `([a-z_.]+)`\n\n```json\n(.*?)\n```", text, re.S))
    assert set(examples) == {e.value for e in EventType}
    for name, raw in examples.items():
        doc = json.loads(raw)
        assert doc["type"] == name
        assert event_to_json(event_from_json(doc)) == doc, name
