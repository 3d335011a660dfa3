"""Spotify Ad Studio exports.

The audio funnel is Starts, First Quartiles, Midpoints, Third Quartiles and Completes: they
become ``starts``, ``q25``, ``q50``, ``q75`` and ``completes``. Video ads add ``Video Views``.
``Clicks`` are clicks to the advertiser's destination.
"""

from __future__ import annotations

from backbeat.importers.columns import Column, PlatformSpec

SPEC = PlatformSpec(
    name="spotify",
    label="Spotify Ad Studio",
    columns=(
        Column("day", ("Date", "Day")),
        Column("start", ("Start date", "Start Date")),
        Column("end", ("End date", "End Date")),
        Column("account", ("Ad account", "Account")),
        Column("campaign", ("Campaign name", "Campaign")),
        Column("ad_group", ("Ad set name", "Ad set")),
        Column("ad", ("Ad name", "Ad")),
        Column("currency", ("Currency",)),
        Column("impressions", ("Impressions",)),
        Column("reach", ("Reach",)),
        Column("frequency", ("Frequency",)),
        Column("clicks", ("Clicks",)),
        Column("ctr", ("CTR",)),
        Column("cpm", ("CPM", "eCPM")),
        Column("spend", ("Spend",)),
        Column("starts", ("Starts",)),
        Column("q25", ("First Quartiles", "First quartile")),
        Column("q50", ("Midpoints", "Midpoint")),
        Column("q75", ("Third Quartiles", "Third quartile")),
        Column("completes", ("Completes", "Completions")),
        Column("views", ("Video Views",)),
    ),
)
