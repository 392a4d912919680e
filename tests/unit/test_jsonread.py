"""nsnet.state.jsonread: json.loads without the json package."""

import json

import pytest

from nsnet.state import jsonread

DOCS = ['{"a": [1, 2.5, null, true, false, "x\\u00e9\\n"], "b": {"c": -1e5, "d": ""}}', " [] ", "\n{}\n",
        '"s"', "3", "-0.5", '{"x": NaN, "y": -Infinity}', '{"deep": [[[{"k": [1]}]]]}']


@pytest.mark.parametrize("doc", DOCS)
def test_same_values_as_json_loads(doc):
    assert repr(jsonread.loads(doc)) == repr(json.loads(doc))
    assert repr(jsonread.loads(doc.encode())) == repr(json.loads(doc.encode()))


@pytest.mark.parametrize("doc", ["", " ", "{", '{"a": 1} x', '{"a": 1}{}', "{'a': 1}", b"\xff\xfe", "[1,]", "nul"])
def test_what_json_loads_rejects_is_a_value_error(doc):
    with pytest.raises(ValueError):
        json.loads(doc)
    with pytest.raises(ValueError):
        jsonread.loads(doc)
