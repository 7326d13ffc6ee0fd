"""Cluster: Dask execution and multi-node wiring."""
