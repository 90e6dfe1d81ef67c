"""netpol-rollout: a GitOps rollout orchestrator for Kubernetes NetworkPolicies."""

__version__ = "0.1.0"
