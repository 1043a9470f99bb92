"""The built-in workloads: their schemas, read without running them, and the validation of parameters."""

from __future__ import annotations

import math

import pytest

from visualizer.workloads import workloads
from visualizer.workloads.schema import ParamError, from_text, parse, to_argv, validate

SCHEMA = {
    "n": {"type": "int", "default": 3, "min": 1, "max": 10, "description": "a count"},
    "t": {"type": "float", "default": 0.5, "min": 0.0, "max": 2.0, "description": "a time"},
    "mode": {"type": "choice", "default": "a", "choices": ["a", "b"], "description": "a mode"},
    "target": {"type": "url", "default": "", "description": "a site"},
    "on": {"type": "bool", "default": False, "description": "a switch"},
}


def test_every_workload_is_registered_with_a_description_and_a_schema():
    found = workloads()
    assert set(found) == {"crawler", "webcrawler", "echo", "pile", "pipeline", "saturation", "blocker"}
    for workload in found.values():
        assert workload.description
        for name, spec in workload.params.items():
            assert {"type", "default", "description"} <= set(spec), name
            assert workload.validate({name: spec["default"]})[name] == spec["default"]
        assert workload.validate({})["continuous"] is False  # each can run until stopped; none does by default
    assert not found["blocker"].monkey_patch and found["crawler"].monkey_patch


def test_defaults_fill_in_what_is_left_out():
    assert validate(SCHEMA, {"n": 5}) == {"n": 5, "t": 0.5, "mode": "a", "target": "", "on": False}
    assert validate(SCHEMA, {"t": 1, "on": True}) == {"n": 3, "t": 1.0, "mode": "a", "target": "", "on": True}


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ({"n": "3"}, "params.n", "must be an integer"),
        ({"n": True}, "params.n", "must be an integer"),
        ({"n": 2.0}, "params.n", "must be an integer"),
        ({"n": 11}, "params.n", "between 1 and 10"),
        ({"t": math.nan}, "params.t", "must be a number"),
        ({"t": -0.1}, "params.t", "between 0.0 and 2.0"),
        ({"mode": "c"}, "params.mode", "one of a, b"),
        ({"on": 1}, "params.on", "must be true or false"),
        ({"on": "true"}, "params.on", "must be true or false"),
        ({"bogus": 1}, "params.bogus", "unknown parameter"),
        ({"target": "file:///etc/passwd"}, "params.target", "http or https"),
        ({"target": "http://example.com/"}, "params.target", "--allow-external-crawl"),
        ([], "params", "must be an object"),
    ],
)
def test_bad_values_name_their_field(given, field, message):
    with pytest.raises(ParamError, match=message) as e:
        validate(SCHEMA, given)
    assert e.value.field == field


def test_external_targets_only_when_allowed():
    assert validate(SCHEMA, {"target": "https://192.88.99.1/"}, allow_external=True)["target"] == "https://192.88.99.1/"


def test_values_go_to_the_workload_as_arguments_and_come_back_validated():
    values = validate(SCHEMA, {"n": 7, "t": 0.25, "mode": "b", "on": True})
    assert vars(parse(SCHEMA, to_argv(values))) == values
    for bad in (["--n=99"], ["--on=yes"]):
        with pytest.raises(SystemExit):
            parse(SCHEMA, bad)


def test_values_written_by_hand_get_their_types_and_the_same_checks():
    given = from_text(SCHEMA, ["n=4", "t=0.5", "on=true", "mode=b", "target="])
    assert validate(SCHEMA, given) == {"n": 4, "t": 0.5, "mode": "b", "target": "", "on": True}
    assert from_text(SCHEMA, ["on=False"]) == {"on": False}
    with pytest.raises(ParamError, match="unknown parameter") as e:
        validate(SCHEMA, from_text(SCHEMA, ["bogus=1"]))
    assert e.value.field == "params.bogus"


@pytest.mark.parametrize(
    ("pair", "field", "message"),
    [
        ("n=lots", "params.n", "must be an integer, got 'lots'"),
        ("t=", "params.t", "must be a number"),
        ("on=yes", "params.on", "must be true or false"),
        ("n", "params.n", "give it as NAME=VALUE"),
    ],
)
def test_values_written_by_hand_that_are_not_of_their_type_name_their_field(pair: str, field: str, message: str):
    with pytest.raises(ParamError, match=message) as e:
        from_text(SCHEMA, [pair])
    assert e.value.field == field
