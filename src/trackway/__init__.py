"""trackway: a self-hosted product-analytics database that speaks Mixpanel's HTTP API."""

__version__ = "0.1.0"
