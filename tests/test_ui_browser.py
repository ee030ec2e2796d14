"""End-to-end tests of the web UI in real headless Chromium against a live server.

The server runs the real app (``create_app``) over the demo scenario on a free loopback
port, once per store kind (embedded; Neo4j when one is configured). The browser is Debian's
``chromium`` driven by Playwright; every request the page makes must stay on this machine,
no script error may happen, and each test saves a screenshot under
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Route,
    expect,
    sync_playwright,
)

from lineagegraph import demo
from lineagegraph.api.app import create_app
from lineagegraph.config import Settings
from lineagegraph.ids import Kind
from lineagegraph.service import LineageService
from lineagegraph.store import Store
from lineagegraph.synthetic import SyntheticGraph, dataset_id
from tests.ui_harness import CHROMIUM, CHROMIUM_ARGS, is_local, screenshot_path, serve

pytestmark = pytest.mark.browser

STG_PAYMENTS = "dataset|snowflake://acme|analytics.staging.stg_payments"
STG_ORDERS = "dataset|snowflake://acme|analytics.staging.stg_orders"
CHURN_V3 = "model_version|mlflow://registry|churn_classifier|3"
NOT_NULL_CHECK = "check|snowflake://acme|analytics.staging.stg_orders|not_null(customer_id)"
CHURN_PRODUCTION = "deployment|k8s://ml-serving|churn-production"


def route(view: str, entity_id: str | None = None, query: str = "") -> str:
    """The hash of a UI route, with the id encoded as the UI encodes it."""
    path = f"#/{view}" + (f"/{quote(entity_id, safe='')}" if entity_id else "")
    return path + (f"?{query}" if query else "")


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver for this module."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's headless chromium; a missing browser fails the tests (make browser installs it)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield instance
    instance.close()


@pytest.fixture
def server(store: Store) -> Iterator[str]:
    """The app over the demo scenario, served on a free loopback port; yields its URL."""
    service = LineageService(store)
    app = create_app(Settings(store="memory://"), service)
    for changeset in demo.scenario():
        service.apply(changeset)
    with serve(app) as url:
        yield url


@dataclass
class Watch:
    """What a page did that a test must not allow: foreign requests and script errors."""

    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def check(self) -> None:
        """Fail on any request that left the machine or any uncaught script error."""
        assert self.foreign == [], f"requests left the machine: {self.foreign}"
        assert self.errors == [], f"script errors: {self.errors}"


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser context (own storage, clipboard allowed) at a desktop size."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 960})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"])
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext, server: str) -> Iterator[tuple[Page, Watch]]:
    """A page on the live server that blocks and records any non-local request."""
    watch = Watch()

    def guard(route_: Route, request: Request) -> None:
        if is_local(request.url):
            route_.continue_()
        else:
            watch.foreign.append(request.url)
            route_.abort()

    context.route("**/*", guard)
    tab = context.new_page()
    tab.on("pageerror", lambda exc: watch.errors.append(str(exc)))

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watch.errors.append(message.text)

    tab.on("console", console)
    tab.goto(server + "/")
    yield tab, watch
    tab.close()


def open_route(tab: Page, hash_: str) -> None:
    """Navigate the single-page app to a route."""
    tab.evaluate("hash => { location.hash = hash; }", hash_)


def shoot(tab: Page, name: str) -> None:
    """Save the test's screenshot (full page, from the top)."""
    tab.evaluate("() => window.scrollTo(0, 0)")
    tab.screenshot(path=str(screenshot_path(name)), full_page=True)


def node_list_labels(tab: Page) -> list[str]:
    """The labels of the nodes drawn on the graph, from the accessible list beside it."""
    return [t.strip() for t in tab.locator("ul.node-list li button").all_inner_texts()]


# --- tests ------------------------------------------------------------------------------------


def test_graphiql_runs_from_this_server_alone(page: tuple[Page, Watch], server: str) -> None:
    # Its scripts came from unpkg.com: where the internet is out of reach, a blank page.
    tab, watch = page
    tab.goto(server + "/graphql")
    editor = tab.locator(".graphiql-query-editor .CodeMirror")
    expect(editor).to_be_visible(timeout=20_000)
    tab.evaluate(
        "() => document.querySelector('.graphiql-query-editor .CodeMirror')"
        ".CodeMirror.setValue('{ kinds }')"
    )
    tab.locator(".graphiql-execute-button").click()
    expect(tab.locator(".graphiql-response")).to_contain_text("MODEL_VERSION", timeout=20_000)
    shoot(tab, "graphiql")
    watch.check()


def test_search_opens_the_entity_page(page: tuple[Page, Watch]) -> None:
    tab, watch = page
    expect(tab.locator("h1")).to_have_text("Search the catalog")
    tab.fill("#search-input", "stg_orders")
    tab.press("#search-input", "Enter")
    hit = tab.locator(f'#results a.result[data-id="{STG_ORDERS}"]')
    expect(hit).to_be_visible()
    # the dataset filter keeps the dataset and drops its columns and checks
    tab.locator("fieldset.filters label", has_text="Dataset").click()
    expect(tab.locator("#results a.result")).to_have_count(1)
    expect(hit).to_be_visible()
    hit.click()

    expect(tab.locator("h1")).to_have_text("analytics.staging.stg_orders")
    expect(tab.locator(".subtitle .badge.health").first).to_have_text("Failing")
    schema = tab.locator('table[aria-label="Schema"]')
    expect(schema.locator("tr", has_text="customer_id")).to_contain_text("number")
    expect(schema.locator("tbody tr")).to_have_count(4)
    checks = tab.locator('table[aria-label="Checks"]')
    failing = checks.locator("tr", has_text="not_null(customer_id)")
    expect(failing).to_contain_text("failed")
    expect(failing).to_contain_text("412 null values")
    expect(checks.locator("tr", has_text="unique(order_id)")).to_contain_text("passed")
    expect(tab.locator("#overview")).to_contain_text("team:analytics-eng")
    expect(tab.locator("#health")).to_contain_text("not_null(customer_id)")
    expect(tab.locator('table[aria-label="Versions"] tbody tr')).to_have_count(5)
    shoot(tab, "search-and-entity")
    watch.check()


def test_a_deployment_page_shows_every_model_version_it_served(page: tuple[Page, Watch]) -> None:
    tab, watch = page
    open_route(tab, route("entity", CHURN_PRODUCTION))
    expect(tab.locator("h1")).to_have_text("churn-production")
    rows = tab.locator('table[aria-label="Served versions"] tbody tr')
    expect(rows).to_have_count(3)
    # the live version first, then the earlier rollouts, latest first
    expect(rows.nth(0)).to_contain_text("v3")
    expect(rows.nth(0)).to_contain_text("serving")
    expect(rows.nth(1)).to_contain_text("v2")
    expect(rows.nth(1)).to_contain_text("2026-10-05 12:00")
    expect(rows.nth(2)).to_contain_text("v1")
    expect(rows.nth(2)).not_to_contain_text("serving")
    shoot(tab, "deployment-serving-history")
    watch.check()


def test_a_failing_check_shows_its_outcome_not_a_health_of_ok(page: tuple[Page, Watch]) -> None:
    # A check's health is never set (its dataset's is), so a failing check showed "OK".
    tab, watch = page
    open_route(tab, route("entity", NOT_NULL_CHECK))
    expect(tab.locator("h1")).to_contain_text("not_null(customer_id)")
    expect(tab.locator(".subtitle .badge").nth(1)).to_have_text("failed")
    expect(tab.locator("#health")).to_have_count(0)
    latest = tab.locator('table[aria-label="Results"] tbody tr').first
    expect(latest).to_contain_text("failed")
    # a check is not drawn as lineage: no button that led to "Lineage is drawn for …"
    expect(tab.locator(".page-head .actions a", has_text="Lineage")).to_have_count(0)
    latest.locator("a").first.click()
    expect(tab.locator(".subtitle .badge").nth(1)).to_have_text("failed")
    # in search too, where the hit said OK
    open_route(tab, route("search", None, "q=not_null%20customer_id"))
    hit = tab.locator(f'#results a.result[data-id="{NOT_NULL_CHECK}"]')
    expect(hit.locator(".side .badge").nth(1)).to_have_text("failed")
    watch.check()


