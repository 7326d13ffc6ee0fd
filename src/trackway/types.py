"""Type aliases shared across layers: ASGI's (matching Starlette's) and the numpy arrays the
columnar code passes around."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import numpy as np
import numpy.typing as npt

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# [start, end) in UTC milliseconds.
TimeRange = tuple[int, int]

# One-dimensional columns (and the odd 2-D grid) by element type.
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
BOOL = npt.NDArray[np.bool_]
