"""The threads a query's per-shard work runs on: kernels release the GIL, so shards run in
parallel on every core."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="trackway-query")