def test_a_model_page_shows_the_health_of_its_versions(page: tuple[Page, Watch]) -> None:
    # A model's own health is OK (failures reach its versions): its page said "No
    # failing check reaches this entity" while the version it serves was at risk.
    tab, watch = page
    open_route(tab, route("entity", "model|mlflow://registry|churn_classifier"))
    expect(tab.locator("h1")).to_have_text("churn_classifier")
    panel = tab.locator("#health")
    expect(panel).not_to_contain_text("No failing check reaches this entity")
    v3 = panel.locator('table[aria-label="Versions not OK"] tbody tr', has_text="v3")
    expect(v3).to_contain_text("at risk", ignore_case=True)
    expect(v3).to_contain_text("churn-production")
    shoot(tab, "model-versions-health")
    watch.check()


def test_a_run_page_shows_the_health_of_the_versions_it_read_and_wrote(
    page: tuple[Page, Watch],
) -> None:
    # A failing check taints the versions a run reads and writes, not the run: the page of
    # the run that trained churn_classifier v3, a step of its evidence path, said "No
    # failing check reaches this entity".
    tab, watch = page
    trained_by = 'a.entity-link[data-id^="run|airflow://ml-platform|train_churn_classifier|"]'
    open_route(tab, route("entity", CHURN_V3))
    tab.locator(trained_by).first.click()
    expect(tab.locator("h1")).to_contain_text("train_churn_classifier run")
    panel = tab.locator("#health")
    expect(panel).not_to_contain_text("No failing check reaches this entity")
    versions = panel.locator('table[aria-label="Versions not OK"] tbody tr')
    expect(versions).to_have_count(2)
    expect(versions.filter(has_text="customer_features @ day5")).to_contain_text("Read")
    expect(versions.filter(has_text="churn_classifier v3")).to_contain_text("Wrote")
    expect(versions.filter(has_text="churn_classifier v3")).to_contain_text("At risk")
    shoot(tab, "run-versions-health")
    # the run that trained v2, before the bad data arrived, read and wrote nothing at risk
    open_route(tab, route("entity", CHURN_V3.replace("|3", "|2")))
    tab.locator(trained_by).first.click()
    expect(panel).to_contain_text("No failing check reaches the versions it read or wrote.")
    watch.check()


def test_a_query_without_words_is_answered_beside_the_search_box(
    page: tuple[Page, Watch],
) -> None:
    # The refusal replaced the whole page, search box included.
    tab, watch = page
    open_route(tab, route("search", None, "q=%22(*"))
    expect(tab.locator("#results [role=alert]")).to_have_text(
        "the search query has no words to look for"
    )
    expect(tab.locator("#search-input")).to_have_value('"(*')
    watch.check()


def test_the_catalog_count_is_the_whole_catalogs(page: tuple[Page, Watch], store: Store) -> None:
    # It showed the first page's size as the whole catalog's ("25 entities"), then the
    # items shown with a "+" ("25+") while search gave no total.
    tab, watch = page
    # no kind asked: the catalog's kinds, without runs, dataset versions and results
    runtime = {Kind.RUN.value, Kind.DATASET_VERSION.value, Kind.RESULT.value}
    total = sum(n for k, n in store.stats().nodes_by_kind.items() if k not in runtime)
    assert total > 50
    count = tab.locator("#results .result-count")
    expect(count).to_have_text(f"{total} entities in the catalog")
    tab.locator("#results .more button").click()
    expect(tab.locator("#results a.result")).to_have_count(50)
    expect(count).to_have_text(f"{total} entities in the catalog")
    watch.check()


def test_a_count_of_chosen_kinds_names_them(page: tuple[Page, Watch], store: Store) -> None:
    # Listing only the checks said "5 entities in the catalog", as if that were the catalog.
    tab, watch = page
    by_kind = store.stats().nodes_by_kind
    count = tab.locator("#results .result-count")
    open_route(tab, route("search", None, "kind=CHECK"))
    expect(count).to_have_text(f"{by_kind[Kind.CHECK.value]} checks in the catalog")
    expect(tab.locator("#results a.result")).to_have_count(by_kind[Kind.CHECK.value])
    # a kind named twice is one kind, not "entities of the chosen kinds"
    open_route(tab, route("search", None, "kind=CHECK&kind=CHECK"))
    expect(count).to_have_text(f"{by_kind[Kind.CHECK.value]} checks in the catalog")
    open_route(tab, route("search", None, "kind=MODEL_VERSION&kind=DEPLOYMENT"))
    both = by_kind[Kind.MODEL_VERSION.value] + by_kind[Kind.DEPLOYMENT.value]
    expect(count).to_have_text(f"{both} entities of the chosen kinds")
    # words to look for: a count of results, as before
    open_route(tab, route("search", None, "q=payments&kind=DATASET"))
    expect(count).to_have_text("2 results for “payments”")
    watch.check()


def test_lineage_expands_a_node(page: tuple[Page, Watch]) -> None:
    tab, watch = page
    open_route(tab, route("lineage", STG_PAYMENTS, "direction=DOWNSTREAM&depth=1"))
    expect(tab.locator("#lineage-title h1")).to_have_text("analytics.staging.stg_payments")
    expect(tab.locator("ul.node-list")).to_be_visible()
    # one hop downstream: the two jobs that read stg_payments, nothing further
    assert sorted(node_list_labels(tab)) == [
        "analytics.staging.stg_payments",
        "build_customer_features",
        "customer_ltv",
    ]

    # select a job from the list, then expand it from the keyboard on the canvas
    tab.locator("ul.node-list button", has_text="build_customer_features").click()
    expect(tab.locator("#selected")).to_contain_text("build_customer_features")
    tab.focus("#graph")
    tab.keyboard.press("Enter")
    expect(tab.locator("ul.node-list button", has_text="customer_features")).to_have_count(2)
    assert sorted(node_list_labels(tab)) == [
        "analytics.features.customer_features",
        "analytics.staging.stg_payments",
        "build_customer_features",
        "customer_ltv",
    ]
    # and the other job from the side panel's button
    tab.locator("ul.node-list button", has_text="customer_ltv").click()
    tab.locator("#selected button", has_text="Expand downstream").click()
    expect(
        tab.locator("ul.node-list button", has_text="analytics.marts.customer_ltv")
    ).to_be_visible()
    shoot(tab, "lineage-expanded")
    watch.check()


def test_expanding_a_node_keeps_saying_the_graph_is_cut(page: tuple[Page, Watch]) -> None:
    # After one node was expanded the status line dropped "cut at a bound", as though the
    # drawing were now whole, while every other node at the bound still hid its neighbours.
    tab, watch = page
    open_route(tab, route("lineage", STG_ORDERS, "direction=DOWNSTREAM&depth=1"))
    status = tab.locator(".graph-status")
    expect(status).to_contain_text("cut at a bound (depth)")
    before = len(node_list_labels(tab))
    tab.locator("ul.node-list button", has_text="customer_ltv").first.click()
    tab.locator("#selected button", has_text="Expand downstream").click()
    expect(tab.locator("ul.node-list li")).not_to_have_count(before)
    expect(status).to_contain_text(f"{len(node_list_labels(tab))} nodes")
    expect(status).to_contain_text("cut at a bound (depth)")
    watch.check()


