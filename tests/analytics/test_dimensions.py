"""Filter values: typed and checked against closed vocabularies before any SQL exists."""

from __future__ import annotations

import pytest

from backbeat.analytics.dimensions import COLUMNS, Dimension, check_filter_values
from backbeat.errors import ValidationFailed


def test_values_are_typed() -> None:
    assert check_filter_values(Dimension.CAMPAIGN, ["7", 9, " 11 "], "f") == {7, 9, 11}
    assert check_filter_values(Dimension.COUNTRY, "us, zz", "f") == {"US", "ZZ"}
    assert check_filter_values(Dimension.SIZE, ["300X250"], "f") == {"300x250"}
    assert check_filter_values(Dimension.GENRE, ["Hip-Hop"], "f") == {"hip-hop"}
    assert check_filter_values(Dimension.GENRE_MATCH, [True, "false"], "f") == {True, False}
    assert check_filter_values(Dimension.DROP_REASON, "bot", "f") == {"bot"}
    assert check_filter_values(Dimension.FORMAT, ["video"], "f") == {"video"}
    assert check_filter_values(Dimension.OBJECTIVE, ["traffic"], "f") == {"traffic"}
    assert check_filter_values(Dimension.DEVICE, ["tablet"], "f") == {"tablet"}


@pytest.mark.parametrize(("dim", "value"), [
    (Dimension.CREATIVE, "1.5"), (Dimension.SITE, 1.0), (Dimension.PUBLISHER, None),
    (Dimension.COUNTRY, "USA"), (Dimension.COUNTRY, 5), (Dimension.SIZE, "0x250"),
    (Dimension.GENRE_MATCH, "yes"), (Dimension.DROP_REASON, "spam"), (Dimension.FORMAT, "audio"),
])
def test_bad_values_name_the_item(dim: Dimension, value: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_filter_values(dim, [value], f"filters.{dim}")
    assert caught.value.fields[0].field == f"filters.{dim}[0]"


def test_columns_are_fixed_identifiers() -> None:
    assert set(COLUMNS) == set(Dimension)
    assert all(c.replace("_", "").isalpha() for c in COLUMNS.values())
