"""TikTok Ads Manager exports.

``Clicks (destination)`` are clicks to the advertiser's destination and become ``clicks``;
``Clicks (all)``, when present, is kept apart as ``clicks_all``. Video views at 25/50/75/100%
are counts. A report without a date column covers the range chosen when exporting: pass it
as ``period=``.
"""

from __future__ import annotations

from backbeat.importers.columns import Column, PlatformSpec

SPEC = PlatformSpec(
    name="tiktok",
    label="TikTok Ads Manager",
    columns=(
        Column("day", ("Date", "By Day", "Day", "Stat time")),
        Column("account", ("Advertiser name", "Account name")),
        Column("campaign", ("Campaign name", "Campaign")),
        Column("ad_group", ("Ad group name", "Ad group")),
        Column("ad", ("Ad name",)),
        Column("currency", ("Currency",)),
        Column("spend", ("Cost", "Total cost")),
        Column("impressions", ("Impressions",)),
        Column("reach", ("Reach",)),
        Column("frequency", ("Frequency",)),
        Column("cpm", ("CPM",)),
        Column("clicks", ("Clicks (destination)",)),
        Column("cpc", ("CPC (destination)",)),
        Column("ctr", ("CTR (destination)",)),
        Column("clicks_all", ("Clicks (all)",)),
        Column("ctr_all", ("CTR (all)",)),
        Column("conversions", ("Conversions",)),
        Column("results", ("Results",)),
        Column("views", ("Video views",)),
        Column("views_2s", ("2-second video views",)),
        Column("views_6s", ("6-second video views",)),
        Column("q25", ("Video views at 25%",)),
        Column("q50", ("Video views at 50%",)),
        Column("q75", ("Video views at 75%",)),
        Column("q100", ("Video views at 100%",)),
    ),
)
