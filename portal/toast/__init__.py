"""Toast platform API: client, payload model, webhook signature, and a local sandbox server."""
