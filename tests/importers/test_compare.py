"""The cross-platform comparison: figures recomputed from counts, spend per currency, reach
only for exactly the period, each platform against its own benchmark."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from backbeat.analytics.stats import to_percent, wilson_interval
from backbeat.errors import ValidationFailed
from backbeat.importers.compare import (
    CURRENCY_NOTE,
    LINK_CLICKS_NOTE,
    CompareQuery,
    Comparison,
    Line,
    Outcome,
    compare,
    platform_key,
)
from backbeat.importers.driver import import_file
from backbeat.importers.model import ReportRow
from backbeat.importers.sqlite_sink import SqliteImportSink


def row(
    platform: str = "meta",
    campaign: str = "Spring Single",
    day: int = 1,
    last: int | None = None,
    **kw: object,
) -> ReportRow:
    values: dict[str, object] = {
        "currency": "USD",
        "impressions": 10_000,
        "spend_micros": 50_000_000,
        "clicks": 100,
    }
    values.update(kw)
    return ReportRow(
        platform=platform,
        campaign=campaign,
        start=date(2024, 3, day),
        end=date(2024, 3, last or day),
        **values,  # type: ignore[arg-type]
    )


def only(result: Comparison, platform: str, campaign: str | None = None) -> Line:
    lines = result.platforms if campaign is None else result.campaigns
    (found,) = [x for x in lines if x.platform == platform and x.campaign == campaign]
    return found


def test_rates_and_prices_are_recomputed_from_base_counts() -> None:
    rows = [
        row(
            day=1, impressions=12_450, clicks=143, spend_micros=48_620_000, reported_ctr=Decimal(9)
        ),
        row(day=2, impressions=13_020, clicks=151, spend_micros=50_030_000),
    ]
    meta = only(compare(rows, CompareQuery()), "meta").figures
    assert (meta.impressions, meta.clicks, meta.rows) == (25_470, 294, 2)
    assert meta.ctr is not None
    assert meta.ctr.percent == Decimal("1.1543")  # 294 / 25,470, not the reported 9%
    ci = wilson_interval(294, 25_470)
    assert (meta.ctr.low, meta.ctr.high) == (to_percent(ci.low, 4), to_percent(ci.high, 4))
    (usd,) = meta.spend
    assert (usd.currency, usd.spend, usd.cpm, usd.cpc) == (
        "USD",
        Decimal("98.65"),
        Decimal("3.8732"),  # 98.65 / 25,470 x 1000
        Decimal("0.3355"),  # 98.65 / 294
    )


def test_spend_is_kept_per_currency_and_never_added_up() -> None:
    rows = [
        row(currency="USD", impressions=1000, spend_micros=5_000_000, clicks=10),
        row(currency="EUR", impressions=3000, spend_micros=6_000_000, clicks=20),
        row(currency="EUR", day=2, impressions=1000, spend_micros=4_000_000, clicks=5),
    ]
    result = compare(rows, CompareQuery())
    spend = only(result, "meta").figures.spend
    assert [(c.currency, c.spend_micros, c.impressions, c.clicks) for c in spend] == [
        ("EUR", 10_000_000, 4000, 25),
        ("USD", 5_000_000, 1000, 10),
    ]
    assert [(c.cpm, c.cpc) for c in spend] == [
        (Decimal("2.5000"), Decimal("0.4000")),
        (Decimal("5.0000"), Decimal("0.5000")),
    ]
    assert CURRENCY_NOTE in result.notes


def test_link_clicks_and_all_clicks_stay_apart() -> None:
    rows = [row(clicks=100, clicks_all=260), row(day=2, clicks=50, clicks_all=140)]
    result = compare(rows, CompareQuery())
    meta = only(result, "meta").figures
    assert (meta.clicks, meta.clicks_all) == (150, 400)
    assert meta.ctr is not None and meta.ctr_all is not None
    assert (meta.ctr.percent, meta.ctr_all.percent) == (Decimal("0.7500"), Decimal("2.0000"))
    assert meta.spend[0].cpc == Decimal("0.6667")  # 100.00 / 150 link clicks, not / 400
    assert result.notes[0] == LINK_CLICKS_NOTE


def test_rows_without_clicks_do_not_dilute_ctr_or_cpc() -> None:
    rows = [
        row(impressions=1000, clicks=10, spend_micros=2_000_000),
        row(day=2, impressions=9000, clicks=None, spend_micros=8_000_000),
    ]
    f = only(compare(rows, CompareQuery()), "meta").figures
    assert f.impressions == 10_000
    assert f.ctr is not None and (f.ctr.clicks, f.ctr.impressions) == (10, 1000)
    assert f.spend[0].cpc == Decimal("0.2000")  # 2.00 / 10: spend of the rows with clicks
    assert f.spend[0].cpm == Decimal("1.0000")  # 10.00 / 10,000 x 1000: all rows
    assert only(compare([rows[1]], CompareQuery()), "meta").figures.ctr is None


def test_reach_only_for_one_row_covering_exactly_the_period() -> None:
    week = row(day=4, last=10, reach=2210, impressions=6532)
    result = compare([week], CompareQuery(date(2024, 3, 4), date(2024, 3, 10)))
    reach = only(result, "meta").figures.reach
    assert (reach.value, reach.frequency, reach.note) == (2210, Decimal("2.96"), None)

    unset = compare([week], CompareQuery()).platforms[0].figures.reach  # period = its own
    assert unset.value == 2210

    month = compare([week], CompareQuery(date(2024, 3, 1), date(2024, 3, 31)))
    assert only(month, "meta").figures.reach.value is None
    assert "covers 2024-03-04..2024-03-10" in (only(month, "meta").figures.reach.note or "")

    daily = [row(day=d, reach=1000) for d in (1, 2, 3)]
    summed = only(compare(daily, CompareQuery()), "meta").figures.reach
    assert summed.value is None  # never 3,000: the same people were reached each day
    assert "3 rows" in (summed.note or "")

    none = only(compare([row()], CompareQuery()), "meta").figures.reach
    assert (none.value, none.note) == (None, "not available: the platform reported no reach")


def test_rows_partly_outside_the_period_are_left_out_and_counted() -> None:
    rows = [
        row(day=1, last=7, impressions=7000),
        row(day=3, impressions=300),
        row(day=9, impressions=900),  # wholly outside: not counted as left out
    ]
    result = compare(rows, CompareQuery(date(2024, 3, 2), date(2024, 3, 8)))
    assert only(result, "meta").figures.impressions == 300
    assert result.rows_left_out == 1
    assert any("1 rows cover days" in n for n in result.notes)


def test_filters_and_platform_aliases() -> None:
    rows = [row("meta", "A"), row("tiktok", "B"), row("meta", "C")]
    by_alias = compare(rows, CompareQuery(platforms=("Facebook",)))
    assert [x.platform for x in by_alias.platforms] == ["meta"]
    assert [x.campaign for x in by_alias.campaigns] == ["A", "C"]
    one = compare(rows, CompareQuery(campaigns=("B",)))
    assert [(x.platform, x.campaign) for x in one.campaigns] == [("tiktok", "B")]
    assert platform_key(" YouTube ") == "google_ads"
    empty = compare([], CompareQuery())
    assert (empty.platforms, empty.campaigns, empty.notes[0]) == ((), (), LINK_CLICKS_NOTE)


def test_bad_queries_are_field_errors() -> None:
    with pytest.raises(ValidationFailed) as late:
        CompareQuery(date(2024, 3, 9), date(2024, 3, 1))
    assert late.value.fields[0].field == "end"
    with pytest.raises(ValidationFailed) as blank:
        CompareQuery(platforms=(" ",))
    assert blank.value.fields[0].field == "platform"


def test_meta_is_compared_on_all_clicks_like_its_benchmark() -> None:
    rows = [row(impressions=100_000, clicks=700, clicks_all=2500)]
    check = only(compare(rows, CompareQuery()), "meta").ctr_check
    assert (check.basis, check.outcome) == ("all clicks", Outcome.ABOVE)  # 2.5% vs 0.9%
    assert check.benchmark is not None and check.benchmark.key == "facebook"
    no_all = only(compare([row(impressions=100_000, clicks=700)], CompareQuery()), "meta")
    assert no_all.ctr_check.outcome == Outcome.NOT_COMPARABLE


def test_google_campaigns_get_the_benchmark_of_their_type() -> None:
    display = row("google_ads", "Display", impressions=100_000, clicks=460, viewable_impressions=1)
    video = row("google_ads", "Video", impressions=100_000, clicks=300, views=30_000)
    search = row("google_ads", "Search", impressions=1000, clicks=80)
    result = compare([display, video, search], CompareQuery())
    checks = {x.campaign: (x.kind, x.ctr_check) for x in result.campaigns}
    assert checks["Display"][0] == "display"
    assert checks["Display"][1].benchmark is not None
    assert checks["Display"][1].benchmark.key == "google-display-network"
    assert checks["Video"][0] == "video"
    assert checks["Video"][1].benchmark is not None
    assert checks["Video"][1].benchmark.key == "in-stream-video"
    assert checks["Video"][1].outcome == Outcome.BELOW  # 0.30% against 1.11%
    assert checks["Search"] == (None, checks["Search"][1])
    assert checks["Search"][1].outcome == Outcome.NO_BENCHMARK
    platform = only(result, "google_ads")
    assert (platform.kind, platform.ctr_check.outcome) == ("mixed", Outcome.NO_BENCHMARK)


def test_small_samples_are_not_enough_data() -> None:
    tiny = row("google_ads", "Display", impressions=200, clicks=1, viewable_impressions=150)
    check = only(compare([tiny], CompareQuery()), "google_ads").ctr_check
    assert check.outcome == Outcome.NOT_ENOUGH_DATA
    assert check.more_impressions_needed is not None and check.more_impressions_needed > 0


def test_cpm_benchmarks_apply_to_usd_spend_only() -> None:
    usd = row("tiktok", impressions=10_000, spend_micros=50_000_000)  # $5 CPM vs $10
    eur = row("tiktok", day=2, currency="EUR", impressions=10_000, spend_micros=150_000_000)
    spend = only(compare([usd, eur], CompareQuery()), "tiktok").figures.spend
    by_currency = {c.currency: c.cpm_check for c in spend}
    assert by_currency["USD"].outcome == Outcome.BELOW
    assert "$5.0000" in by_currency["USD"].sentence
    assert by_currency["EUR"].outcome == Outcome.NOT_COMPARABLE
    assert "EUR is not converted" in by_currency["EUR"].sentence
    spotify = only(compare([row("spotify", spend_micros=200_000_000)], CompareQuery()), "spotify")
    assert spotify.figures.spend[0].cpm_check.outcome == Outcome.WITHIN  # $20 in $15-25
    assert spotify.ctr_check.outcome == Outcome.NO_BENCHMARK


def test_first_party_rows_join_the_comparison_as_extra_rows() -> None:
    imported = [row("meta")]
    ours = [row("backbeat", "Night Drive", impressions=40_000, clicks=300)]
    result = compare(imported, CompareQuery(), extra=ours)
    assert [x.platform for x in result.platforms] == ["backbeat", "meta"]
    backbeat = only(result, "backbeat")
    assert backbeat.ctr_check.benchmark is not None
    assert backbeat.ctr_check.benchmark.key == "music-display"
    assert backbeat.ctr_check.outcome == Outcome.WITHIN  # 0.75% in 0.5-1%
    only_ours = compare(imported, CompareQuery(platforms=("backbeat",)), extra=ours)
    assert [x.platform for x in only_ours.platforms] == ["backbeat"]


def test_results_add_up_per_indicator_only() -> None:
    rows = [
        row(results=Decimal(143), result_indicator="actions:link_click"),
        row(day=2, results=Decimal(71), result_indicator="actions:landing_page_view"),
        row(day=3, results=Decimal(7), result_indicator="actions:link_click"),
    ]
    f = only(compare(rows, CompareQuery()), "meta").figures
    assert f.results == (
        ("actions:landing_page_view", Decimal(71)),
        ("actions:link_click", Decimal(150)),
    )


def test_campaigns_of_two_accounts_are_separate_lines() -> None:
    rows = [row(account="label-a"), replace(row(account="label-b"), impressions=5)]
    lines = compare(rows, CompareQuery()).campaigns
    assert [(x.account, x.figures.impressions) for x in lines] == [
        ("label-a", 10_000),
        ("label-b", 5),
    ]


def test_a_real_export_compares_to_hand_computed_figures(fixtures: Path, tmp_path: Path) -> None:
    sink = SqliteImportSink(tmp_path / "imports.db")
    try:
        import_file(fixtures / "spotify.csv", sink)
        stored = sink.rows()
    finally:
        sink.close()
    f = only(compare(stored, CompareQuery()), "spotify").figures
    assert (f.impressions, f.clicks, f.starts, f.completes, f.views) == (
        66_417,
        210,
        60_367,
        38_672,
        3904,
    )
    assert f.ctr is not None and f.ctr.percent == Decimal("0.3162")
    assert [(c.spend, c.cpm, c.cpc) for c in f.spend] == [
        (Decimal("1011.62"), Decimal("15.2313"), Decimal("4.8172"))
    ]