def test_depth_all_is_chosen_from_the_menu_and_kept(page: tuple[Page, Watch]) -> None:
    # "All" wrote an empty depth, which links leave out: the view fell back to 2 hops.
    tab, watch = page
    open_route(tab, route("lineage", STG_PAYMENTS, "direction=DOWNSTREAM&depth=1"))
    expect(tab.locator("ul.node-list li")).to_have_count(3)
    tab.select_option("#lineage-depth", label="All")
    expect(tab).to_have_url(re.compile(r"depth=all"))
    expect(tab.locator("#lineage-depth")).to_have_value("")
    expect(tab.locator("ul.node-list button", has_text="churn-production")).to_be_visible()
    everything = tab.locator("ul.node-list li").count()
    assert everything > 7, everything
    # another setting keeps it
    tab.locator('[aria-label="Direction"] button', has_text="Both").click()
    expect(tab).to_have_url(re.compile(r"depth=all"))
    expect(tab.locator("#lineage-depth")).to_have_value("")
    watch.check()


def test_lineage_at_column_level_and_as_of_a_past_time(page: tuple[Page, Watch]) -> None:
    tab, watch = page
    open_route(tab, route("lineage", STG_PAYMENTS, "direction=UPSTREAM&depth=1"))
    expect(tab.locator("#lineage-title h1")).to_have_text("analytics.staging.stg_payments")
    tab.locator(".segmented button", has_text="Upstream").click()
    tab.check("#lineage-columns")
    expect(tab.locator("ul.node-list button", has_text="payments.amount_cents")).to_be_visible()
    now = node_list_labels(tab)
    assert "payments.amount" not in now
    assert "stg_payments.amount" in now
    assert "payments.payment_method" in now
    # on day 2 the raw column was still `amount`; `amount_cents` came on day 3
    tab.fill("#lineage-asof", "2026-10-02T12:00")
    expect(tab.locator("#lineage-title")).to_be_visible()
    expect(tab.locator(".toolbar")).to_contain_text("Lineage as it was at 2026-10-02 12:00 UTC")
    old_column = tab.locator("ul.node-list button", has_text=re.compile(r"^payments\.amount$"))
    expect(old_column).to_be_visible()
    then = node_list_labels(tab)
    assert "payments.amount_cents" not in then
    assert "payments.amount" in then
    assert "stg_payments.amount" in then
    assert "columns=1" in tab.evaluate("() => location.hash")
    assert "asOf=2026-10-02T12%3A00%3A00Z" in tab.evaluate("() => location.hash")
    # health is not kept over time: the colours (customer_features is at risk now, from a
    # failure on day 4) are today's, and the page says so rather than let them pass as the
    # health on day 2
    expect(tab.locator("#lineage-when")).to_have_text(
        "Lineage as it was at 2026-10-02 12:00 UTC; health (colours, badges) as it is now"
    )
    shoot(tab, "lineage-columns-as-of")
    watch.check()


def test_the_impact_editor_shows_an_unknown_nullability_as_unknown(
    page: tuple[Page, Watch], server: str
) -> None:
    # A column reported without nullability showed "no" in the editor (and blank on its
    # entity page).
    tab, watch = page
    upsert = """mutation { upsertDataset(input: {namespace: "ui://probe", name: "nullability",
        fields: [{path: "known", type: "int", nullable: true}, {path: "unsaid", type: "int"}]})
        { __typename } }"""
    answer = tab.request.post(server + "/graphql", data={"query": upsert})
    assert answer.json()["data"]["upsertDataset"]["__typename"] == "EntityPayload"
    open_route(tab, route("impact", "dataset|ui://probe|nullability"))
    unsaid = tab.locator("tr", has=tab.locator("code", has_text="unsaid"))
    expect(unsaid.locator("td").nth(2)).to_have_text("unknown")
    known = tab.locator("tr", has=tab.locator("code", has_text="known"))
    expect(known.first.locator("td").nth(2)).to_have_text("yes")
    watch.check()


def test_the_as_of_box_shows_the_time_in_use_in_utc(page: tuple[Page, Watch]) -> None:
    # The box showed the address's text cut to 16 characters: 14:00 for 14:00+02:00, drawn
    # at 12:00 UTC, and nothing for a date alone, beside "Lineage as it was at ...".
    tab, watch = page
    box = tab.locator("#lineage-asof")
    open_route(tab, route("lineage", STG_PAYMENTS, "asOf=2026-10-02T14%3A00%3A00%2B02%3A00"))
    expect(tab.locator(".toolbar")).to_contain_text("Lineage as it was at 2026-10-02 12:00 UTC")
    expect(box).to_have_value("2026-10-02T12:00")
    open_route(tab, route("lineage", STG_PAYMENTS, "asOf=2026-10-02"))
    expect(tab.locator(".toolbar")).to_contain_text("Lineage as it was at 2026-10-02 00:00 UTC")
    expect(box).to_have_value("2026-10-02T00:00")
    watch.check()


def test_an_as_of_time_without_a_zone_is_utc_in_any_browser_zone(
    browser: Browser, server: str
) -> None:
    # The server reads a time without a zone as UTC; the page read it in the browser's
    # zone, so in Berlin the box said 12:00 while the lineage was drawn at 14:00 UTC.
    berlin = browser.new_context(
        viewport={"width": 1440, "height": 960}, timezone_id="Europe/Berlin"
    )
    tab = berlin.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        tab.goto(server + "/")
        open_route(tab, route("lineage", STG_PAYMENTS, "asOf=2026-10-02T14%3A00%3A00"))
        expect(tab.locator(".toolbar")).to_contain_text("Lineage as it was at 2026-10-02 14:00 UTC")
        expect(tab.locator("#lineage-asof")).to_have_value("2026-10-02T14:00")
        assert errors == []
    finally:
        berlin.close()


def test_impact_of_dropping_a_column(page: tuple[Page, Watch]) -> None:
    tab, watch = page
    open_route(tab, route("impact", STG_PAYMENTS))
    tab.select_option("#action-payment_method", "DROP")
    tab.click("#analyze")
    affected = tab.locator('table[aria-label="Affected consumers"]')
    expect(affected).to_be_visible()
    expect(tab.locator("#impact-summary")).to_contain_text("BREAKING")
    for label in (
        "customer_features.preferred_payment_method",
        "build_customer_features",
        "preferred_payment_method",
        "churn_classifier v1",
        "churn_classifier v2",
        "churn_classifier v3",
        "churn-production",
        "churn-staging",
    ):
        expect(
            affected.locator("a.entity-link", has_text=re.compile(f"^\\s*{re.escape(label)}$"))
        ).to_have_count(1)
    expect(affected).not_to_contain_text("ltv_regressor")
    expect(affected).not_to_contain_text("ltv-production")
    expect(tab.locator("#owners")).to_contain_text("team:ml-growth")
    # a column is its dataset's owners' to know about: its row said "none"
    column = affected.locator("tr", has_text="customer_features.preferred_payment_method")
    expect(column.locator("td").last).to_have_text(re.compile("team:ml-growth"))
    # the affected nodes light up on the graph (the list beside it names the lit ones)
    drawn = tab.locator("ul.node-list li")
    expect(drawn.filter(has_text="churn-production")).to_have_class(re.compile(r"\baffected\b"))
    expect(drawn.filter(has_text="stg_payments.payment_method")).to_have_class(
        re.compile(r"\borigin\b")
    )
    expect(drawn.filter(has_text="ltv-production")).to_have_count(1)
    expect(drawn.filter(has_text="ltv-production")).not_to_have_class(re.compile("lit"))

    # the proposed change is in the address, so the analysis can be shared
    assert "drop=payment_method" in tab.evaluate("() => location.hash")
    tab.click("#copy-markdown")
    expect(tab.locator(".toast")).to_have_text("Markdown report copied")
    report = tab.evaluate("() => navigator.clipboard.readText()")
    assert report.startswith("## Schema change impact")
    assert "**BREAKING**" in report
    assert "churn-production" in report
    assert "ltv-production" not in report
    shoot(tab, "impact-drop-payment-method")
    watch.check()


