"""The dashboard: server-rendered pages (Jinja2) for advertisers, publishers and the network."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from backbeat.domain.accounts import Principal
from backbeat.web.dashboard import (
    accounts,
    auth_views,
    campaigns,
    compare,
    inventory,
    network,
    publisher_reports,
    review,
    wizard,
)
from backbeat.web.dashboard import session as sessions
from backbeat.web.dashboard.base import viewer_of

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def routes() -> list[Route]:
    return [
        Route("/", auth_views.home),
        Route("/login", auth_views.login_page, methods=["GET", "POST"]),
        Route("/logout", auth_views.logout, methods=["POST"]),
        # --- catalog pages: campaign wizard, creative review, accounts, publisher inventory ---
        Route("/campaigns/new", wizard.new_campaign, methods=["GET", "POST"]),
        Route("/campaigns/new/forecast", wizard.forecast),
        Route("/network/review", review.queue),
        Route("/network/review/{creative_id:int}", review.decide, methods=["POST"]),
        Route("/network/accounts", accounts.overview),
        Route("/network/accounts/advertisers", accounts.add_advertiser, methods=["POST"]),
        Route("/network/accounts/publishers", accounts.add_publisher, methods=["POST"]),
        Route("/network/accounts/users", accounts.add_user, methods=["POST"]),
        Route("/network/accounts/users/{user_id:int}", accounts.set_active, methods=["POST"]),
        Route("/publisher", inventory.overview),
        Route("/publisher/sites", inventory.add_site, methods=["POST"]),
        Route("/publisher/sites/{site_id:int}", inventory.site_page),
        Route(
            "/publisher/sites/{site_id:int}/placements", inventory.add_placement, methods=["POST"]
        ),
        # --- end of catalog pages ---
        # --- report pages: campaigns, exports and status, earnings, network, IVT, compare ---
        Route("/campaigns", campaigns.overview),
        Route("/campaigns/{campaign_id:int}", campaigns.campaign_page),
        Route("/campaigns/{campaign_id:int}/status", campaigns.set_status, methods=["POST"]),
        Route("/campaigns/{campaign_id:int}/export.csv", campaigns.export_csv),
        Route("/campaigns/{campaign_id:int}/export.json", campaigns.export_json),
        Route("/campaigns/{campaign_id:int}/export.html", campaigns.export_html),
        Route("/publisher/earnings", publisher_reports.earnings_page),
        Route("/network", network.overview),
        Route("/network/ivt", network.ivt_page),
        Route("/compare", compare.compare_page, methods=["GET", "POST"]),
        # --- end of report pages ---
    ]


def session_principal(request: Request) -> Principal | None:
    """Lets the dashboard's session call the JSON API. Reads need nothing more; writes need
    the session's CSRF token in an `X-CSRF-Token` header (a cookie alone never writes)."""
    viewer = viewer_of(request)
    if viewer is None:
        return None
    if request.method not in SAFE_METHODS and not sessions.csrf_ok(
        viewer.session, request.headers.get("x-csrf-token")
    ):
        return None
    return viewer.principal
