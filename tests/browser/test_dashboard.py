"""The dashboard in a real browser: Debian's Chromium against a real Backbeat server whose
data directory was filled by ``backbeat demo`` (real campaigns, traffic and findings).

Signing in as each role, a campaign page drawing its charts, the campaign wizard through to
a pending campaign whose ad an admin then approves, a publisher copying an ad tag, and the
pages at phone width. With ``BACKBEAT_SCREENSHOT=1`` (``scripts/screenshot.py``) the
campaign-page test also saves the README's screenshot, over the full demo network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.dashboard import (
    ADMIN,
    ADVERTISER,
    CAMPAIGN,
    FULL_DEMO,
    PUBLISHER,
    SHORT_DEMO,
    DemoDashboard,
    Login,
    page_overflow,
    save_campaign_screenshot,
    screenshot_wanted,
    sign_in,
    sign_in_as,
)
from tests.browser.site import png

pytestmark = pytest.mark.browser

NewContext = Callable[..., BrowserContext]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoDashboard]:
    """One server over a demo data directory for the module (each test signs in afresh)."""
    data_dir = tmp_path_factory.mktemp("backbeat-dashboard") / "data"
    server = DemoDashboard(data_dir, FULL_DEMO if screenshot_wanted() else SHORT_DEMO)
    yield server
    server.stop()


def _open_campaign(tab: Page, base_url: str, name: str = CAMPAIGN) -> None:
    """From the campaigns list, follow the link to one campaign's page."""
    tab.goto(base_url + "/campaigns")
    tab.get_by_role("link", name=name, exact=True).first.click()
    expect(tab.get_by_role("heading", level=1)).to_have_text(name)


def _points(tab: Page) -> list[int]:
    """data-points of every drawn chart canvas on the page."""
    got = tab.eval_on_selector_all(
        "canvas[data-chart][data-drawn='true']",
        "cs => cs.map(c => parseInt(c.getAttribute('data-points') || '0', 10))",
    )
    return [int(n) for n in got]


@pytest.mark.parametrize("login", [ADMIN, ADVERTISER, PUBLISHER], ids=lambda x: x.role)
def test_each_role_lands_on_its_home_with_its_navigation(
    new_context: NewContext, dashboard: DemoDashboard, login: Login
) -> None:
    tab = new_context().new_page()
    sign_in_as(tab, dashboard.url, login)
    nav = tab.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(list(login.nav))
    expect(tab.locator(".who")).to_have_text(f"{login.email} ({login.role})")
    current = nav.locator("[aria-current='page']")
    expect(current).to_have_attribute("href", login.home)


def test_a_wrong_password_shows_the_message_on_the_login_page(
    new_context: NewContext, dashboard: DemoDashboard
) -> None:
    tab = new_context().new_page()
    sign_in(tab, dashboard.url, ADVERTISER.email, "not-the-password")
    expect(tab).to_have_url(dashboard.url + "/login")
    expect(tab.get_by_role("alert")).to_have_text("Wrong e-mail or password.")
    expect(tab.locator("#email")).to_have_value(ADVERTISER.email)
    expect(tab.get_by_role("navigation", name="Main")).to_have_count(0)
    tab.goto(dashboard.url + "/campaigns")  # still signed out
    expect(tab).to_have_url(dashboard.url + "/login?next=/campaigns")


def test_a_campaign_page_draws_its_charts_from_real_data(
    new_context: NewContext, dashboard: DemoDashboard
) -> None:
    shot = screenshot_wanted()  # still charts for the picture: no animation mid-draw
    tab = new_context(viewport=DESKTOP, reduced_motion="reduce" if shot else None).new_page()
    sign_in_as(tab, dashboard.url, ADVERTISER)
    _open_campaign(tab, dashboard.url)
    canvases = tab.locator("canvas[data-chart]")
    expect(canvases.first).to_be_visible()
    count = canvases.count()
    expect(tab.locator("canvas[data-chart][data-drawn='true']")).to_have_count(count)
    points = _points(tab)
    assert len(points) == count and max(points) > 0, points
    impressions = int(tab.locator("#kpi-impressions").inner_text().replace(",", ""))
    assert impressions > 0
    expect(tab.locator("#findings-heading")).to_be_visible()
    expect(tab.locator("article.finding").first).to_be_visible()
    if shot:
        save_campaign_screenshot(tab)


def _png_file(tmp_path: Path, width: int, height: int) -> Path:
    path = tmp_path / f"cover-{width}x{height}.png"
    path.write_bytes(png(width, height, (34, 18, 74)))
    return path


