"""Meta Ads Manager exports (Facebook, Instagram): header aliases in English, French, German
and Spanish.

Money headers carry the account currency as a suffix (``Amount spent (EUR)``); the suffix
becomes each row's currency. ``Link clicks`` are clicks to the advertiser's destination and
become ``clicks``; ``Clicks (all)`` also count likes, comments, shares and profile clicks and
are kept apart as ``clicks_all``. Meta puts no totals row in an export by default; with
"include summary row" it adds one whose name cells are empty, which is skipped and checked.
"""

from __future__ import annotations

from backbeat.importers.columns import Column, PlatformSpec

SPEC = PlatformSpec(
    name="meta",
    label="Meta Ads Manager",
    blank_names_are_totals=True,
    columns=(
        Column(
            "start",
            (
                "Reporting starts",
                "Début des rapports",
                "Berichtsbeginn",
                "Beginn des Berichtszeitraums",
                "Inicio del informe",
            ),
        ),
        Column(
            "end",
            (
                "Reporting ends",
                "Fin des rapports",
                "Berichtsende",
                "Ende des Berichtszeitraums",
                "Fin del informe",
            ),
        ),
        Column("day", ("Day", "Date", "Jour", "Tag", "Día", "Dia", "Fecha", "Datum")),
        Column(
            "account",
            (
                "Account name",
                "Nom du compte",
                "Kontoname",
                "Name des Werbekontos",
                "Nombre de la cuenta",
            ),
        ),
        Column(
            "campaign",
            (
                "Campaign name",
                "Nom de la campagne",
                "Kampagnenname",
                "Name der Kampagne",
                "Nombre de la campaña",
            ),
        ),
        Column(
            "ad_group",
            (
                "Ad set name",
                "Nom de l'ensemble de publicités",
                "Name der Anzeigengruppe",
                "Anzeigengruppenname",
                "Nombre del conjunto de anuncios",
            ),
        ),
        Column(
            "ad",
            (
                "Ad name",
                "Nom de la publicité",
                "Anzeigenname",
                "Name der Anzeige",
                "Nombre del anuncio",
            ),
        ),
        Column("currency", ("Currency", "Devise", "Währung", "Divisa", "Moneda")),
        Column("impressions", ("Impressions", "Impressionen", "Impresiones")),
        Column("reach", ("Reach", "Couverture", "Reichweite", "Alcance")),
        Column("frequency", ("Frequency", "Répétition", "Frequenz", "Frecuencia")),
        Column(
            "spend", ("Amount spent", "Montant dépensé", "Ausgegebener Betrag", "Importe gastado")
        ),
        Column("clicks", ("Link clicks", "Clics sur un lien", "Link-Klicks", "Clics en el enlace")),
        Column("clicks_all", ("Clicks (all)", "Clics (tous)", "Klicks (alle)", "Clics (todos)")),
        Column(
            "ctr",
            (
                "CTR (link click-through rate)",
                "CTR (taux de clics sur le lien)",
                "CTR (Link-Klickrate)",
                "CTR (porcentaje de clics en el enlace)",
                "CTR (tasa de clics en el enlace)",
            ),
        ),
        Column("ctr_all", ("CTR (all)", "CTR (tous)", "CTR (alle)", "CTR (todos)")),
        Column(
            "cpm",
            (
                "CPM (cost per 1,000 impressions)",
                "CPM (coût pour 1 000 impressions)",
                "CPM (Kosten pro 1.000 Impressionen)",
                "CPM (costo por mil impresiones)",
                "CPM (coste por 1000 impresiones)",
            ),
        ),
        Column(
            "cpc",
            (
                "CPC (cost per link click)",
                "CPC (coût par clic sur un lien)",
                "CPC (Kosten pro Link-Klick)",
                "CPC (costo por clic en el enlace)",
                "CPC (coste por clic en el enlace)",
            ),
        ),
        Column("results", ("Results", "Résultats", "Ergebnisse", "Resultados")),
        Column(
            "result_indicator",
            (
                "Result indicator",
                "Indicateur de résultats",
                "Ergebnisindikator",
                "Indicador de resultados",
                "Indicador de resultado",
            ),
        ),
    ),
)
