"""Guest value in the portal: per-organization fits of the predictive models (portal.predict) on SQL summaries of
the guest profiles, per-guest scores written back in bulk, and reads of both for pages, exports and segments."""