def test_the_impact_status_counts_what_the_graph_draws(page: tuple[Page, Watch]) -> None:
    # Dropping stg_orders.customer_id affects the check on it, listed one hop away in the
    # table but not drawn: the status counted it among "4 affected of 37 downstream",
    # while the graph lit 3 nodes, and the 37 drawn counted stg_orders and its columns.
    tab, watch = page
    open_route(tab, route("impact", STG_ORDERS, "drop=customer_id"))
    affected = tab.locator('table[aria-label="Affected consumers"]')
    expect(affected.locator("a.entity-link", has_text="not_null(customer_id)")).to_have_count(1)
    status = tab.locator(".graph-status")
    expect(status).to_contain_text("affected")
    drawn = tab.locator("ul.node-list li")
    lit = tab.locator("ul.node-list li.affected")
    assert lit.count() == 3
    expect(status).to_have_text(
        f"3 of {drawn.count()} nodes affected · 1 affected check listed in the table, not drawn"
    )
    # dropping the whole table: its two checks are listed, not drawn, and not counted
    open_route(tab, route("impact", STG_ORDERS, "dropDataset=1"))
    expect(status).to_contain_text("2 affected checks listed in the table, not drawn")
    assert int(status.inner_text().split(" of ")[0]) == lit.count()
    shoot(tab, "impact-status-counts-what-is-drawn")
    watch.check()


def test_at_risk_overlay(page: tuple[Page, Watch]) -> None:
    tab, watch = page
    open_route(tab, route("at-risk"))
    evidence = tab.locator("#evidence")
    production = evidence.locator(f'article[data-id="{CHURN_PRODUCTION}"]')
    expect(production).to_contain_text("At risk")
    # its evidence path starts at the failing check on stg_orders
    expect(production.locator(".path").first.locator("a").first).to_have_attribute(
        "data-id", NOT_NULL_CHECK
    )
    expect(evidence.locator(f'article[data-id="{CHURN_V3}"]')).to_be_visible()
    expect(evidence.locator(f'article[data-id="{STG_ORDERS}"]')).to_contain_text("Failing")
    # the cards count entities (a failing field check fails its column and its dataset),
    # which "2 failing" beside one failing check did not say
    cards = tab.locator("#risk-summary .card")
    expect(cards.nth(0)).to_have_text("2entities failing")
    expect(cards.nth(1)).to_have_text(re.compile(r"^\d+entities at risk$"))
    # v2 was trained before the bad data arrived; ltv-production serves a clean version
    expect(
        evidence.locator('article[data-id="model_version|mlflow://registry|churn_classifier|2"]')
    ).to_have_count(0)
    expect(
        evidence.locator('article[data-id="deployment|k8s://ml-serving|ltv-production"]')
    ).to_have_count(0)
    labels = node_list_labels(tab)
    assert "churn-production" in labels
    assert "not_null(customer_id) on stg_orders" in labels
    # deployments only: the three serving a tainted model version
    tab.select_option("#risk-show", "DEPLOYMENT")
    expect(tab.locator("#evidence article")).to_have_count(3)
    shown = sorted(
        tab.locator("#evidence article").evaluate_all("els => els.map(e => e.dataset.id)")
    )
    assert shown == [
        "deployment|k8s://ml-serving|churn-production",
        "deployment|k8s://ml-serving|churn-staging",
        "deployment|k8s://ml-serving|ltv-staging",
    ]
    shoot(tab, "at-risk-overlay")
    watch.check()


def test_at_risk_says_what_each_reason_rests_on(page: tuple[Page, Watch], server: str) -> None:
    # Every confirmed reason read "Confirmed through recorded runs": the failing table's
    # own check, and a job whose latest run was aborted before it read anything too.
    tab, watch = page
    job = "job|airflow://acme|reconcile_orders"
    event = {
        "eventType": "ABORT",
        "eventTime": "2026-10-05T09:00:00Z",
        "producer": "https://example.com/producer",
        "run": {"runId": "3f5e83fa-3480-44ff-99c5-ff943904e5e8"},
        "job": {"namespace": "airflow://acme", "name": "reconcile_orders"},
        "inputs": [
            {
                "namespace": "snowflake://acme",
                "name": "analytics.staging.stg_orders",
                "facets": {"version": {"datasetVersion": "day5"}},
            }
        ],
        "outputs": [],
    }
    answer = tab.request.post(server + "/api/v1/lineage", data=event)
    assert answer.ok, answer.text()
    open_route(tab, route("at-risk", None, "show=all"))
    evidence = tab.locator("#evidence")
    hint = ".reason .hint"
    expect(evidence.locator(f'article[data-id="{job}"] {hint}')).to_have_text(
        re.compile(r"^Not refreshed since the failure \(recorded runs\) · 3 hops")
    )
    expect(evidence.locator(f'article[data-id="{job}"] .reason')).to_contain_text(
        "its consumers still read stale data"
    )
    expect(evidence.locator(f'article[data-id="{STG_ORDERS}"] {hint}')).to_have_text(
        re.compile(r"^Its own check fails · 0 hops")
    )
    expect(evidence.locator(f'article[data-id="{CHURN_PRODUCTION}"] {hint}')).to_have_text(
        re.compile(r"^Confirmed through recorded runs · \d+ hops")
    )
    version = "dataset_version|snowflake://acme|analytics.staging.stg_orders|day5"
    expect(evidence.locator(f'article[data-id="{version}"] {hint}')).to_have_text(
        re.compile(r"^Confirmed by the check's results · 1 hop ")
    )
    shoot(tab, "at-risk-reason-kinds")
    # the entity page labels its reasons alike
    open_route(tab, route("entity", job))
    expect(tab.locator(".reason .hint")).to_contain_text(
        "Not refreshed since the failure (recorded runs) · 3 hops"
    )
    watch.check()


def test_at_risk_names_the_owners_of_each_entity(page: tuple[Page, Watch]) -> None:
    # The view answered what is at risk and why but not whom to tell: owners were only on
    # each entity's own page. A model version's owners are its model's, a column's its
    # dataset's.
    tab, watch = page
    open_route(tab, route("at-risk"))
    evidence = tab.locator("#evidence")
    owners = ".owners .chip"
    expect(evidence.locator(f'article[data-id="{CHURN_PRODUCTION}"] {owners}')).to_have_text(
        ["team:ml-growth", "maya@acme.example"]
    )
    expect(evidence.locator(f'article[data-id="{CHURN_V3}"] {owners}')).to_have_text(
        ["team:ml-growth", "maya@acme.example"]
    )
    column = "field|snowflake://acme|analytics.staging.stg_orders|customer_id"
    expect(evidence.locator(f'article[data-id="{column}"] {owners}')).to_have_text(
        ["team:analytics-eng", "ari@acme.example"]
    )
    expect(evidence.locator(f'article[data-id="{STG_ORDERS}"] {owners}')).to_have_text(
        ["team:analytics-eng", "ari@acme.example"]
    )
    # and beside the graph, for the entity picked on it
    open_route(tab, route("at-risk", None, f"focus={quote(CHURN_PRODUCTION, safe='')}"))
    expect(tab.locator(f"#selected {owners}")).to_have_text(["team:ml-growth", "maya@acme.example"])
    shoot(tab, "at-risk-owners")
    watch.check()


def test_opening_a_node_of_the_at_risk_graph_does_what_the_canvas_says(
    page: tuple[Page, Watch],
) -> None:
    # Every canvas told screen readers "Enter expands the selected node"; on the at-risk
    # overlay Enter opened the node's lineage, and for the failing check (like its Lineage
    # button) led to "Lineage is drawn for …" instead of the check.
    tab, watch = page
    open_route(tab, route("at-risk", None, f"focus={quote(NOT_NULL_CHECK, safe='')}"))
    canvas = tab.locator("#graph")
    expect(canvas).to_have_attribute(
        "aria-label", re.compile("Enter opens the selected node's lineage")
    )
    expect(tab.locator("#selected .actions a", has_text="Open page")).to_be_visible()
    expect(tab.locator("#selected .actions a", has_text="Lineage")).to_have_count(0)
    canvas.focus()
    canvas.press("Enter")
    expect(tab.locator("h1")).to_have_text("not_null(customer_id) on stg_orders")
    open_route(tab, route("at-risk", None, f"focus={quote(CHURN_PRODUCTION, safe='')}"))
    expect(tab.locator("#selected .actions a", has_text="Lineage")).to_be_visible()
    tab.locator("#graph").focus()
    tab.locator("#graph").press("Enter")
    expect(tab.locator("#lineage-title h1")).to_have_text("churn-production")
    # the lineage canvas expands; the root cause and impact canvases open the node's page
    expect(tab.locator("#graph")).to_have_attribute("aria-label", re.compile("Enter expands"))
    open_route(tab, route("root-cause", CHURN_V3))
    expect(tab.locator("#graph")).to_have_attribute(
        "aria-label", re.compile("Enter opens the selected node's page")
    )
    watch.check()


