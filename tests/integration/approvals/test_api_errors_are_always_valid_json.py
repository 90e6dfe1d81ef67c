"""Every error of the HTTP API is valid JSON, whatever the request held (NaN included)."""

from __future__ import annotations

import json

import pytest
import requests

from tests.integration.approvals.conftest import Service

pytestmark = pytest.mark.integration


@pytest.fixture
def max_body_bytes() -> int:
    return 1 << 20


@pytest.mark.parametrize(
    "body",
    [
        b'{"reason": NaN}',
        b'{"reason": Infinity}',
        b'{"reason": -Infinity}',
        b'{"reason": [NaN, {"x": Infinity}]}',
        b'{"reason": 1e999}',
        b"[" * 5000 + b"]" * 5000,
        b'{"reason": "\xff"}',
        b"not json",
    ],
    ids=["nan", "inf", "-inf", "nested-nan", "overflow", "deep", "not-utf8", "not-json"],
)
def test_hold_with_a_hostile_body_answers_a_json_error(service: Service, body: bytes) -> None:
    headers = {
        "Authorization": f"Bearer {service.token('alice')}",
        "Content-Type": "application/json",
    }
    response = requests.post(
        f"{service.url}/api/v1/environments/production/hold",
        data=body,
        headers=headers,
        timeout=10,
    )
    assert response.status_code in (400, 422), response.text
    answer = json.loads(response.text)  # strict: NaN would not parse back in JS
    assert "NaN" not in response.text and "Infinity" not in response.text
    assert answer["error"]
    hold = service.store.hold_of("production")
    assert hold is None or not hold.held
