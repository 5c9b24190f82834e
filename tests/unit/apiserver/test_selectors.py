"""Label and field selectors parse and match as Kubernetes' do."""

from __future__ import annotations

import pytest

from apiserver import errors
from apiserver.selectors import label_key_error, label_value_error, parse_fields, parse_labels

OBJ = {"metadata": {"name": "vm1", "namespace": "default", "labels": {"app": "web", "tier": "1"}}}


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    ("", {}, True),
    ("app=web", {"app": "web"}, True),
    ("app==web", {"app": "web"}, True),
    ("app=web", {"app": "db"}, False),
    ("app=web", {}, False),
    ("app!=web", {"app": "db"}, True),
    ("app!=web", {}, True),
    ("app!=web", {"app": "web"}, False),
    ("app in (web, db)", {"app": "db"}, True),
    ("app in (web,db)", {"app": "x"}, False),
    ("app in (web)", {}, False),
    ("app notin (web,db)", {"app": "x"}, True),
    ("app notin (web,db)", {}, True),
    ("app notin (web,db)", {"app": "web"}, False),
    ("app", {"app": ""}, True),
    ("app", {}, False),
    ("!app", {}, True),
    ("!app", {"app": "x"}, False),
    ("app=web,tier", {"app": "web", "tier": "1"}, True),
    ("app=web,tier", {"app": "web"}, False),
    ("  app = web , !gone ", {"app": "web"}, True),
    ("example.com/role=node", {"example.com/role": "node"}, True),
    ("app=", {"app": ""}, True),
    ("replicas>2", {"replicas": "3"}, True),
    ("replicas>2", {"replicas": "2"}, False),
    ("replicas<2", {"replicas": "x"}, False),
])
def test_label_selector_matches(selector: str, labels: dict, expected: bool) -> None:
    """Every operator of the label selector grammar selects what Kubernetes selects."""
    assert parse_labels(selector).matches(labels) is expected


@pytest.mark.parametrize("selector", [
    "app in web", "app in (web", "=web", "app web", "a,,b", "app=(x)", "Bad/x=1",
    "app=-bad-", "!", "app notin", "n>x",
])
def test_malformed_label_selector_is_bad_request(selector: str) -> None:
    """A malformed label selector is a 400 whose message names the selector."""
    with pytest.raises(errors.BadRequest) as caught:
        parse_labels(selector)
    assert f'"{selector}"' in caught.value.message
    assert caught.value.code == 400


def test_empty_label_selector_selects_everything() -> None:
    """An empty selector is empty and matches objects without labels."""
    selector = parse_labels("")
    assert selector.empty
    assert selector.matches_object({"metadata": {}})


@pytest.mark.parametrize(("selector", "expected"), [
    ("metadata.name=vm1", True),
    ("metadata.name==vm1", True),
    ("metadata.name!=vm1", False),
    ("metadata.namespace=default,metadata.name=vm1", True),
    ("metadata.namespace=other", False),
    ("metadata.name=vm1,", True),
])
def test_field_selector_matches(selector: str, expected: bool) -> None:
    """Field selectors over name and namespace use =, == and !=."""
    assert parse_fields(selector).matches(OBJ) is expected


def test_field_selector_on_cluster_scoped_namespace_is_empty() -> None:
    """metadata.namespace of a cluster-scoped object compares as the empty string."""
    assert parse_fields("metadata.namespace=").matches({"metadata": {"name": "n"}})


def test_unsupported_field_is_bad_request_naming_the_field() -> None:
    """Any field but the supported ones is a 400: field label not supported."""
    with pytest.raises(errors.BadRequest, match="field label not supported: spec.running"):
        parse_fields("spec.running=true")


def test_extra_supported_fields() -> None:
    """A resource may add fields to the supported set."""
    selector = parse_fields("status.phase=Running", ("status.phase",))
    assert selector.matches({"status": {"phase": "Running"}})
    assert not selector.matches({"status": {}})


def test_malformed_field_selector_is_bad_request() -> None:
    """A field term without an operator is a 400 naming the selector."""
    with pytest.raises(errors.BadRequest, match='"metadata.name"'):
        parse_fields("metadata.name")


def test_escaped_comma_in_field_value() -> None:
    """A backslash escapes a comma inside a field selector value."""
    selector = parse_fields(r"metadata.name=a\,b")
    assert selector.matches({"metadata": {"name": "a,b"}})


def test_label_syntax_checks() -> None:
    """Label keys take an optional DNS prefix; values are at most 63 characters."""
    assert label_key_error("kubevirt.io/nodeName") is None
    assert label_key_error("a/b/c") is not None
    assert label_key_error("x" * 64) is not None
    assert label_value_error("") is None
    assert label_value_error("v" * 64) is not None
    assert label_value_error("-x") is not None