def test_root_cause_of_a_regressed_model_version(page: tuple[Page, Watch]) -> None:
    tab, watch = page
    open_route(tab, route("root-cause", CHURN_V3))
    suspects = tab.locator('table[aria-label="Ranked suspects"] tbody tr')
    expect(suspects.first).to_be_visible()
    # the failing not_null check on stg_orders ranks first, with its score explained
    top = suspects.first
    expect(top).to_contain_text("failed check")
    expect(top).to_contain_text("not_null(customer_id)")
    expect(top.locator("a.entity-link", has_text="stg_orders").first).to_be_visible()
    expect(top.locator(".breakdown")).to_contain_text("Proximity")
    expect(top.locator(".breakdown")).to_contain_text("Score")
    # compared against the previous version, v2
    expect(tab.locator("#diff h2")).to_have_text("What changed since churn_classifier v2")
    expect(tab.locator('#diff table[aria-label="Check changes"]')).to_contain_text(
        "not_null(customer_id)"
    )
    shoot(tab, "root-cause-churn-v3")
    watch.check()


def test_api_errors_are_shown(page: tuple[Page, Watch]) -> None:
    tab, watch = page
    open_route(tab, route("lineage", "dataset|nowhere|missing.table"))
    expect(tab.locator("#errors .error")).to_contain_text(
        "no entity with id 'dataset|nowhere|missing.table'"
    )
    expect(tab.locator("#view")).to_contain_text("This page could not be loaded")
    expect(tab.locator("#graph")).to_have_count(0)
    shoot(tab, "api-error")
    assert watch.foreign == []


@pytest.fixture
def big_server(store: Store) -> Iterator[str]:
    """The app over a synthetic graph of about 12,000 nodes."""
    service = LineageService(store)
    app = create_app(Settings(store="memory://"), service)
    for changeset in SyntheticGraph(12_000, seed=7).changesets():
        service.apply(changeset)
    with serve(app) as url:
        yield url


def test_large_lineage_is_folded_and_expands_on_demand(
    context: BrowserContext, big_server: str
) -> None:
    graph = SyntheticGraph(12_000, seed=7)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    # a hub table with about 600 entities downstream of it
    hub = dataset_id(graph.hubs[2])
    tab.goto(big_server + "/" + route("lineage", hub, "direction=DOWNSTREAM&depth="))
    status = tab.locator(".graph-status")
    expect(status).to_contain_text("folded", timeout=30_000)
    total = int(status.inner_text().split(" nodes")[0])
    assert total > 300
    groups = tab.locator("ul.node-list button", has_text=" more ")
    assert groups.count() >= 1
    drawn = tab.locator("ul.node-list li").count()
    assert drawn < 150 + groups.count()
    # opening a group draws a page of its members
    first_group = groups.first.inner_text()
    hidden = int(first_group.split(" more ")[0])
    groups.first.click()
    opened = min(25, hidden)
    still_folded = 1 if hidden > 25 else 0
    expect(tab.locator("ul.node-list li")).to_have_count(drawn - 1 + opened + still_folded)
    shoot(tab, "lineage-large-folded")
    assert errors == []


# The canvas's cytoscape instance, as cytoscape registers it on its container.
CY = "document.querySelector('#graph')._cyreg.cy"
PASSING_CHECK = "check|snowflake://acme|analytics.staging.stg_customers|not_null(email)"
UNIQUE_ORDER_CHECK = "check|snowflake://acme|analytics.staging.stg_orders|unique(order_id)"


def post(tab: Page, server: str, mutation: str) -> None:
    """Write to the live server through its GraphQL API."""
    answer = tab.request.post(server + "/graphql", data={"query": mutation}).json()
    assert "errors" not in answer, answer


def test_a_failing_check_is_not_drawn_with_the_passing_icon(page: tuple[Page, Watch]) -> None:
    # A check's icon, a green shield with a tick, stood beside "failed" wherever checks showed.
    tab, watch = page
    failed_icon = re.compile(r"\bfailed\b")
    open_route(tab, route("search", None, "q=not_null"))
    failing_hit = tab.locator(f'#results a.result[data-id="{NOT_NULL_CHECK}"]')
    passing_hit = tab.locator(f'#results a.result[data-id="{PASSING_CHECK}"]')
    expect(failing_hit.locator("svg.icon").first).to_have_class(failed_icon)
    expect(failing_hit.locator(".badge.kind svg")).to_have_class(failed_icon)
    expect(passing_hit.locator("svg.icon").first).not_to_have_class(failed_icon)

    open_route(tab, route("entity", NOT_NULL_CHECK))
    expect(tab.locator(".title-row svg.entity-icon")).to_have_class(failed_icon)
    failed_result = tab.locator('table[aria-label="Results"] tbody tr').first
    expect(failed_result.locator("a.entity-link svg").first).to_have_class(failed_icon)

    open_route(tab, route("entity", STG_ORDERS))
    checks = tab.locator('table[aria-label="Checks"]')
    expect(
        checks.locator("tr", has_text="not_null(customer_id)").locator("a.entity-link svg")
    ).to_have_class(failed_icon)
    expect(
        checks.locator("tr", has_text="unique(order_id)").locator("a.entity-link svg")
    ).not_to_have_class(failed_icon)
    # the check named by the health reason failed
    expect(tab.locator(f'#health a.entity-link[data-id="{NOT_NULL_CHECK}"] svg')).to_have_class(
        failed_icon
    )

    # and the check's node on the at-risk overlay
    open_route(tab, route("at-risk"))
    listed = tab.locator(f'ul.node-list button[data-id="{NOT_NULL_CHECK}"]')
    expect(listed.locator("svg")).to_have_class(failed_icon)
    assert tab.evaluate(f"id => {CY}.getElementById(id).data('failed')", NOT_NULL_CHECK)
    # and as the top suspect of a regression, and in the check outcomes that changed
    open_route(tab, route("root-cause", CHURN_V3))
    top = tab.locator('table[aria-label="Ranked suspects"] tbody tr').first
    expect(top).to_contain_text("failed check")
    expect(top.locator(f'a.entity-link[data-id="{NOT_NULL_CHECK}"] svg').first).to_have_class(
        failed_icon
    )
    changed = tab.locator('table[aria-label="Check changes"] tr', has_text="not_null(customer_id)")
    expect(changed.locator("a.entity-link svg")).to_have_class(failed_icon)
    shoot(tab, "failing-check-icons")
    watch.check()


