"""Text to tokens: one pass, no backtracking, every token remembering where it started."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum

from trackway.query.expr.errors import MAX_LENGTH, MAX_STRING_LENGTH, ExpressionError


class Kind(Enum):
    NUMBER = "number"
    STRING = "string"
    NAME = "name"
    OPERATOR = "operator"
    END = "end"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str  # as written; for a NAME the keyword spelling is normalised by the parser
    value: int | float | str | None
    position: int

    def describe(self) -> str:
        """How an error message names this token."""
        if self.kind is Kind.END:
            return "end of expression"
        shown = self.text if len(self.text) <= 24 else self.text[:20] + "…"
        return f"`{shown}`"


# Longest first so `>=` wins over `>`.
OPERATORS = ("==", "!=", ">=", "<=", ">", "<", "+", "-", "*", "/", "%", "(", ")", "[", "]", ",")
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGITS = "0123456789"
_DIGITS_NONEMPTY = tuple(_DIGITS)
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACE = re.compile(r"[ \t\r\n]+")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "/": "/", "n": "\n", "t": "\t", "r": "\r"}
_ESCAPES |= {"b": "\b", "f": "\f"}
# Hints for the operators people bring from other languages.
_HINTS = {"=": "`==`", "!": "`not` or `!=`", "&": "`and`", "|": "`or`"}


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text`` ending with an END token; ExpressionError on anything else."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"Expression is {len(text)} characters long; the limit is {MAX_LENGTH}"
        )
    tokens: list[Token] = []
    pos = 0
    while True:
        space = _SPACE.match(text, pos)
        if space:
            pos = space.end()
        if pos >= len(text):
            tokens.append(Token(Kind.END, "", None, pos))
            return tokens
        char = text[pos]
        if char in "\"'":
            token = _string(text, pos)
        elif char in _DIGITS or (char == "." and text[pos + 1 : pos + 2] in _DIGITS_NONEMPTY):
            token = _number(text, pos)
        elif name := _NAME.match(text, pos):
            token = Token(Kind.NAME, name.group(), name.group(), pos)
        else:
            token = _operator(text, pos)
        tokens.append(token)
        pos = token.position + len(token.text)


def _operator(text: str, pos: int) -> Token:
    for op in OPERATORS:
        if text.startswith(op, pos):
            return Token(Kind.OPERATOR, op, op, pos)
    char = text[pos]
    hint = _HINTS.get(char)
    expected = f"Unexpected character `{char}`" + (f" (did you mean {hint}?)" if hint else "")
    raise ExpressionError.at(text, pos, expected)


def _number(text: str, pos: int) -> Token:
    match = _NUMBER.match(text, pos)
    assert match is not None  # the caller saw a digit
    literal = match.group()
    end = match.end()
    if end < len(text) and (text[end].isalnum() or text[end] in "_."):
        raise ExpressionError.at(text, end, "Expected an operator after a number", f"`{text[end]}`")
    value: int | float
    # Kept exact even at 2**63, which only fits int64 once the parser has negated it.
    if literal.isdigit() and len(literal) <= 20:
        value = int(literal)
    else:
        value = float(literal)
        if not math.isfinite(value):
            raise ExpressionError.at(text, pos, "Expected a finite number", f"`{literal}`")
    return Token(Kind.NUMBER, literal, value, pos)


def _string(text: str, pos: int) -> Token:
    quote = text[pos]
    chars: list[str] = []
    i = pos + 1
    while True:
        end = _next_special(text, i, quote)
        if end < 0:
            raise ExpressionError.at(text, pos, "Unterminated string literal")
        chars.append(text[i:end])
        if text[end] == quote:
            value = "".join(chars)
            if len(value) > MAX_STRING_LENGTH:
                raise ExpressionError.at(
                    text, pos, f"String literal longer than {MAX_STRING_LENGTH} characters"
                )
            if _SURROGATE.search(value):
                # Text is UTF-8 everywhere downstream; an unpaired surrogate has no encoding.
                raise ExpressionError.at(text, pos, "String literal holds an unpaired surrogate")
            return Token(Kind.STRING, text[pos : end + 1], value, pos)
        decoded, i = _escape(text, end)
        chars.append(decoded)


def _next_special(text: str, start: int, quote: str) -> int:
    """Index of the next closing quote or backslash at or after ``start``; -1 if none."""
    q, b = text.find(quote, start), text.find("\\", start)
    if q < 0 or b < 0:
        return max(q, b)
    return min(q, b)


def _escape(text: str, pos: int) -> tuple[str, int]:
    """The character a backslash escape at ``pos`` stands for, and where the text resumes."""
    code = text[pos + 1 : pos + 2]
    if code in _ESCAPES:
        return _ESCAPES[code], pos + 2
    if code == "u":
        digits = text[pos + 2 : pos + 6]
        if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
            unit = int(digits, 16)
            low = text[pos + 8 : pos + 12] if text.startswith("\\u", pos + 6) else ""
            # A surrogate pair written as two escapes is one character, as in JSON.
            if 0xD800 <= unit < 0xDC00 and len(low) == 4 and _is_low_surrogate(low):
                pair = 0x10000 + ((unit - 0xD800) << 10) + (int(low, 16) - 0xDC00)
                return chr(pair), pos + 12
            return chr(unit), pos + 6
        raise ExpressionError.at(text, pos, "Expected four hex digits after `\\u`")
    found = f"`\\{code}`" if code else "end of expression"
    raise ExpressionError.at(text, pos, "Expected a valid escape sequence", found)


def _is_low_surrogate(digits: str) -> bool:
    try:
        return 0xDC00 <= int(digits, 16) < 0xE000
    except ValueError:
        return False