def _step(tab: Page, key: str, number: int) -> None:
    heading = tab.locator("#step-heading")
    expect(heading).to_have_attribute("data-step", key)
    expect(heading).to_contain_text(f"Step {number} of 5")


def test_the_wizard_makes_a_pending_campaign_whose_ad_an_admin_approves(
    new_context: NewContext, dashboard: DemoDashboard, tmp_path: Path
) -> None:
    name = "Browser test: Night Drive remix"
    creative_name = "Remix cover 300x250"
    tab = new_context(viewport=DESKTOP).new_page()
    sign_in_as(tab, dashboard.url, ADVERTISER)
    tab.goto(dashboard.url + "/campaigns/new")
    _step(tab, "objective", 1)

    tab.locator("#wizard-next").click()  # nothing filled in: the errors are on the page
    _step(tab, "objective", 1)
    expect(tab.locator("#error-summary")).to_be_visible()
    expect(tab.locator("#error-summary")).to_be_focused()
    expect(tab.locator("#err-name")).to_be_visible()

    tab.locator("#name").fill(name)
    tab.locator("#objective-traffic").check()
    tab.locator("#wizard-next").click()
    _step(tab, "budget", 2)
    tab.locator("#budget-total").fill("250")
    tab.locator("#pricing-cpm").check()
    tab.locator("#bid").fill("5.00")
    tab.locator("#cap").fill("3")
    expect(tab.locator("#forecast-body [data-fc='impressions']")).not_to_have_text("")
    tab.locator("#wizard-next").click()

    _step(tab, "audience", 3)
    tab.locator("#genre-electronic").check()
    tab.locator("#device-mobile").check()
    tab.locator("#wizard-next").click()

    _step(tab, "creative", 4)
    tab.locator("#size").select_option("300x250")
    tab.locator("#file").set_input_files(str(_png_file(tmp_path, 300, 250)))
    expect(tab.locator("#image-preview")).to_be_visible()
    expect(tab.locator("#image-preview-status")).to_have_text("Preview: 300 × 250 pixels.")
    preview = tab.locator("#image-preview img")
    expect(preview).to_have_attribute("width", "300")
    expect(preview).to_have_attribute("height", "250")
    tab.locator("#destination-url").fill("https://listen.example/nova-lux/night-drive-remix")
    tab.locator("#destination-kind").select_option("streaming")
    tab.locator("#alt-text").fill("Nova Lux, Night Drive remix cover")
    tab.locator("#creative-name").fill(creative_name)
    tab.locator("#wizard-next").click()

    _step(tab, "confirm", 5)
    confirm = tab.locator("#confirm-preview img")
    expect(confirm).to_be_visible()
    assert confirm.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [300, 250]
    expect(tab.locator("#wizard-summary")).to_contain_text(name)
    tab.locator("#wizard-submit").click()
    expect(tab.locator("#done-heading")).to_have_text("Your campaign is in review")
    expect(tab.get_by_role("status")).to_contain_text(name)
    tab.locator("#go-campaigns").click()
    expect(tab).to_have_url(dashboard.url + "/campaigns")
    expect(tab.get_by_role("link", name=name, exact=True)).to_be_visible()

    admin = new_context(viewport=DESKTOP).new_page()
    sign_in_as(admin, dashboard.url, ADMIN)
    admin.goto(dashboard.url + "/network/review")
    item = admin.locator("article.review-item").filter(
        has=admin.get_by_role("heading", name=creative_name, exact=True)
    )
    expect(item).to_have_count(1)
    item_id = (item.get_attribute("id") or "").removeprefix("creative-")
    assert item_id.isdigit(), item_id
    expect(admin.locator(f"#destination-{item_id} mark.host")).to_have_text("listen.example")
    uploaded = admin.locator(f"#creative-{item_id} img")
    expect(uploaded).to_have_attribute("width", "300")
    assert uploaded.evaluate("img => img.complete && img.naturalWidth") == 300  # really served
    admin.locator(f"#approve-{item_id}").click()
    expect(admin.locator("#review-flash")).to_be_visible()
    expect(admin.locator(f"#creative-{item_id}")).to_have_count(0)
    admin.reload()
    expect(admin.locator(f"#creative-{item_id}")).to_have_count(0)