def test_a_failing_check_leads_to_what_it_puts_at_risk(
    page: tuple[Page, Watch], server: str
) -> None:
    # A check's health is never set (its target's is), so the page of a failing check, the
    # one an alert links to, had no way to the cascade; and the at-risk view, given the
    # check, said only that evidence starts there, beside the passing check's green icon.
    tab, watch = page
    failed_icon = re.compile(r"\bfailed\b")
    open_route(tab, route("entity", PASSING_CHECK))
    expect(tab.locator("h1")).to_contain_text("not_null(email)")
    expect(tab.locator(".page-head .actions a", has_text="Cascade")).to_have_count(0)
    result = NOT_NULL_CHECK.replace("check|", "result|", 1) + "|day5"
    open_route(tab, route("entity", result))
    expect(tab.locator(".page-head .actions a", has_text="Cascade")).to_have_attribute(
        "href", route("at-risk", None, f"focus={quote(NOT_NULL_CHECK, safe='')}")
    )
    open_route(tab, route("entity", NOT_NULL_CHECK))
    tab.locator(".page-head .actions a", has_text="Cascade").click()
    selected = tab.locator("#selected")
    expect(selected.locator(".title-row svg").first).to_have_class(failed_icon)
    reach = selected.locator("#check-reach")
    expect(reach.locator(f'a[data-id="{CHURN_PRODUCTION}"]')).to_be_visible()
    expect(reach.locator(f'a[data-id="{CHURN_V3}"]')).to_be_visible()
    expect(reach.locator(f'a[data-id="{STG_ORDERS}"]')).to_be_visible()
    # the same entities the evidence list shows with a reason from this check
    from_check = tab.locator("#evidence article").filter(
        has=tab.locator(f'.path a[data-id="{NOT_NULL_CHECK}"]')
    )
    expect(reach.locator("li")).to_have_count(from_check.count())
    shoot(tab, "at-risk-from-a-check")
    # once it passes again, nothing is at risk because of it
    post(
        tab,
        server,
        'mutation { recordQualityResult(input: {namespace: "snowflake://acme", '
        'name: "analytics.staging.stg_orders", check: "not_null(customer_id)", '
        'field: "customer_id", passed: true, observed: "0 null values"}) { __typename } }',
    )
    open_route(tab, route("entity", PASSING_CHECK))
    open_route(tab, route("entity", NOT_NULL_CHECK))
    expect(tab.locator(".subtitle .badge").nth(1)).to_have_text("passed")
    expect(tab.locator(".page-head .actions a", has_text="Cascade")).to_have_count(0)
    open_route(tab, route("at-risk"))
    expect(tab.locator("#risk-summary")).to_be_visible()
    expect(tab.locator(f'#evidence article[data-id="{CHURN_PRODUCTION}"]')).to_have_count(0)
    watch.check()


def test_a_check_that_passes_again_is_not_drawn_failing_at_risk(
    page: tuple[Page, Watch], server: str
) -> None:
    # ltv_regressor v2 was trained on day 4's data, on which not_null(customer_id) failed,
    # so it stays at risk once the check passes on the latest version; the overlay still
    # drew the check red with the failed icon and called it failing, beside "0 failing".
    tab, watch = page
    post(
        tab,
        server,
        'mutation { recordQualityResult(input: {namespace: "snowflake://acme", '
        'name: "analytics.staging.stg_orders", check: "not_null(customer_id)", '
        'field: "customer_id", passed: true, observed: "0 null values"}) { __typename } }',
    )
    failed_icon = re.compile(r"\bfailed\b")
    open_route(tab, route("at-risk", None, f"focus={quote(NOT_NULL_CHECK, safe='')}"))
    expect(tab.locator("#risk-summary .card").first).to_contain_text("0entities failing")
    ltv_staging = tab.locator(
        '#evidence article[data-id="deployment|k8s://ml-serving|ltv-staging"]'
    )
    expect(ltv_staging).to_be_visible()
    chip = ltv_staging.locator(f'.path a[data-id="{NOT_NULL_CHECK}"] svg').first
    expect(chip).not_to_have_class(failed_icon)
    selected = tab.locator("#selected")
    expect(selected.locator(".title-row svg").first).not_to_have_class(failed_icon)
    expect(selected.locator(".subtitle .badge.health")).to_have_text("OK")
    expect(selected.locator("#check-reach")).to_contain_text("This check passes now")
    check_in_list = tab.locator(f'ul.node-list button[data-id="{NOT_NULL_CHECK}"]')
    expect(check_in_list.locator("svg")).not_to_have_class(failed_icon)
    expect(check_in_list.locator(".health-dot")).to_have_class(re.compile(r"\bOK\b"))
    shoot(tab, "at-risk-check-passes-again")
    # the deployment's own page, and the lineage beside it, label the check alike
    open_route(tab, route("entity", "deployment|k8s://ml-serving|ltv-staging"))
    reason_check = tab.locator(f'#health .reason .hint a[data-id="{NOT_NULL_CHECK}"] svg')
    expect(reason_check).not_to_have_class(failed_icon)
    open_route(tab, route("lineage", "deployment|k8s://ml-serving|ltv-staging"))
    expect(tab.locator("#selected .reason")).to_be_visible()
    expect(
        tab.locator(f'#selected .reason .hint a[data-id="{NOT_NULL_CHECK}"] svg')
    ).not_to_have_class(failed_icon)
    watch.check()


def test_an_affected_check_in_the_impact_table_shows_its_outcome(page: tuple[Page, Watch]) -> None:
    # The impact query asked nothing of a check's outcome: the failing not_null(customer_id),
    # affected by dropping the column it checks, was listed with a passing check's green tick.
    tab, watch = page
    failed_icon = re.compile(r"\bfailed\b")
    open_route(tab, route("impact", STG_ORDERS, "drop=customer_id&drop=order_id"))
    affected = tab.locator('table[aria-label="Affected consumers"]')
    failing = affected.locator("tr", has=tab.locator(f'a[data-id="{NOT_NULL_CHECK}"]'))
    passing = affected.locator("tr", has=tab.locator(f'a[data-id="{UNIQUE_ORDER_CHECK}"]'))
    expect(failing.locator("a.entity-link svg")).to_have_class(failed_icon)
    expect(failing.locator(".badge.kind svg")).to_have_class(failed_icon)
    # a passing check keeps its tick
    expect(passing).to_have_count(1)
    expect(passing.locator("a.entity-link svg")).not_to_have_class(failed_icon)
    expect(passing.locator(".badge.kind svg")).not_to_have_class(failed_icon)
    shoot(tab, "impact-affected-check-outcome")
    watch.check()


def test_counts_of_one_are_singular(page: tuple[Page, Watch], server: str) -> None:
    # "1 nodes, 0 edges", "1 columns affected".
    tab, watch = page
    post(
        tab,
        server,
        'mutation { upsertDataset(input: {namespace: "ui://probe", name: "alone"})'
        " { __typename } }",
    )
    open_route(tab, route("lineage", "dataset|ui://probe|alone"))
    expect(tab.locator(".graph-status")).to_have_text("1 node, 0 edges")

    open_route(tab, route("impact", STG_PAYMENTS, "drop=payment_method"))
    cards = tab.locator("#impact-summary .card")
    expect(cards.filter(has_text="breaking change")).to_contain_text("1breaking change")
    expect(cards.filter(has_text="affected")).to_have_text(
        [
            "1column affected",
            "1dataset affected",
            "2jobs affected",
            "1feature affected",
            "3model versions affected",
            "2deployments affected",
        ]
    )
    watch.check()


def test_a_schema_without_positions_has_no_position_column(page: tuple[Page, Watch]) -> None:
    # A version's schema is recorded without ordinal positions: its "#" column was empty.
    tab, watch = page
    open_route(
        tab, route("entity", "dataset_version|snowflake://acme|analytics.staging.stg_orders|day5")
    )
    schema = tab.locator('table[aria-label="Schema"]')
    expect(schema.locator("tbody tr")).to_have_count(4)
    expect(schema.locator("thead th")).to_have_text(["Column", "Type", "Nullable"])
    # the dataset's own columns have positions, and keep the column
    open_route(tab, route("entity", STG_ORDERS))
    schema = tab.locator('table[aria-label="Schema"]')
    expect(schema.locator("thead th").first).to_have_text("#")
    expect(schema.locator("tbody tr").first.locator("td").first).to_have_text("1")
    watch.check()


