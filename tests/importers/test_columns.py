from __future__ import annotations

import pytest

from backbeat.importers import meta
from backbeat.importers.columns import Column, Kind, PlatformSpec, bind, norm, split_currency
from backbeat.importers.errors import ImportFailed


def test_norm_folds_case_spaces_quotes_and_bom() -> None:
    assert norm("\ufeff  Nom de l’ensemble   de publicités ") == "nom de l'ensemble de publicités"
    assert norm("CPM (coût pour 1\u202f000 impressions)") == "cpm (coût pour 1 000 impressions)"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Amount spent (EUR)", ("Amount spent", "EUR")),
        ("CPM (cost per 1,000 impressions) (USD)", ("CPM (cost per 1,000 impressions)", "USD")),
        ("CTR (all)", ("CTR (all)", None)),  # lower case: not a currency
        ("Cost (XYZ)", ("Cost (XYZ)", None)),  # not an ISO code
        ("Cost(GBP)", ("Cost", "GBP")),
    ],
)
def test_split_currency(header: str, expected: tuple[str, str | None]) -> None:
    assert split_currency(header) == expected


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Amount spent (USD)", "spend"),
        ("Montant dépensé (EUR)", "spend"),
        ("Ausgegebener Betrag (EUR)", "spend"),
        ("Importe gastado (MXN)", "spend"),
        ("Link clicks", "clicks"),
        ("Clics sur un lien", "clicks"),
        ("Link-Klicks", "clicks"),
        ("Clics en el enlace", "clicks"),
        ("Clicks (all)", "clicks_all"),
        ("Klicks (alle)", "clicks_all"),
        ("Reporting starts", "start"),
        ("Début des rapports", "start"),
        ("Berichtsbeginn", "start"),
        ("Inicio del informe", "start"),
        ("Reporting ends", "end"),
        ("Fin del informe", "end"),
        ("Couverture", "reach"),
        ("Répétition", "frequency"),
        ("CTR (link click-through rate)", "ctr"),
        ("CTR (tasa de clics en el enlace)", "ctr"),
        ("CTR (all)", "ctr_all"),
        ("CPM (Kosten pro 1.000 Impressionen) (EUR)", "cpm"),
        ("CPC (coste por clic en el enlace) (EUR)", "cpc"),
        ("Résultats", "results"),
        ("Indicador de resultado", "result_indicator"),
        ("Nombre del conjunto de anuncios", "ad_group"),
    ],
)
def test_meta_aliases(header: str, field: str) -> None:
    assert meta.SPEC.field_for(header)[0] == field


def test_bind_takes_currency_from_the_suffix_and_lists_ignored_columns() -> None:
    headers = ["Campaign name", "Amount spent (EUR)", "Impressions", "Campaign ID", ""]
    binding = bind(meta.SPEC, headers, 1)
    assert binding.header_currency == "EUR"
    spend = binding.get("spend")
    assert spend is not None
    assert (spend.index, spend.kind, spend.currency) == (1, Kind.MONEY, "EUR")
    assert binding.ignored == ("Campaign ID",)
    assert binding.missing() == ["Day (or Reporting starts and Reporting ends)"]
    assert binding.missing(period_known=True) == []


def test_bind_refuses_two_columns_for_one_field() -> None:
    with pytest.raises(ImportFailed) as info:
        bind(meta.SPEC, ["Campaign name", "Nom de la campagne", "Impressions"], 1)
    problem = info.value.problems[0]
    assert (problem.row, problem.column) == (1, "Nom de la campagne")
    assert "Campaign name" in problem.message


def test_bind_refuses_two_currencies() -> None:
    headers = ["Amount spent (EUR)", "CPM (cost per 1,000 impressions) (USD)"]
    with pytest.raises(ImportFailed, match="different currencies"):
        bind(meta.SPEC, headers, 1)


def test_a_spec_refuses_unknown_fields_and_clashing_aliases() -> None:
    with pytest.raises(ValueError, match="unknown field"):
        Column("likes", ("Likes",))
    with pytest.raises(ValueError, match="names two fields"):
        PlatformSpec("x", "X", (Column("clicks", ("Clicks",)), Column("views", ("clicks",))))
