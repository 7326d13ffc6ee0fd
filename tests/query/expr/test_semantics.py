"""Golden cases: each operator and function against the rules in docs/expressions.md."""

from __future__ import annotations

from typing import Any

import pytest

from tests.query.expr.batch import Batch, run
from tests.reference.expressions import Row, same
from trackway.query.expr import UNDEFINED, JsonObject, Timestamp, compile_expression

U = UNDEFINED
# One row with a property of every type; `missing` is never set.
ROW = {
    "int": 7,
    "neg": -7,
    "float": 2.5,
    "zero": 0,
    "str": "Chrome",
    "num_str": "12.5",
    "empty": "",
    "false_str": "false",
    "yes": True,
    "no": False,
    "null": None,
    "list": ("a", 1, True, None),
    "obj": JsonObject('{"k":1}'),
    "big": 2**60 + 1,
    "edge": 2**53 + 1,
    "edge_float": 2.0**53,
    "date": "2024-02-29T12:00:00",
}
P = 'properties["{}"]'.format


def case(text: str, expected: Any, id: str) -> Any:
    return pytest.param(text, expected, id=id)


CASES = [
    # arithmetic: two numbers or undefined; non-finite results undefined
    case(f"{P('int')} + 1", 8, "int plus int"),
    case(f"{P('float')} * 2", 5.0, "float times int"),
    case(f"{P('int')} - {P('float')}", 4.5, "minus"),
    case(f"{P('int')} / 2", 3.5, "divide"),
    case(f"{P('int')} / 0", U, "divide by zero"),
    case("0 / 0", U, "zero by zero"),
    case(f"{P('int')} % 0", U, "modulo zero"),
    case(f"{P('neg')} % 3", -1.0, "modulo sign follows the dividend"),
    case(f"7 % {P('neg')}", 0.0, "modulo by a negative"),
    case("5.5 % 2", 1.5, "float modulo"),
    case(f"{P('num_str')} + 1", U, "a numeric string is not a number"),
    case(f"{P('missing')} + 1", U, "undefined plus"),
    case(f"{P('null')} * 1", U, "null times"),
    case(f"{P('yes')} + 1", U, "boolean plus"),
    case("1e308 * 10", U, "overflow"),
    case(f'{P("str")} + "!"', "Chrome!", "string concatenation"),
    case(f"{P('str')} + 1", U, "string plus number"),
    case(f"-{P('int')}", -7, "unary minus"),
    case(f"-{P('str')}", U, "unary minus of a string"),
    case(f"-{P('big')}", -(2**60) - 1, "unary minus keeps int64 exact"),
    # equality: always boolean, different types unequal
    case(f"{P('int')} == 7", True, "int equals int"),
    case(f"{P('int')} == 7.0", True, "int equals float"),
    case(f'{P("int")} == "7"', False, "number never equals a string"),
    case(f"{P('yes')} == 1", False, "true is not 1"),
    case(f'{P("missing")} == "x"', False, "undefined equals nothing but undefined"),
    case(f'{P("missing")} != "x"', True, "undefined is unequal to a string"),
    case(f"{P('missing')} == {P('missing2')}", True, "undefined equals undefined"),
    case(f"{P('null')} == null", True, "null equals null"),
    case(f"{P('missing')} == null", False, "undefined is not null"),
    case(f'{P("list")} == ["a", 1, true, null]', True, "lists compare item by item"),
    case(f'{P("list")} == ["a", 1, true]', False, "lists of different lengths"),
    case(f"{P('obj')} == {P('obj')}", True, "an object equals itself"),
    case(f"{P('big')} == 1152921504606846977", True, "int64 equality is exact"),
    case(f"{P('big')} == 1152921504606846976", False, "beyond 2**53 a neighbour differs"),
    case(f"{P('big')} == 1152921504606846976.0", False, "int against float exactly"),
    case(f"{P('edge')} == 9007199254740992.0", False, "2**53 + 1 is not the float 2**53"),
    case(f"{P('edge')} + 0 == 9007199254740992.0", True, "arithmetic is float64"),
    # ordering: numbers or datetimes, else undefined
    case(f"{P('int')} > 5", True, "greater"),
    case(f"{P('int')} >= 7", True, "greater or equal"),
    case(f"{P('float')} < 2", False, "less"),
    case(f"{P('float')} <= 2.5", True, "less or equal"),
    case(f'{P("str")} > "A"', U, "strings do not order"),
    case(f'{P("int")} > "5"', U, "mixed types do not order"),
    case(f"{P('missing')} < 1", U, "undefined does not order"),
    case(f"{P('big')} > 1152921504606846976", True, "ordering is exact beyond 2**53"),
    case(f"{P('big')} > 1152921504606846976.0", True, "int against float ordering"),
    case(f"{P('edge')} > 9007199254740992.0", True, "2**53 + 1 is above the float 2**53"),
    case(f"{P('edge')} <= {P('edge_float')}", False, "two columns, exactly"),
    case('datetime("2024-01-01") < datetime("2024-01-02")', True, "datetimes order"),
    case('event["$time"] > 1', U, "a datetime and a number do not order"),
    # in
    case(f'"hro" in {P("str")}', True, "substring"),
    case(f'"x" in {P("str")}', False, "not a substring"),
    case(f'"" in {P("str")}', True, "the empty string is in every string"),
    case(f"{P('int')} in {P('str')}", U, "number in string"),
    case(f'{P("str")} in ["Safari", "Chrome"]', True, "membership"),
    case(f"{P('int')} in [1, 7.0]", True, "membership with == rules"),
    case(f'{P("int")} in ["7"]', False, "membership is type-strict"),
    case(f"{P('missing')} in [1, 2]", False, "undefined is in no list"),
    case(f"{P('null')} in [null]", True, "null in a list with null"),
    case(f"{P('yes')} in [1]", False, "true is not 1 in a list either"),
    case(f"1 in {P('list')}", True, "membership in a list property"),
    case(f'"b" in {P("list")}', False, "not a member of a list property"),
    case("[1] in [[1], 2]", True, "nested list literal"),
    case(f'"a" not in {P("str")}', True, "not in"),
    case(f"1 not in {P('str')}", True, "not in where in is undefined"),
    case(f"{P('str')} in {P('missing')}", U, "in undefined"),
    # and / or / not
    case(f"{P('yes')} and {P('no')}", False, "and"),
    case(f"{P('yes')} or {P('no')}", True, "or"),
    case(f"{P('missing')} or {P('yes')}", True, "undefined counts as false in or"),
    case(f"{P('missing')} and {P('missing')}", False, "and of undefined is false"),
    case(f"{P('int')} or {P('yes')}", True, "a non-boolean operand counts as false"),
    case(f"{P('str')} and {P('yes')}", False, "a string counts as false"),
    case(f"not {P('yes')}", False, "not true"),
    case(f"not {P('missing')}", True, "not undefined"),
    case(f"not {P('null')}", U, "not null"),
    case(f"not {P('int')}", U, "not of a number"),
    case("not not true", True, "double negation"),
    # defined
    case(f"defined({P('int')})", True, "defined"),
    case(f"defined({P('missing')})", False, "not defined"),
    case(f"defined({P('null')})", True, "null is defined"),
    case(f"not defined({P('missing')})", True, "not defined()"),
    # number()
    case(f"number({P('num_str')})", 12.5, "decimal string"),
    case('number(" 42 ")', 42, "surrounding whitespace"),
    case('number("1e3")', 1000.0, "exponent"),
    case('number("0x10")', U, "hex is not a decimal"),
    case('number("")', U, "empty string"),
    case('number("NaN")', U, "NaN is not a number"),
    case('number("1e999")', U, "overflow in a string"),
    case('number("9223372036854775807")', 2**63 - 1, "int64 string stays exact"),
    case(f"number({P('yes')})", 1, "true"),
    case(f"number({P('no')})", 0, "false"),
    case(f"number({P('null')})", U, "null"),
    case(f"number({P('missing')})", U, "undefined"),
    case('number(datetime("1970-01-02"))', 86400.0, "datetime to unix seconds"),
    case(f"number({P('list')})", U, "list"),
    # string()
    case(f"string({P('int')})", "7", "int"),
    case(f"string({P('float')})", "2.5", "float"),
    case("string(3.0)", "3", "integral float without .0"),
    case("string(1e21)", "1e+21", "large float as JavaScript writes it"),
    case("string(0.0000001)", "1e-7", "small float as JavaScript writes it"),
    case(f"string({P('big')})", "1152921504606846977", "int64 every digit"),
    case(f"string({P('yes')})", "true", "true"),
    case(f"string({P('no')})", "false", "false"),
    case(f"string({P('null')})", None, "null stays null"),
    case(f"string({P('missing')})", U, "undefined stays undefined"),
    case(f"string({P('list')})", '["a",1,true,null]', "list as JSON"),
    case(f"string({P('obj')})", '{"k":1}', "object as JSON"),
    case('string(datetime("2024-02-29T12:00:00.5"))', "2024-02-29T12:00:00.500", "datetime"),
    case(f'string({P("int")}) + "x"', "7x", "then concatenate"),
    # boolean()
    case(f"boolean({P('str')})", True, "non-empty string"),
    case(f"boolean({P('empty')})", False, "empty string"),
    case(f"boolean({P('false_str')})", False, 'the string "false"'),
    case('boolean("0")', True, 'the string "0" is true'),
    case(f"boolean({P('zero')})", False, "zero"),
    case(f"boolean({P('float')})", True, "non-zero"),
    case(f"boolean({P('null')})", False, "null"),
    case(f"boolean({P('missing')})", False, "undefined"),
    case(f"boolean({P('list')})", True, "list"),
    case(f"boolean({P('no')})", False, "false"),
    # floor / ceil / round
    case("floor(2.7)", 2.0, "floor"),
    case("floor(-2.5)", -3.0, "floor negative"),
    case("ceil(2.1)", 3.0, "ceil"),
    case("round(2.5)", 3.0, "round half up"),
    case("round(-2.5)", -2.0, "round half towards +infinity"),
    case("round(0.49999999999999994)", 0.0, "round the largest float below a half"),
    case(f"round({P('big')})", 2**60 + 1, "round keeps integers exact"),
    case(f"floor({P('str')})", U, "floor of a string"),
    case(f"ceil({P('missing')})", U, "ceil of undefined"),
    # datetime()
    case('datetime("2024-02-29")', Timestamp(1709164800000), "date"),
    case(f"datetime({P('date')})", Timestamp(1709208000000), "date and time"),
    case('datetime("2024-02-29 12:00:00Z")', Timestamp(1709208000000), "space and Z"),
    case('datetime("2023-02-29")', U, "no such day"),
    case('datetime("yesterday")', U, "not ISO"),
    case("datetime(86400)", Timestamp(86_400_000), "unix seconds"),
    case("datetime(1e20)", U, "beyond year 9999"),
    case("datetime(1e306)", U, "milliseconds overflow"),
    case(f"datetime({P('yes')})", U, "boolean"),
    # event fields
    case('event["name"] == "e"', True, "event name"),
    case('event["$time"] == datetime("1970-01-01")', True, "event time"),
    case('string(event["$time"])', "1970-01-01T00:00:00", "event time as text"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_golden(text: str, expected: Any) -> None:
    (value,) = run(text, ROW)
    assert same(value, expected), value


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        pytest.param(f"{P('yes')}", True, id="true keeps"),
        pytest.param(f"{P('str')}", False, id="a truthy string does not keep"),
        pytest.param(f"{P('int')}", False, id="a number does not keep"),
        pytest.param(f"{P('missing')} == 1", False, id="false drops"),
        pytest.param(f"{P('missing')} > 1", False, id="undefined drops"),
        pytest.param(f"not ({P('missing')} > 1)", True, id="not undefined keeps"),
    ],
)
def test_a_filter_keeps_only_boolean_true(text: str, kept: bool) -> None:
    mask = compile_expression(text).filter_mask(Batch([Row(ROW)]), 1)
    assert mask.tolist() == [kept]


def test_precedence_of_not_and_or() -> None:
    # not binds looser than comparison, tighter than and; and binds tighter than or.
    assert run(f"not {P('int')} == 1 and false or true", ROW) == [True]
    assert run(f"not ({P('int')} == 7) or {P('yes')} and {P('no')}", ROW) == [False]
    assert run("-2 * 3 + 10 % 4", ROW) == [-4.0]
    assert run("1 + 2 == 3 and 10 - 2 - 3 == 5", ROW) == [True]
