"""Helpers for the end-to-end tests: a fake CNI, signed Slack clicks, config builders."""
