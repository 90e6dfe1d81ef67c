"""Re-export: the PKI moved to `rollout.devcluster.certs` (the demo needs it too)."""

from rollout.devcluster.certs import SERVING_DNS_NAMES, SERVING_IPS, Pki, write_pki

__all__ = ["SERVING_DNS_NAMES", "SERVING_IPS", "Pki", "write_pki"]
