"""Guest profiles: identity resolution, per-guest figures kept current as orders arrive, pages and exports.

The blueprint and its routes are in ``blueprint.py``."""
