"""Our JSONPath against jsonpath-ng, a reference implementation, where the dialects agree.

AWS reads JSONPath the way Jayway JsonPath (Java) does, and our parser and evaluator
(:mod:`statemachine.language.path_syntax`, :mod:`~statemachine.language.path_steps`)
follow it.  jsonpath-ng reads standard JSONPath.  On the part the two dialects share,
generated here, both must select the same values in the same order: names (plain and
quoted), indexes and index unions, name unions, wildcards, slices and deep scans, over
any JSON document.  Outside it the dialects differ (see the README's dependency
list), which is why jsonpath-ng does not parse or evaluate paths at run time:
Jayway's filter operators (``in``, ``nin``, ``size``, ``empty``, ``=~ /re/i``), its
``[(@.length-1)]`` index, the ``$$``/``$var`` roots, dotted names jsonpath-ng rejects
(``$.a:b``, ``$.café``, ``$.where``, ``$.1a``) or reads as operators (``$.a&b``), and
backslashes in quoted names (AWS keeps the one in ``$['a\\"b']``).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonpath_ng.parser import JsonPathParser

from statemachine.language.paths import compile_path
from statemachine.language.scope import MISSING, Scope

REFERENCE = JsonPathParser()

# Few distinct names, so that generated paths meet generated documents.
NAMES = ("a", "b", "c_1", "_d")
QUOTED = ("a", "with space", "x.y", "[z]", "é")

json_scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(("s", ""))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(NAMES + QUOTED), inner, max_size=4),
    max_leaves=25,
)

index = st.integers(-4, 4)
bound = st.none() | index
name_step = st.sampled_from(NAMES).map(lambda name: f".{name}")
quoted_step = st.sampled_from(QUOTED).map(lambda name: f"['{name}']")
index_step = index.map(lambda i: f"[{i}]")
definite_step = name_step | quoted_step | index_step
index_union = st.lists(index, min_size=2, max_size=3).map(
    lambda ixs: "[" + ",".join(map(str, ixs)) + "]"
)
name_union = st.lists(st.sampled_from(QUOTED), min_size=2, max_size=3).map(
    lambda names: "[" + ",".join(f"'{n}'" for n in names) + "]"
)
slice_step = st.tuples(bound, bound, st.none() | st.integers(-3, 3).filter(bool)).map(
    lambda s: "[" + ":".join("" if b is None else str(b) for b in s[:2])
    + ("" if s[2] is None else f":{s[2]}") + "]"
)
wildcard_step = st.sampled_from((".*", "[*]"))
scan_step = (st.sampled_from(NAMES) | st.just("*")).map(lambda name: f"..{name}") | index.map(
    lambda i: f"..[{i}]"
)
any_step = definite_step | index_union | name_union | slice_step | wildcard_step | scan_step


def ours(text: str, document: Any) -> Any:
    return compile_path(text).find(Scope(input=document, context={}))


def reference(text: str, document: Any) -> list[Any]:
    return [match.value for match in REFERENCE.parse(text).find(document)]


@settings(max_examples=400, deadline=None)
@given(steps=st.lists(definite_step, max_size=4), document=json_values)
def test_a_reference_path_selects_what_jsonpath_ng_selects(steps: list[str], document: Any) -> None:
    text = "$" + "".join(steps)
    assert compile_path(text).is_reference
    value = ours(text, document)
    assert reference(text, document) == ([] if value is MISSING else [value])


@settings(max_examples=400, deadline=None)
@given(steps=st.lists(any_step, min_size=1, max_size=4), document=json_values)
def test_any_shared_path_selects_what_jsonpath_ng_selects(steps: list[str], document: Any) -> None:
    text = "$" + "".join(steps)
    path = compile_path(text)
    value = ours(text, document)
    if path.is_reference:
        value = [] if value is MISSING else [value]
    assert reference(text, document) == value
