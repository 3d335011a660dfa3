"""The "Start your campaign" wizard, through the real app: every step, bad input, bad
uploads, abandoning, double submits, tenancy and the JSON alternative."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from httpx2 import Response
from starlette.testclient import TestClient

from backbeat.config import Settings
from backbeat.domain.audience import Audience, AudienceRule, Engagement
from backbeat.domain.campaign import CampaignStatus, Objective, Pricing
from backbeat.domain.creative import ReviewStatus
from backbeat.domain.taxonomy import DeviceType
from backbeat.store.catalog import SqlCatalog
from backbeat.web.dashboard.wizard_form import STAGING, sweep_staging
from tests.web.api import payloads
from tests.web.conftest import World
from tests.web.dashboard.pages import as_form, described_by, element, hidden_fields, login

DAY = timedelta(days=1)
TODAY = datetime.now(UTC).date()
START, END = TODAY + 5 * DAY, TODAY + 34 * DAY
OBJECTIVE = {"name": "Night Drive - single launch", "objective": "traffic"}
BUDGET = {
    "budget_total": "500",
    "pricing": "cpm",
    "bid": "3.00",
    "start": START.isoformat(),
    "end": END.isoformat(),
    "timezone": "America/New_York",
    "cap": "3",
}
AUDIENCE = {"genres": ["pop", "electronic"], "countries": "us, CA", "devices": ["mobile"]}
CREATIVE = {
    "size": "300x250",
    "destination_url": "https://open.spotify.com/track/night-drive",
    "destination_kind": "streaming",
    "alt_text": "Night Drive cover: a car under neon lights",
}
STEP_INPUTS: dict[str, Mapping[str, object]] = {
    "objective": OBJECTIVE,
    "budget": BUDGET,
    "audience": AUDIENCE,
}


@dataclass
class Wizard:
    client: TestClient
    page: str = ""

    def start(self) -> Response:
        resp = self.client.get("/campaigns/new")
        assert resp.status_code == 200, resp.text
        self.page = resp.text
        return resp

    def post(self, files: dict[str, Any] | None = None, /, **fields: Any) -> Response:
        data = as_form(hidden_fields(self.page), **fields)
        resp = self.client.post("/campaigns/new", data=data, files=files)
        self.page = resp.text
        return resp

    def heading(self) -> str:
        start = self.page.index('id="step-heading"')
        return self.page[self.page.index(">", start) + 1 : self.page.index("</h2>", start)]

    def to_creative_step(self, **overrides: Any) -> None:
        self.start()
        for step in ("objective", "budget", "audience"):
            resp = self.post(**{**STEP_INPUTS[step], **overrides.get(step, {})})
            assert resp.status_code == 200, resp.text

    def upload(self, data: bytes, name: str = "cover.png", mime: str = "image/png") -> Response:
        return self.post({"file": (name, data, mime)}, **CREATIVE)

    def to_confirm(self, **overrides: Any) -> None:
        self.to_creative_step(**overrides)
        resp = self.upload(payloads.png(300, 250))
        assert resp.status_code == 200, resp.text
        assert self.heading() == "Step 5 of 5: Check and submit"


def _nothing_created(catalog: SqlCatalog, settings: Settings) -> None:
    assert catalog.campaigns.all() == []
    assert catalog.creatives.all() == []
    assert not any(Path(settings.uploads_dir).iterdir())


def test_wizard_creates_a_draft_campaign_and_a_pending_creative(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    login(client, settings, "a@example.com")
    w = Wizard(client)
    w.start()
    assert w.heading() == "Step 1 of 5: Objective"
    for text in ("Exposure", "streaming page, your store, tickets or your profile", "already"):
        assert text in w.page
    w.post(**OBJECTIVE)
    assert w.heading() == "Step 2 of 5: Budget and schedule"
    assert "The network floor is $2.50" in w.page
    assert element(w.page, "bid")["value"] == "2.50"  # the floor is the suggested bid
    w.post(**BUDGET)
    assert w.heading() == "Step 3 of 5: Audience"
    impressions = 500 * 1000 // 3  # what $500 buys at a $3.00 CPM, with no traffic on record
    assert f'data-fc="impressions">{impressions:,}<' in w.page
    w.post(**AUDIENCE)
    assert w.heading() == "Step 4 of 5: Creative"
    image = payloads.png(300, 250)
    w.upload(image)
    assert w.heading() == "Step 5 of 5: Check and submit"
    preview = element(w.page, "confirm-preview")
    assert preview is not None
    assert 'width="300" height="250"' in w.page and "data:image/png;base64," in w.page
    assert catalog.campaigns.all() == []  # nothing is written before the final submit

    done = w.post(action="submit")
    assert done.status_code == 201, done.text
    assert element(done.text, "done-heading") is not None
    assert 'href="/campaigns"' in done.text and "review" in done.text

    (campaign,) = catalog.campaigns.all()
    (creative,) = catalog.creatives.all()
    zone = ZoneInfo("America/New_York")
    assert campaign.advertiser_id == world.adv_a.advertiser_id
    assert campaign.status is CampaignStatus.DRAFT
    assert campaign.objective is Objective.TRAFFIC and campaign.pricing is Pricing.CPM
    assert (campaign.bid_micros, campaign.budget_total_micros) == (3_000_000, 500_000_000)
    assert campaign.start == datetime.combine(START, datetime.min.time(), zone)
    assert campaign.end == datetime.combine(END + DAY, datetime.min.time(), zone)
    assert campaign.frequency_cap is not None and campaign.frequency_cap.impressions == 3
    assert campaign.targeting.genres == {"pop", "electronic"}
    assert campaign.targeting.countries == {"US", "CA"}
    assert campaign.targeting.devices == {DeviceType.MOBILE}
    assert creative.campaign_id == campaign.id
    assert creative.review_status is ReviewStatus.PENDING
    assert creative.alt_text == CREATIVE["alt_text"]
    served = client.get(creative.asset_url.removeprefix(settings.base_url))
    assert served.status_code == 200 and served.content == image
    assert not any((settings.data_dir / STAGING).iterdir())  # the staged copy is gone


def test_each_step_has_a_json_alternative(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    login(client, settings, "a@example.com")
    first = client.get("/campaigns/new?format=json").json()
    assert first["step"] == "objective" and first["fields"] == [
        "advertiser_id",
        "name",
        "objective",
    ]
    assert first["values"]["bid"] == "2.50" and first["errors"] == []
    w = Wizard(client)
    w.start()
    data = as_form(hidden_fields(w.page), **OBJECTIVE)
    second = client.post("/campaigns/new?format=json", data=data).json()
    assert second["step"] == "budget" and second["values"]["name"] == OBJECTIVE["name"]
    assert second["forecast"] is None  # no budget typed yet
    data = as_form(hidden_fields(w.page), **OBJECTIVE)
    html = client.post("/campaigns/new", data=data).text
    third = client.post(
        "/campaigns/new?format=json", data=as_form(hidden_fields(html, "wizard-form"), **BUDGET)
    ).json()
    assert third["step"] == "audience"
    assert third["forecast"]["impressions"] == {"low": 166_666, "high": 166_666}
    bad = client.post("/campaigns/new?format=json", data={**data, "objective": "fame"})
    assert bad.status_code == 422
    assert {"field": "objective", "reason": "choose awareness, traffic or retargeting"} in (
        bad.json()["errors"]
    )
    w.to_creative_step()
    data = as_form(hidden_fields(w.page), **CREATIVE)
    files = {"file": ("c.png", payloads.png(300, 250), "image/png")}
    confirm = client.post("/campaigns/new?format=json", data=data, files=files).json()
    assert confirm["step"] == "confirm" and confirm["preview"] == {"width": 300, "height": 250}
    final = as_form(
        [(k, v) for k, v in confirm["values"].items() if v]
        + [(k, v) for k, vs in confirm["lists"].items() for v in vs],
        csrf=hidden_fields(w.page)[0][1],
        step="confirm",
    )
    done = client.post("/campaigns/new?format=json", data=final)
    assert done.status_code == 201
    body = done.json()
    assert body["campaign"]["status"] == "draft"
    assert body["creative"]["review_status"] == "pending"
    assert catalog.campaigns.get(body["campaign"]["id"]).name == OBJECTIVE["name"]


def test_invalid_budget_is_shown_next_to_each_field(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    login(client, settings, "a@example.com")
    w = Wizard(client)
    w.start()
    w.post(**OBJECTIVE)
    past = (TODAY - 3 * DAY).isoformat()
    resp = w.post(**{**BUDGET, "budget_total": "lots", "bid": "1.00", "start": past, "cap": "x"})
    assert resp.status_code == 422
    assert w.heading() == "Step 2 of 5: Budget and schedule"
    assert element(w.page, "error-summary")["role"] == "alert"
    for ident in ("budget-total", "bid", "start", "cap"):
        assert element(w.page, ident)["aria-invalid"] == "true"
        assert f"err-{ident}" in described_by(w.page, ident)
        assert element(w.page, f"err-{ident}") is not None
    assert "below the network floor of 2.50" in w.page
    assert "not a decimal amount" in w.page and "the start date has passed" in w.page
    assert element(w.page, "budget-total")["value"] == "lots"  # what was typed stays
    resp = w.post(**{**BUDGET, "end": (START - 2 * DAY).isoformat()})
    assert resp.status_code == 422 and "must come after start" in w.page
    _nothing_created(catalog, settings)


def test_first_step_needs_a_name_and_an_objective(
    client: TestClient, world: World, settings: Settings
) -> None:
    login(client, settings, "a@example.com")
    w = Wizard(client)
    w.start()
    resp = w.post(name="  ")
    assert resp.status_code == 422
    assert w.heading() == "Step 1 of 5: Objective"
    assert "must not be empty" in w.page and "choose awareness, traffic or retargeting" in w.page
    assert element(w.page, "objective")["aria-invalid"] == "true"
    assert described_by(w.page, "name") == ["name-hint", "err-name"]


def test_back_keeps_what_was_typed(client: TestClient, world: World, settings: Settings) -> None:
    login(client, settings, "a@example.com")
    w = Wizard(client)
    w.start()
    w.post(**OBJECTIVE)
    w.post(**{**BUDGET, "budget_total": "750"}, action="back")
    assert w.heading() == "Step 1 of 5: Objective"
    assert element(w.page, "name")["value"] == OBJECTIVE["name"]
    assert element(w.page, "objective-traffic").get("checked") == ""
    w.post(**OBJECTIVE)
    assert element(w.page, "budget-total")["value"] == "750"


def test_bad_uploads_are_refused_with_a_message(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    login(client, settings, "a@example.com")
    w = Wizard(client)
    w.to_creative_step()
    cases = [
        (b"<svg onload=alert(1)></svg>", "image/svg+xml", 422, "not an image we accept"),
        (payloads.png(300, 251), "image/png", 422, "image is 300x251"),
        (b"\x89PNG" + b"0" * (settings.max_upload_bytes + 10), "image/png", 413, "larger than"),
        (b"", "image/png", 422, "the file is empty"),
    ]
    for data, mime, status, message in cases:
        resp = w.upload(data, mime=mime)
        assert resp.status_code == status, message
        assert w.heading() == "Step 4 of 5: Creative"
        assert message in w.page
        assert "err-file" in described_by(w.page, "file")
    resp = w.post(**CREATIVE)  # no file at all
    assert resp.status_code == 422 and "choose the image to show" in w.page
    _nothing_created(catalog, settings)
    assert not (settings.data_dir / STAGING).exists() or not any(
        (settings.data_dir / STAGING).iterdir()
    )


def test_a_staged_image_is_kept_and_rechecked_against_the_size(
    client: TestClient, world: World, settings: Settings
) -> None:
    login(client, settings, "a@example.com")
    w = Wizard(client)
    w.to_confirm()
    w.post(action="back")
    assert w.heading() == "Step 4 of 5: Creative"
    assert element(w.page, "staged-preview") is not None  # no need to choose it again
    resp = w.post(**{**CREATIVE, "size": "728x90"})
    assert resp.status_code == 422 and "image is 300x250 but the declared size is 728x90" in w.page


def test_abandoning_or_failing_at_the_end_leaves_nothing(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    login(client, settings, "a@example.com")
    w = Wizard(client)
    w.to_confirm()
    # A hidden field edited by hand is checked again at the end: nothing half-created.
    resp = w.post(action="submit", bid="0.50")
    assert resp.status_code == 422
    assert w.heading() == "Step 2 of 5: Budget and schedule"
    _nothing_created(catalog, settings)
    # Abandoned here: the catalog and the uploads stay empty; the staged image is swept.
    staging = settings.data_dir / STAGING
    assert len(list(staging.iterdir())) == 1
    assert sweep_staging(staging, max_age_s=3600) == 0
    assert sweep_staging(staging, max_age_s=0) == 1
    _nothing_created(catalog, settings)


def test_submitting_twice_creates_one_campaign(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    login(client, settings, "a@example.com")
    w = Wizard(client)
    w.to_confirm()
    final = as_form(hidden_fields(w.page), action="submit")
    first = client.post("/campaigns/new", data=final)
    second = client.post("/campaigns/new", data=final)
    assert (first.status_code, second.status_code) == (201, 409)
    assert "Already submitted" in second.text
    assert len(catalog.campaigns.all()) == 1 and len(catalog.creatives.all()) == 1


def test_admin_picks_the_advertiser(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    login(client, settings, "admin@example.com")
    w = Wizard(client)
    w.start()
    assert element(w.page, "advertiser-id")["name"] == "advertiser_id"
    resp = w.post(**OBJECTIVE)
    assert resp.status_code == 422 and "choose the advertiser" in w.page
    w.to_confirm(objective={"advertiser_id": str(world.adv_b.advertiser_id)})
    assert w.post(action="submit").status_code == 201
    (campaign,) = catalog.campaigns.all()
    assert campaign.advertiser_id == world.adv_b.advertiser_id
    assert catalog.creatives.all()[0].advertiser_id == world.adv_b.advertiser_id


def test_an_advertiser_cannot_create_for_another(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    login(client, settings, "a@example.com")
    w = Wizard(client)
    w.to_confirm(objective={"advertiser_id": str(world.adv_b.advertiser_id)})
    assert w.post(action="submit", advertiser_id=str(world.adv_b.advertiser_id)).status_code == 201
    (campaign,) = catalog.campaigns.all()
    assert campaign.advertiser_id == world.adv_a.advertiser_id


def test_retargeting_needs_one_of_the_advertisers_own_audiences(
    client: TestClient, world: World, settings: Settings, catalog: SqlCatalog
) -> None:
    assert world.adv_a.advertiser_id is not None and world.adv_b.advertiser_id is not None
    rule = AudienceRule(Engagement.CLICKED, campaign_id=1, days=30)
    own = catalog.audiences.add(Audience(world.adv_a.advertiser_id, "Clicked the teaser", rule))
    other = catalog.audiences.add(Audience(world.adv_b.advertiser_id, "Granite fans", rule))
    login(client, settings, "a@example.com")
    w = Wizard(client)
    w.start()
    w.post(**{**OBJECTIVE, "objective": "retargeting"})
    w.post(**BUDGET)
    assert "Clicked the teaser" in w.page and "Granite fans" not in w.page
    resp = w.post(**AUDIENCE)
    assert resp.status_code == 422 and "choose an audience" in w.page
    resp = w.post(**AUDIENCE, audiences=[str(other.id)])
    assert resp.status_code == 422 and f"audience {other.id} not found" in w.page
    resp = w.post(**AUDIENCE, audiences=[str(own.id)])
    assert resp.status_code == 200 and w.heading() == "Step 4 of 5: Creative"
    w.upload(payloads.png(300, 250))
    assert w.post(action="submit").status_code == 201
    assert catalog.campaigns.all()[0].targeting.audiences == {own.id}


def test_other_roles_and_strangers_are_kept_out(
    client: TestClient, world: World, settings: Settings
) -> None:
    anonymous = client.get("/campaigns/new", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    as_script = {"accept": "application/json"}  # what dashboard.js sends
    assert client.get("/campaigns/new/forecast?budget=5", headers=as_script).status_code == 401
    login(client, settings, "p@example.com")
    resp = client.get("/campaigns/new")
    assert resp.status_code == 403 and "another kind of account" in resp.text
    csrf = login(client, settings, "a@example.com")
    forged = client.post(
        "/campaigns/new", data={"csrf": "forged", **OBJECTIVE, "step": "objective"}
    )
    assert forged.status_code == 403
    assert client.post("/campaigns/new", data={"csrf": csrf, **OBJECTIVE}).status_code == 200


def test_forecast_endpoint(client: TestClient, world: World, settings: Settings) -> None:
    login(client, settings, "a@example.com")
    resp = client.get("/campaigns/new/forecast?budget=500")
    assert resp.status_code == 200
    fc = resp.json()["forecast"]
    # No traffic on record: what $500 buys at the suggested bid (the $2.50 floor).
    assert fc["basis"] == "budget_only" and fc["reach"] is None
    assert fc["impressions"] == {"low": 200_000, "high": 200_000}
    assert fc["clicks"] == {"low": 1_000, "high": 2_000}  # the 0.5-1% music display benchmark
    cpc = client.get("/campaigns/new/forecast?budget=500&pricing=cpc&bid=0.25").json()
    assert cpc["forecast"]["clicks"] == {"low": 2_000, "high": 2_000}
    bad = client.get("/campaigns/new/forecast?budget=500&bid=1&countries=XX")
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"bid", "countries"}
