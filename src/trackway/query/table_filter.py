"""A compiled ``where`` as a row filter over an Arrow table of stored events (raw export)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trackway.query.expr import ExpressionError, compile_expression
from trackway.query.shard_view import ShardView
from trackway.storage.scan import ShardScan


def table_filter(
    where: str, property_columns: dict[str, list[str]]
) -> Callable[[pa.Table], npt.NDArray[np.bool_]]:
    compiled = compile_expression(where)  # a syntax error surfaces before streaming starts
    if compiled.user_properties or compiled.cohorts:
        # Raw export returns events as sent: profiles and cohorts belong to the reports.
        raise ExpressionError(
            "Expected a `where` over event properties only in raw export: "
            "user[...] and cohort(...) are for reports"
        )

    def keep(table: pa.Table) -> npt.NDArray[np.bool_]:
        columns = {name: table.column(name).combine_chunks() for name in table.column_names}
        view = ShardView(ShardScan(-1, columns), property_columns)
        return compiled.filter_mask(view, table.num_rows)

    return keep
