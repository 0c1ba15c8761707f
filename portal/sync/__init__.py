"""The sync engine: Toast data into the portal's tables (config refresh, backfill, poll, webhooks)."""
