"""Template rendering (17 §4): dotted paths only, raw values for whole expressions."""

from triggers.templating import render

VARS = {"a": {"b": [10, {"c": "deep"}], "n": 3, "d": {"x": 1}}, "s": "text"}


def test_a_whole_expression_keeps_the_type():
    assert render("{{ a.n }}", VARS) == 3
    assert render("{{a.d}}", VARS) == {"x": 1}
    assert render("{{ a.b.1.c }}", VARS) == "deep"


def test_interpolation_is_text_and_json_for_containers():
    assert render("n={{ a.n }} d={{ a.d }} s={{s}}", VARS) == 'n=3 d={"x": 1} s=text'


def test_unknown_paths_give_null_or_empty():
    assert render("{{ a.zzz }}", VARS) is None
    assert render("x{{ a.b.7 }}y", VARS) == "xy"


def test_nested_structures_are_walked_and_nothing_is_evaluated():
    template = {"k": ["{{ s }}", {"v": "{{ a.n }}"}], "code": "{{ __import__('os') }}", "num": 5}
    assert render(template, VARS) == {"k": ["text", {"v": 3}], "code": "{{ __import__('os') }}", "num": 5}
