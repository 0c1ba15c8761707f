"""Toast platform API: client, payload model, webhook signature."""
