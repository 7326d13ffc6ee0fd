"""Mixpanel's expression language (`where`, `on`, `born_where`): parsed, then run over columns.

``compile_expression(text)`` answers a Compiled expression saying which properties it reads;
``evaluate`` runs it over a batch through a Resolver and answers a Vector (one typed value
per row), ``filter_mask`` the rows a `where` keeps. See docs/expressions.md.
"""

from trackway.query.expr.columns import property_vector
from trackway.query.expr.compile import Compiled, Resolver, compile_expression
from trackway.query.expr.errors import ExpressionError
from trackway.query.expr.segment_keys import UNDEFINED_LABEL, segment_keys
from trackway.query.expr.values import UNDEFINED, JsonObject, Timestamp
from trackway.query.expr.vector import Tag, Vector

__all__ = [
    "UNDEFINED",
    "UNDEFINED_LABEL",
    "Compiled",
    "ExpressionError",
    "JsonObject",
    "Resolver",
    "Tag",
    "Timestamp",
    "Vector",
    "compile_expression",
    "property_vector",
    "segment_keys",
]
