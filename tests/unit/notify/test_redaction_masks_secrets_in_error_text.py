from __future__ import annotations

from rollout.notify.redact import redact


def test_known_values_url_credentials_and_token_shapes_are_masked() -> None:
    text = (
        "POST https://hooks.slack.com/services/T1/B2/abcDEF123 failed; "
        "https://user:hunter22@example.com/x?token=q1w2e3r4 refused; "
        "Authorization: Bearer abcdefghijkl; xoxb-123-456-abc; "
        "ghp_0123456789abcdefghijABCDEF; my-signing-key-value"
    )
    out = redact(text, ["my-signing-key-value", "abc"])
    for secret in (
        "abcDEF123",
        "hunter22",
        "q1w2e3r4",
        "abcdefghijkl",
        "xoxb-123",
        "ghp_0123",
        "my-signing-key-value",
    ):
        assert secret not in out
    assert "hooks.slack.com/***" in out
    assert "https://***@example.com" in out
    assert "failed" in out and "refused" in out


def test_short_secrets_do_not_mask_ordinary_words() -> None:
    assert redact("connection refused", ["on"]) == "connection refused"