def test_the_same_name_in_two_namespaces_is_told_apart(
    page: tuple[Page, Watch], server: str
) -> None:
    # A table copied between databases was drawn as two identical "public.orders" boxes.
    tab, watch = page
    post(
        tab,
        server,
        """mutation { upsertJob(input: {namespace: "airflow://prod", name: "copy_orders",
        inputs: [{kind: DATASET, namespace: "postgres://prod-db", name: "public.orders"}],
        outputs: [{kind: DATASET, namespace: "postgres://replica-db", name: "public.orders"}]})
        { __typename } }""",
    )
    source = "dataset|postgres://prod-db|public.orders"
    copy = "dataset|postgres://replica-db|public.orders"
    open_route(tab, route("lineage", source, "direction=DOWNSTREAM"))
    listed = tab.locator("ul.node-list button", has_text="public.orders")
    expect(listed).to_have_count(2)
    expect(tab.locator(f'ul.node-list button[data-id="{source}"]')).to_contain_text(
        "postgres://prod-db"
    )
    expect(tab.locator(f'ul.node-list button[data-id="{copy}"]')).to_contain_text(
        "postgres://replica-db"
    )
    labels = tab.evaluate(
        f"ids => ids.map(id => {CY}.getElementById(id).data('label'))", [source, copy]
    )
    assert labels[0] != labels[1], labels
    assert "postgres://replica-db" in labels[1]
    # a name drawn once stays bare
    assert (
        tab.evaluate(f"() => {CY}.getElementById('job|airflow://prod|copy_orders').data('label')")
        == "copy_orders"
    )
    shoot(tab, "same-name-two-namespaces")
    watch.check()


def test_a_pasted_schema_is_the_analysis_the_address_names(page: tuple[Page, Watch]) -> None:
    # The address kept the ?rename= of the analysis before: a reload analysed that instead.
    tab, watch = page
    open_route(tab, route("impact", STG_PAYMENTS, "rename=amount:amount_usd"))
    summary = tab.locator("#impact-summary")
    expect(tab.locator('table[aria-label="Changes"]')).to_contain_text("amount_usd")
    tab.locator("button", has_text="Paste proposed schema").click()
    without_method = tab.evaluate(
        """() => JSON.stringify(JSON.parse(document.querySelector('#proposed-schema').value)
             .filter(f => f.path !== 'payment_method'))"""
    )
    tab.fill("#proposed-schema", without_method)
    tab.click("#analyze")
    changes = tab.locator('table[aria-label="Changes"]')
    expect(changes).to_contain_text("payment_method")
    expect(changes).not_to_contain_text("amount_usd")
    shown = summary.text_content()
    address = tab.evaluate("() => location.hash")
    assert "rename=" not in address
    assert "mode=json" in address
    # a reload (or the link, shared) gives the analysis that was shown
    tab.reload()
    expect(tab.locator('table[aria-label="Changes"]')).to_contain_text("payment_method")
    expect(tab.locator('table[aria-label="Changes"]')).not_to_contain_text("amount_usd")
    expect(summary).to_have_text(shown)
    expect(tab.locator("#proposed-schema")).to_be_visible()
    assert tab.evaluate("() => location.hash") == address
    watch.check()


def test_settings_the_address_gets_wrong_are_said_and_put_right(
    page: tuple[Page, Watch],
) -> None:
    # A bad depth was read as 0 hops (one node drawn, the menu saying "1 hop") and a bad
    # direction as both, while the address kept them.
    tab, watch = page
    open_route(tab, route("lineage", STG_PAYMENTS, "direction=SIDEWAYS&depth=abc"))
    note = tab.locator("#lineage-ignored")
    expect(note).to_contain_text("direction “SIDEWAYS”")
    expect(note).to_contain_text("depth “abc”")
    expect(tab).to_have_url(re.compile(r"direction=BOTH&depth=2$"))
    expect(tab.locator("#lineage-depth")).to_have_value("2")
    expect(tab.locator('[aria-label="Direction"] button[aria-pressed="true"]')).to_have_text("Both")
    expect(tab.locator("ul.node-list li")).to_have_count(7)
    # a depth the menu does not list is still the one shown and kept; case is forgiven
    open_route(tab, route("lineage", STG_PAYMENTS, "direction=downstream&depth=4"))
    expect(tab.locator("#lineage-depth")).to_have_value("4")
    expect(tab.locator("#lineage-depth option:checked")).to_have_text("4 hops")
    expect(tab).to_have_url(re.compile(r"direction=DOWNSTREAM&depth=4$"))
    expect(tab.locator("#lineage-ignored")).to_have_count(0)
    # a time that is not one
    open_route(tab, route("lineage", STG_PAYMENTS, "asOf=yesterday"))
    expect(tab.locator("#lineage-ignored")).to_contain_text("as of “yesterday”")
    expect(tab.locator(".toolbar")).to_contain_text("Current lineage")
    assert "asOf" not in tab.evaluate("() => location.hash")
    # the at-risk list's filter
    open_route(tab, route("at-risk", None, "show=EVERYTHING"))
    expect(tab.locator("#risk-ignored")).to_contain_text("show “EVERYTHING”")
    expect(tab.locator("#risk-show")).to_have_value("key")
    expect(tab.locator("#evidence article").first).to_be_visible()
    expect(tab).to_have_url(re.compile(r"show=key$"))
    watch.check()


def test_columns_the_impact_address_names_that_the_dataset_lacks_are_said(
    page: tuple[Page, Watch],
) -> None:
    # A link naming a column the dataset does not have (stg_payments has no user_id) was
    # read without a word: with another column, only that one was analysed and the address
    # quietly lost user_id; alone, the page asked to mark a column as if none were named.
    tab, watch = page
    open_route(tab, route("impact", STG_PAYMENTS, "drop=user_id&drop=payment_method"))
    note = tab.locator("#impact-ignored")
    expect(note).to_have_text(
        "Not columns of analytics.staging.stg_payments, so ignored: drop “user_id”."
    )
    expect(tab.locator('table[aria-label="Changes"] tbody tr')).to_have_count(1)
    expect(tab.locator('table[aria-label="Changes"]')).to_contain_text("drop payment_method")
    expect(tab).to_have_url(re.compile(r"\?drop=payment_method$"))
    # alone: said, nothing analysed, and the address put right
    open_route(tab, route("impact", STG_PAYMENTS, "drop=user_id&rename=amount_cents:amount"))
    expect(note).to_contain_text("drop “user_id”, rename “amount_cents”")
    expect(tab.locator("#impact-results")).to_be_empty()
    expect(tab).to_have_url(re.compile(r"#/impact/[^?]+$"))
    # every column named is one of the dataset's: no note
    open_route(tab, route("impact", STG_PAYMENTS, "drop=payment_method"))
    expect(tab.locator('table[aria-label="Changes"]')).to_contain_text("drop payment_method")
    expect(note).to_have_count(0)
    shoot(tab, "impact-unknown-columns-said")
    watch.check()


def test_opening_a_folded_group_from_the_keyboard_keeps_the_focus(
    page: tuple[Page, Watch], server: str
) -> None:
    # The list beside the graph is redrawn when a group opens: focus fell to the page.
    tab, watch = page
    outputs = ", ".join(
        f'{{kind: DATASET, namespace: "ui://fan", name: "out_{i:03}"}}' for i in range(180)
    ) + "".join(f', {{kind: DATASET, namespace: "ui://few", name: "few_{i}"}}' for i in range(3))
    post(
        tab,
        server,
        f"""mutation {{ upsertJob(input: {{namespace: "ui://fan", name: "fan_out",
        inputs: [{{kind: DATASET, namespace: "ui://fan", name: "source"}}],
        outputs: [{outputs}]}}) {{ __typename }} }}""",
    )
    open_route(tab, route("lineage", "dataset|ui://fan|source", "direction=DOWNSTREAM&depth=all"))
    group = tab.locator("ul.node-list button", has_text="180 more datasets")
    expect(group).to_be_visible()
    group.focus()
    tab.keyboard.press("Enter")
    # 25 drawn, 155 still folded: the keyboard stays on the group
    regrouped = tab.locator("ul.node-list button", has_text="155 more datasets")
    expect(regrouped).to_be_focused()
    tab.keyboard.press(" ")
    expect(tab.locator("ul.node-list button", has_text="130 more datasets")).to_be_focused()
    assert tab.evaluate("() => document.activeElement.closest('ul.node-list') !== null")
    # a group opened whole is gone: the keyboard moves to the first member it showed
    tab.locator("ul.node-list button", has_text="3 more datasets").focus()
    tab.keyboard.press("Enter")
    expect(tab.locator('ul.node-list button[data-id="dataset|ui://few|few_0"]')).to_be_focused()
    watch.check()


