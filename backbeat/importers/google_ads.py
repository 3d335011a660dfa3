"""Google Ads exports, YouTube video campaigns included.

The UI's default download ("Excel CSV") is UTF-16 with tabs and starts with two preamble
lines: the report name and its date range. When the report has no ``Day`` column every row
covers that date range. The file ends with a block of ``Total: ...`` rows: ``Total: Account``
and ``Total: Campaigns`` are checked against the rows; per-network subtotals such as
``Total: Search`` are skipped. ``Video played to 25%`` etc. are rates (percent of
impressions), so they fill ``q25_rate``..``q100_rate``, not the quartile counts.
"""

from __future__ import annotations

from backbeat.importers.columns import Column, PlatformSpec

SPEC = PlatformSpec(
    name="google_ads",
    label="Google Ads",
    period_from_preamble=True,
    columns=(
        Column("day", ("Day", "Date", "Tag", "Jour", "Día")),
        Column("account", ("Account", "Account name", "Konto", "Compte", "Cuenta")),
        Column("campaign", ("Campaign", "Kampagne", "Campagne", "Campaña")),
        Column(
            "ad_group", ("Ad group", "Anzeigengruppe", "Groupe d'annonces", "Grupo de anuncios")
        ),
        Column("ad", ("Ad name", "Ad", "Anzeige", "Annonce", "Anuncio")),
        Column(
            "currency",
            ("Currency code", "Currency", "Währungscode", "Code de la devise", "Código de moneda"),
        ),
        Column("impressions", ("Impr.", "Impressions", "Impr", "Impressionen")),
        Column("clicks", ("Clicks", "Klicks", "Clics")),
        Column("ctr", ("CTR",)),
        Column("cpc", ("Avg. CPC", "Durchschn. CPC", "CPC moy.", "CPC medio")),
        Column("cpm", ("Avg. CPM", "Durchschn. CPM", "CPM moy.", "CPM medio")),
        Column("spend", ("Cost", "Kosten", "Coût", "Coste", "Costo")),
        Column("conversions", ("Conversions", "Conv.", "Conversiones")),
        Column("viewable_impressions", ("Viewable impr.", "Sichtbare Impr.", "Impr. visibles")),
        Column("views", ("Views", "TrueView views", "Aufrufe", "Vues", "Vistas")),
        Column("cpv", ("Avg. CPV", "Durchschn. CPV", "CPV moy.", "CPV medio")),
        Column("q25_rate", ("Video played to 25%",)),
        Column("q50_rate", ("Video played to 50%",)),
        Column("q75_rate", ("Video played to 75%",)),
        Column("q100_rate", ("Video played to 100%",)),
    ),
)
