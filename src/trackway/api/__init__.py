"""API: the query HTTP endpoints, Mixpanel's shapes (``mixpanel/``) and trackway's own
(``native/``), thin adapters over ``trackway.services``. See docs/api.md."""