def test_the_skip_link_moves_to_the_content_and_keeps_the_page(page: tuple[Page, Watch]) -> None:
    # Its "#view" was read as a route: "No view named "view"", the page gone.
    tab, watch = page
    open_route(tab, route("at-risk"))
    expect(tab.locator("#evidence article").first).to_be_visible()
    tab.focus("a.skip-link")
    tab.keyboard.press("Enter")
    expect(tab.locator("#view")).to_be_focused()
    expect(tab).to_have_url(re.compile(r"#/at-risk$"))
    expect(tab.locator("#view")).not_to_contain_text("No view named")
    expect(tab.locator("#evidence article").first).to_be_visible()
    # the next Tab goes on into the page, not back to the top bar
    tab.keyboard.press("Tab")
    assert tab.evaluate("() => document.getElementById('view').contains(document.activeElement)")
    watch.check()


def test_no_view_scrolls_sideways_at_a_phone_width(browser: Browser, server: str) -> None:
    # At 390 px the top bar (its views and the quick search on one line) and the at-risk
    # list's filter were wider than the screen: the whole page scrolled sideways.
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    tab = phone.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(server + "/")
    views = {
        route("search", None, "q=orders"): "#results a.result",
        route("entity", STG_ORDERS): 'table[aria-label="Schema"]',
        route("lineage", STG_PAYMENTS): "ul.node-list",
        route("impact", STG_PAYMENTS, "drop=payment_method"): "#affected",
        route("at-risk"): "#evidence article",
        route("root-cause", CHURN_V3): 'table[aria-label="Ranked suspects"]',
    }
    for hash_, ready in views.items():
        open_route(tab, hash_)
        expect(tab.locator(ready).first).to_be_visible()
        widths = tab.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], (hash_, widths)
    # the views stay reachable, the quick search too
    expect(tab.locator(".topbar nav a", has_text="Root cause")).to_be_visible()
    expect(tab.locator("#quick-search-input")).to_be_visible()
    shoot(tab, "phone-width")
    phone.close()
    assert errors == []


# Pairs of drawn boxes (a dataset's name above its box included) that intersect, read from
# the canvas; a column and the dataset box it sits in are not a pair.
OVERLAPS = f"""() => {{
  const cy = {CY};
  const boxes = cy.nodes().map((n) => [n, n.boundingBox({{
    includeLabels: true, includeOverlays: false, includeUnderlays: false }})]);
  const found = [];
  boxes.forEach(([a, A], i) => boxes.slice(i + 1).forEach(([b, B]) => {{
    if (a.ancestors().contains(b) || b.ancestors().contains(a)) return;
    const across = Math.min(A.x2, B.x2) - Math.max(A.x1, B.x1);
    const down = Math.min(A.y2, B.y2) - Math.max(A.y1, B.y1);
    if (across > 0 && down > 0) found.push(`${{a.id()}} / ${{b.id()}}`);
  }}));
  return [cy.nodes().length, found];
}}"""


def test_the_graph_card_ends_at_its_legend(page: tuple[Page, Watch]) -> None:
    # Beside a taller side panel (the selected deployment's evidence path), the graph's card
    # was stretched to its height: a blank block under the legend.
    tab, watch = page
    open_route(tab, route("lineage", CHURN_PRODUCTION, "direction=UPSTREAM&depth=all"))
    expect(tab.locator(".split > :last-child")).to_contain_text("8 hops")
    card = tab.locator(".graph-panel").bounding_box()
    legend = tab.locator(".graph-panel .legend").bounding_box()
    side = tab.locator(".split > :last-child").bounding_box()
    assert card and legend and side
    assert side["height"] >= card["height"]
    assert card["y"] + card["height"] - (legend["y"] + legend["height"]) < 4
    shoot(tab, "graph-card-ends-at-its-legend")
    watch.check()


def test_column_level_boxes_do_not_overlap(page: tuple[Page, Watch]) -> None:
    # A dataset's name (above its box) lay over the box above it, and its padding over the
    # columns of the next: dagre is told neither.
    tab, watch = page
    for hash_, ready in (
        (route("impact", STG_ORDERS, "drop=customer_id"), "#affected"),
        (route("lineage", STG_ORDERS, "direction=BOTH&depth=all&columns=1"), "ul.node-list"),
        (route("lineage", STG_PAYMENTS, "direction=BOTH&depth=all&columns=1"), "ul.node-list"),
    ):
        open_route(tab, hash_)
        expect(tab.locator(ready)).to_be_visible()
        expect(tab.locator("ul.node-list li").first).to_be_visible()
        drawn, overlaps = tab.evaluate(OVERLAPS)
        assert drawn > 20, (hash_, drawn)
        assert overlaps == [], (hash_, overlaps)
    shoot(tab, "column-boxes-apart")
    watch.check()


def test_impact_notes_name_the_change_they_are_about(page: tuple[Page, Watch], server: str) -> None:
    # With two changes falling back to dataset level, the same note was listed twice and
    # never said which change it was about.
    tab, watch = page
    post(
        tab,
        server,
        """mutation { upsertDataset(input: {namespace: "ui://notes", name: "src",
        fields: [{path: "a", type: "INT"}, {path: "b", type: "INT"}]}) { __typename }
        upsertJob(input: {namespace: "ui://notes", name: "copy",
        inputs: [{kind: DATASET, namespace: "ui://notes", name: "src"}],
        outputs: [{kind: DATASET, namespace: "ui://notes", name: "dst"}]})
        { __typename } }""",
    )
    open_route(tab, route("impact", "dataset|ui://notes|src", "drop=a&drop=b"))
    notes = tab.locator("#changes ul.hint li")
    expect(notes).to_have_count(2)
    expect(notes.nth(0)).to_have_text(re.compile(r"^#1: .*without column lineage"))
    expect(notes.nth(1)).to_have_text(re.compile(r"^#2: .*without column lineage"))
    watch.check()


def test_search_keeps_its_box_when_the_server_cannot_answer(page: tuple[Page, Watch]) -> None:
    # The whole page, search box included, was replaced by "This page could not be
    # loaded … Back to search", a link to the page it was on.
    tab, watch = page
    tab.route("**/graphql", lambda route_: route_.abort())
    open_route(tab, route("search", None, "q=payments"))
    expect(tab.locator(".error")).to_contain_text("Searching failed")
    expect(tab.locator("#results")).to_contain_text("The results could not be loaded")
    expect(tab.locator("#search-input")).to_have_value("payments")
    tab.unroute("**/graphql")
    tab.fill("#search-input", "orders")
    tab.press("#search-input", "Enter")
    expect(tab.locator("#results .result-count")).to_contain_text("results for “orders”")
    assert watch.foreign == []


def test_a_model_versions_page_shows_the_health_of_the_other_versions(
    page: tuple[Page, Watch],
) -> None:
    # The other versions were listed without health, so whether v1 was a safe rollback
    # target took a page per version; and the page's "Metrics" panel had a row "Metrics".
    tab, watch = page
    open_route(tab, route("entity", CHURN_V3))
    others = tab.locator('table[aria-label="Model versions"]')
    expect(others.locator("thead th")).to_have_text(["Version", "Created", "Metrics", "Health"])
    expect(others.locator("tbody tr", has_text="v3 (this)")).to_contain_text("At risk")
    expect(others.locator("tbody tr", has_text="v1")).to_contain_text("OK")
    expect(tab.locator(".panel h2", has_text="Model version")).to_have_count(1)
    watch.check()
