"""Targeting causes of a low CTR: the wrong genre's sites, or a few sites dragging the average.

Genre mismatch: the two-proportion z-test between genre-matched and mismatched sites, at the
family alpha, with the mismatched CTR at least `min_relative_gap` lower and at least
`min_mismatch_share` of impressions on mismatched sites (otherwise fixing it changes little).

Weak sites: each site against the rest (see `compare`: z-test, Holm, shrinkage). When the
genre split already explains the gap, each site is compared only with sites on the same side
of it, so the genre story is not told twice. The flagged sites must hold at least
`min_weak_sites_share` of impressions between them to be worth acting on.
"""

from __future__ import annotations

from backbeat.analytics.diagnosis.compare import lagging
from backbeat.analytics.diagnosis.finding import (
    Evidence,
    Finding,
    FindingKind,
    Severity,
    Thresholds,
)
from backbeat.analytics.diagnosis.wording import count, names, p_text, pct, share
from backbeat.analytics.inputs import ZERO, CampaignFacts, Counts
from backbeat.analytics.stats import two_proportion_z_test


def _sites(facts: CampaignFacts) -> dict[int, tuple[str, Counts, bool]]:
    """Placements summed per site: name, counts, genre match."""
    out: dict[int, tuple[str, Counts, bool]] = {}
    for pl in facts.placements:
        name, counts, match = out.get(pl.site_id, (pl.site_name, ZERO, pl.genre_match))
        out[pl.site_id] = (name, counts + pl.counts, match)
    return out


def genre_mismatch(facts: CampaignFacts, th: Thresholds, severity: Severity) -> Finding | None:
    """A finding when sites outside the campaign's genres click clearly less."""
    split = facts.genre_counts()
    if split is None:
        return None
    m, x = split.matched, split.mismatched
    if min(m.impressions, x.impressions) < th.min_item_impressions or m.clicks == 0:
        return None
    portion = x.impressions / (m.impressions + x.impressions)
    z, p = two_proportion_z_test(m.clicks, m.impressions, x.clicks, x.impressions)
    rate_m, rate_x = m.clicks / m.impressions, x.clicks / x.impressions
    if not (
        z < 0
        and p < th.family_alpha
        and portion >= th.min_mismatch_share
        and rate_x <= (1 - th.min_relative_gap) * rate_m
    ):
        return None
    missed = round(x.impressions * rate_m) - x.clicks
    off_genre = sorted(
        (s for s in _sites(facts).values() if not s[2]), key=lambda s: -s[1].impressions
    )
    site_names = [s[0] for s in off_genre]
    where = f" The largest of them: {names(site_names)}." if site_names else ""
    return Finding(
        FindingKind.GENRE_MISMATCH,
        severity,
        "Sites outside your genre are pulling your clicks down",
        f"On sites that match your music's genre, {pct(rate_m)} of people clicked; on other "
        f"sites only {pct(rate_x)}. A gap this size is not chance. {share(portion)} of your "
        "impressions went to those other sites, where listeners are less likely to care "
        f"about your music.{where}",
        (
            Evidence.rate(
                "CTR on sites matching your genre", m.clicks, m.impressions, th.confidence
            ),
            Evidence.rate("CTR on other sites", x.clicks, x.impressions, th.confidence),
            Evidence.note("Share of impressions on other sites", share(portion), portion),
            Evidence.note("Statistical test", f"two-proportion z = {z:.2f}, {p_text(p)}", p),
            Evidence.note(
                "Clicks missed",
                f"about {count(max(missed, 0))} more clicks had those impressions done as "
                "well as the genre-matched sites",
                float(max(missed, 0)),
            ),
        ),
        "Target your campaign at your genres only (add genres to the targeting, or exclude "
        "the off-genre sites). Fewer, better-matched impressions cost the same per thousand "
        "and bring more clicks.",
        tuple(site_names),
    )


def weak_sites(
    facts: CampaignFacts, th: Thresholds, severity: Severity, *, by_genre: bool
) -> Finding | None:
    """A finding naming the sites whose CTR is clearly below the rest (see module docstring)."""
    sites = _sites(facts)
    if len(sites) < 2:
        return None
    if by_genre:
        groups = [
            [(n, c) for n, c, match in sites.values() if match == side] for side in (True, False)
        ]
    else:
        groups = [[(n, c) for n, c, _ in sites.values()]]
    lags = lagging(
        [g for g in groups if len(g) >= 2],
        alpha=th.family_alpha,
        min_impressions=th.min_item_impressions,
        min_gap=th.min_relative_gap,
    )
    weak = sorted((lag for lag in lags if lag.flagged), key=lambda lag: -lag.item.impressions)
    total = sum((c for _, c, _ in sites.values()), ZERO)
    weak_total = sum((lag.item for lag in weak), ZERO)
    if not weak or total.impressions == 0:
        return None
    portion = weak_total.impressions / total.impressions
    if portion < th.min_weak_sites_share:
        return None
    others = Counts(total.impressions - weak_total.impressions, total.clicks - weak_total.clicks)
    site_names = [lag.name for lag in weak]
    compared = "similar sites (same genre match)" if by_genre else "your other sites"
    evidence = [
        Evidence.rate(
            f"CTR on “{lag.name}” "
            f"({share(lag.item.impressions / total.impressions)} of impressions)",
            lag.item.clicks,
            lag.item.impressions,
            th.confidence,
        )
        for lag in weak[:5]
    ]
    evidence += [
        Evidence.rate(
            "CTR on all other sites (your CTR without these)",
            others.clicks,
            others.impressions,
            th.confidence,
        ),
        Evidence.note("Share of impressions on these sites", share(portion), portion),
        Evidence.note(
            "Statistical test",
            f"each site against {compared}: two-proportion z-test, Holm-adjusted across "
            f"{len(lags)} sites; largest adjusted {p_text(max(lag.p_adjusted for lag in weak))}",
        ),
    ]
    return Finding(
        FindingKind.WEAK_SITES,
        severity,
        "A few sites are dragging your click rate down",
        f"{names(site_names)} took {share(portion)} of your impressions but got clearly fewer "
        f"clicks than {compared}. We tested each site against the rest and allowed for "
        "testing many at once, so these are not just unlucky. Their audience, or where the "
        "ad sits on their pages, is not working for this campaign.",
        tuple(evidence),
        f"Exclude {names(site_names)} from the campaign's sites, and the budget will go to the "
        "sites that work. Check their viewability too: ads nobody sees get no clicks.",
        tuple(site_names),
    )
