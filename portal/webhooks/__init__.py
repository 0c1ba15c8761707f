"""Toast webhooks: the receipt (ingress, service), the lane that drains stored events (lane, drain, batches) and the
failures shown to support."""
