"""Label tables (data/reference/labels.yaml): every code family a reader may meet is named in zh-TW."""

from __future__ import annotations

import re

import pytest

from helpers import reference
from helpers.business_travel import schemas
from helpers.inventory import factors, rollforward
from helpers.publish import tables

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_label_is_traditional_chinese_with_an_english_gloss():
    for family in ("reject_reason", "route", "flag", "distance_method", "distance_quality", "claim_family",
                   "direction", "trip_type", "factor_method", "summary_key", "run_parameter", "activity_grade",
                   "factor_grade"):
        pairs = reference.label_pairs(family)
        assert pairs, family
        for code, (zh, en) in pairs.items():
            assert CJK.search(zh), (family, code, zh)
            assert en and not CJK.search(en), (family, code, en)


def test_code_families_of_the_code_all_have_labels():
    assert set(schemas.METHODS) <= set(reference.labels("distance_method"))
    assert set(schemas.QUALITY_LEVELS) <= set(reference.labels("distance_quality"))
    assert set(schemas.FAMILIES) <= set(reference.labels("claim_family"))
    assert set(factors.METHOD_INPUTS) <= set(reference.labels("factor_method"))
    assert set("ABCD") | {rollforward.ROUTE} == set(tables.ROUTE_LABELS)  # R: carried in a roll-forward year


def test_a_reject_code_without_a_label_is_refused():
    reference.require_label("reject_reason", "superseded")
    with pytest.raises(KeyError, match="no_such_code.*labels.yaml"):
        reference.require_label("reject_reason", "no_such_code")
    with pytest.raises(KeyError, match="no label family"):
        reference.labels("no_such_family")
