"""`rollout demo`: the whole flow on an embedded example (see `runner`)."""