def test_a_publisher_copies_an_ad_tag_to_the_clipboard(
    new_context: NewContext, dashboard: DemoDashboard
) -> None:
    context = new_context(permissions=["clipboard-read", "clipboard-write"])
    tab = context.new_page()
    sign_in_as(tab, dashboard.url, PUBLISHER)
    button = tab.locator("button[id^='copy-tag-']").first
    expect(button).to_be_visible()
    tag_id = (button.get_attribute("id") or "").removeprefix("copy-")
    placement = tag_id.removeprefix("tag-")
    assert placement.isdigit(), tag_id
    expect(tab.locator(f"#placement-{placement}")).to_be_visible()
    snippet = tab.locator(f"#{tag_id}").text_content() or ""
    assert f'data-backbeat-placement="{placement}"' in snippet
    button.click()
    expect(tab.locator(f"#status-{tag_id}")).to_have_text("Copied")
    assert tab.evaluate("() => navigator.clipboard.readText()") == snippet


def _copy_a_tag(tab: Page, base_url: str) -> tuple[str, str]:
    """Sign in as the publisher and click the first tag's copy button: (tag id, snippet)."""
    sign_in_as(tab, base_url, PUBLISHER)
    button = tab.locator("button[id^='copy-tag-']").first
    expect(button).to_be_visible()
    tag_id = (button.get_attribute("id") or "").removeprefix("copy-")
    snippet = tab.locator(f"#{tag_id}").text_content() or ""
    button.click()
    return tag_id, snippet


# A Clipboard API whose promise never settles, as it can in an unfocused document.
_STUCK_CLIPBOARD = (
    "Object.defineProperty(navigator.clipboard, 'writeText',"
    " {value: () => new Promise(() => {})});"
)


def test_a_copy_the_clipboard_api_never_answers_falls_back_and_says_copied(
    new_context: NewContext, dashboard: DemoDashboard
) -> None:
    context = new_context(permissions=["clipboard-read", "clipboard-write"])
    context.add_init_script(_STUCK_CLIPBOARD)
    tab = context.new_page()
    tag_id, snippet = _copy_a_tag(tab, dashboard.url)
    expect(tab.locator(f"#status-{tag_id}")).to_have_text("Copied", timeout=5_000)
    assert tab.evaluate("() => navigator.clipboard.readText()") == snippet  # execCommand's copy


def test_a_copy_that_fails_everywhere_selects_the_tag_and_says_how_to_copy(
    new_context: NewContext, dashboard: DemoDashboard
) -> None:
    context = new_context()
    context.add_init_script(
        "Object.defineProperty(navigator.clipboard, 'writeText',"
        " {value: () => Promise.reject(new Error('denied'))});"
        "document.execCommand = () => false;"
    )
    tab = context.new_page()
    tag_id, snippet = _copy_a_tag(tab, dashboard.url)
    expect(tab.locator(f"#status-{tag_id}")).to_contain_text("Could not copy")
    assert tab.evaluate("() => window.getSelection().toString()").strip() == snippet.strip()


def _too_wide(tab: Page, what: str, found: list[str]) -> None:
    """Note `what` in `found` when the page is wider than the phone's screen."""
    scroll, inner = page_overflow(tab)
    if scroll > inner:
        found.append(f"{what} is {scroll}px wide on a {inner}px wide phone")


def test_the_campaign_pages_and_the_wizard_fit_a_phone(
    new_context: NewContext, dashboard: DemoDashboard
) -> None:
    # Not is_mobile: mobile emulation widens the layout viewport to fit overflowing content,
    # which would hide exactly what this test looks for.
    tab = new_context(viewport=PHONE).new_page()
    too_wide: list[str] = []  # every page is checked before the test fails
    sign_in_as(tab, dashboard.url, ADVERTISER)
    _too_wide(tab, "campaigns list", too_wide)
    _open_campaign(tab, dashboard.url)
    expect(tab.locator("canvas[data-chart][data-drawn='true']").first).to_be_visible()
    tab.locator("details.data-table summary").first.click()  # an open table scrolls inside
    _too_wide(tab, "campaign page", too_wide)

    tab.goto(dashboard.url + "/campaigns/new")
    _step(tab, "objective", 1)
    _too_wide(tab, "wizard step objective", too_wide)
    tab.locator("#name").fill("Phone check")
    tab.locator("#objective-awareness").check()
    tab.locator("#wizard-next").click()
    _step(tab, "budget", 2)
    _too_wide(tab, "wizard step budget", too_wide)
    tab.locator("#budget-total").fill("100")
    tab.locator("#wizard-next").click()
    _step(tab, "audience", 3)
    _too_wide(tab, "wizard step audience", too_wide)
    tab.locator("#genre-pop").check()
    tab.locator("#wizard-next").click()
    _step(tab, "creative", 4)
    _too_wide(tab, "wizard step creative", too_wide)
    assert not too_wide, "; ".join(too_wide)
