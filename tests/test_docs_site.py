"""`metrics docs`: the static site's files and data, then the site itself in a real headless Chromium.

The browser tests drive Debian's `chromium` through Playwright (`executable_path`, never a downloaded browser) and
open index.html from file://, as a user would. Where Chromium or Playwright is missing they skip, saying so.
The graph's screenshot is saved under target/test-artifacts/ of the repository.
"""

from __future__ import annotations

import datetime
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT, query

from northstar.docs import site_data
from northstar.docs.site import yaml_entry
from northstar.engine.manifest import load_manifest
from northstar.project.loader import load_project

ARTIFACTS = REPO_ROOT / "target" / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Chromium's renderer can crash on a loaded CI machine (seen once: "Page.evaluate: Target crashed", in a test that
# passed on every other run). That says nothing of the site, so such a test runs again, up to twice, in a new page;
# every other failure, an assertion or a script error on the page, fails at once.
pytestmark = pytest.mark.flaky(reruns=2, only_rerun=["Target crashed"])

SHOP_METRICS = {
    "models/marts/fct_orders.sql": (
        "select customer_id, amount, cast('2025-01-01' as date) + cast(customer_id * 31 as integer) as ordered_at\n"
        "from {{ ref('stg_orders') }}\n"
    ),
    "models/marts/schema.yml": """
        models:
          - name: fct_orders
            description: One row per order.
            columns:
              - name: amount
                description: What the customer paid.
                data_tests: [not_null]
    """,
    "metrics/orders.yml": """
        semantic_models:
          - name: orders
            model: ref('fct_orders')
            defaults: {agg_time_dimension: ordered_at}
            entities: [{name: customer, type: foreign, expr: customer_id}]
            dimensions: [{name: ordered_at, type: time, type_params: {time_granularity: day}}]
            measures: [{name: revenue, agg: sum, expr: amount}]
        metrics:
          - name: revenue
            description: Money paid by customers.
            type: simple
            type_params: {measure: revenue}
            defaults: {grain: month}
    """,
}


def read_data(index: Path) -> dict:
    text = (index.parent / "data.js").read_text(encoding="utf-8")
    prefix = "window.NORTHSTAR_DOCS = "
    assert text.startswith(prefix) and text.endswith(";\n")
    return json.loads(text[len(prefix) : -2])


def test_docs_writes_a_site_that_needs_no_network(make_project, run_cli):
    root = make_project(SHOP_METRICS)
    assert run_cli(root, "build").exit_code == 0
    result = run_cli(root, "docs")
    assert result.exit_code == 0, result.output
    index = root / "target" / "docs" / "index.html"
    assert result.output == f"Wrote {index}\nWrote {root / 'target' / 'catalog.json'}\n"
    html = index.read_text(encoding="utf-8")
    # Every script and stylesheet is a file beside index.html: nothing is fetched, so file:// works offline.
    assert re.findall(r'(?:src|href)="([^"#]+)"', html) == [
        "assets/vendor/uPlot.min.css",
        "assets/app.css",
        "data.js",
        "assets/vendor/cytoscape.min.js",
        "assets/vendor/cytoscape-dagre.min.js",
        "assets/vendor/uPlot.iife.min.js",
        "assets/app.js",
    ]
    for name in ("cytoscape.min.js", "cytoscape-dagre.min.js", "uPlot.iife.min.js", "LICENSE.cytoscape"):
        assert (index.parent / "assets" / "vendor" / name).is_file()
    assert "fetch(" not in (index.parent / "assets" / "app.js").read_text(encoding="utf-8")

    data = read_data(index)
    by_name = {n["name"]: n for n in data["nodes"]}
    assert sorted(by_name) == ["customers", "fct_orders", "orders", "revenue", "semantic_model:orders", "stg_orders"]
    fct = by_name["fct_orders"]
    assert fct["description"] == "One row per order."
    assert fct["columns"] == [
        {"name": "customer_id", "type": "BIGINT", "description": "", "tests": []},
        {"name": "amount", "type": "DOUBLE", "description": "What the customer paid.", "tests": ["not_null"]},
        {"name": "ordered_at", "type": "DATE", "description": "", "tests": []},
    ]
    assert fct["sql"].startswith("select customer_id, amount")
    assert fct["yaml"] == (
        "- name: fct_orders\n"
        "  description: One row per order.\n"
        "  columns:\n"
        "    - name: amount\n"
        "      description: What the customer paid.\n"
        "      data_tests: [not_null]\n"
    )
    revenue = by_name["revenue"]
    assert revenue["series"] == {
        "kind": "lines",
        "x": [1738368000.0, 1740787200.0],  # 2025-02-01 and 2025-03-01, UTC
        "lines": [["revenue", [30.5, 7.25]]],
        "time": "metric_time__month",
        "grain": "month",
        "value": "revenue",
        "percent": False,
        "unit": "",
        # The last order is on 2025-03-04: March is partial, drawn as such rather than as a fall.
        "data_end": "2025-03-04",
        "partial_from": 1740787200.0,
    }
    # The warehouse documents the metric's table: its columns come with their types and descriptions.
    assert revenue["columns"] == [
        {
            "name": "metric_time__month",
            "type": "DATE",
            "description": "Start of the month (UTC) of the metric time (orders.ordered_at).",
            "tests": [],
        },
        {"name": "revenue", "type": "DOUBLE", "description": "Money paid by customers.", "tests": []},
    ]
    assert data["column_edges"]["model.shop.fct_orders"]["amount"] == [["value", "model.shop.stg_orders", "amount"]]


def test_metric_without_a_warehouse_says_how_to_get_its_chart(make_project):
    root = make_project(SHOP_METRICS)
    data = site_data(load_manifest(load_project(root), metrics=False))
    revenue = next(n for n in data["nodes"] if n["name"] == "revenue")
    assert revenue["series"] is None
    assert revenue["series_problem"] == (
        "The warehouse is not built yet: run 'metrics build' to see this metric's values."
    )


def test_yaml_entry_is_the_block_of_one_list_item(tmp_path):
    (tmp_path / "a.yml").write_text("models:\n  - name: a\n    description: x\n  - name: b\n", encoding="utf-8")
    assert yaml_entry(tmp_path, "a.yml", 2) == "- name: a\n  description: x\n"
    assert yaml_entry(tmp_path, "a.yml", 4) == "- name: b\n"


# -- in a real browser -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium): skipping the docs site's browser tests.")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (pip install -e '.[dev]'): skipping the docs site's browser tests.")
    with sync_playwright() as playwright:
        # Playwright adds --user-data-dir with a fresh temporary profile itself.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def example_copy(tmp_path_factory):
    """A copy of the example project of our own: building it must not change the one other suites share."""
    root = tmp_path_factory.mktemp("docs-example") / "growth"
    ignore = shutil.ignore_patterns(".venv", ".git", "target", "*.duckdb*", "__pycache__", "northstar", "bench", "data")
    shutil.copytree(REPO_ROOT, root, ignore=ignore)
    return root


@pytest.fixture(scope="module")
def example_site(browser, example_copy):
    """The example project, built, and its docs written."""
    from click.testing import CliRunner

    from northstar.cli import main

    for command in ("build", "docs"):  # build: the metric tables hold the columns' types and descriptions
        result = CliRunner().invoke(main, [command, "--project-dir", str(example_copy)])
        assert result.exit_code == 0, result.output
    return example_copy / "target" / "docs" / "index.html"


@pytest.fixture
def page(browser, example_site):
    context = browser.new_context(viewport={"width": 1500, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(example_site.as_uri())
    page.wait_for_selector("body[data-ready=true]")
    yield page
    context.close()
    assert errors == [], errors
    # No network: every request is a file next to index.html (or a data: URL a library makes itself).
    assert [url for url in requests if url.split(":", 1)[0] not in ("file", "data", "blob")] == []


def expected_example_names(root: Path) -> set[str]:
    """Names read from the example project's files, not from the code under test."""
    names = {path.stem for path in (root / "models").rglob("*.sql")}
    names |= {path.stem for path in (root / "seeds").glob("*.csv")}
    for path in (root / "metrics").rglob("*.yml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        names |= {m["name"] for m in doc.get("metrics") or []}
    return names


def graph_labels(page) -> set[str]:
    return set(page.evaluate("window.northstarGraph.nodes().not('.column').map(n => n.data('label'))"))


def test_graph_renders_every_node_of_the_example_project(page, example_copy):
    labels = graph_labels(page)
    assert expected_example_names(example_copy) <= labels
    assert "raw.orders" in labels  # sources
    box = page.evaluate("(() => { const b = window.northstarGraph.elements().renderedBoundingBox(); return b; })()")
    assert box["w"] > 600 and box["h"] > 300  # laid out across the canvas, not stacked in a corner
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-lineage-graph.png"))


def click_node(page, node_id: str, double: bool = False) -> None:
    """A real mouse click where cytoscape drew the node, panned to the middle first as a user would (at a readable
    zoom the whole graph may not fit, and the side panel covers the right edge)."""
    page.evaluate(f"window.northstarGraph.center(window.northstarGraph.getElementById({json.dumps(node_id)}))")
    position = page.evaluate(f"window.northstarGraph.getElementById({json.dumps(node_id)}).renderedPosition()")
    canvas = page.locator("#cy").bounding_box()
    x, y = canvas["x"] + position["x"], canvas["y"] + position["y"]
    if double:
        page.mouse.dblclick(x, y)
    else:
        page.mouse.click(x, y)


def test_clicking_a_node_focuses_on_its_upstream_and_downstream(page):
    click_node(page, "model.growth.stg_orders")
    page.wait_for_selector("body[data-focus='model.growth.stg_orders']")
    assert page.inner_text("#panel h2") == "stg_orders"
    faded = set(page.evaluate("window.northstarGraph.nodes('.faded').map(n => n.id())"))
    shown = set(page.evaluate("window.northstarGraph.nodes().not('.faded').map(n => n.id())"))
    # stg_orders reads raw.orders (a source loaded by the orders seed) and feeds fct_orders and the revenue metric.
    assert {"source.growth.raw.orders", "seed.growth.orders", "model.growth.fct_orders"} <= shown
    assert "metric.growth.revenue" in shown
    # Ad spend has nothing to do with orders.
    assert {"seed.growth.ad_spend", "model.growth.stg_ad_spend"} <= faded
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-focus-stg_orders.png"))


def test_expanding_a_node_shows_its_columns_and_a_column_shows_its_path(page):
    click_node(page, "model.growth.fct_orders", double=True)
    page.wait_for_function("window.northstarGraph.nodes('.column').length > 0")
    columns = page.evaluate(
        "window.northstarGraph.getElementById('model.growth.fct_orders').children().map(n => n.data('label'))"
    )
    assert {"order_id", "payment_total", "ordered_at", "status"} <= set(columns)
    click_node(page, "model.growth.fct_orders::payment_total")
    page.wait_for_selector("body[data-focus='model.growth.fct_orders::payment_total']")
    assert page.inner_text("#panel h2") == "fct_orders.payment_total"
    raws = page.eval_on_selector_all("#panel ul.mono:first-of-type li", "items => items.map(i => i.textContent)")
    assert "raw.orders.payment_total" in raws
    on_path = set(page.evaluate("window.northstarGraph.nodes('.column').not('.faded').map(n => n.id())"))
    assert {"model.growth.stg_orders::payment_total", "source.growth.raw.orders::payment_total"} <= on_path
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-column-path.png"))


def test_search_finds_a_metric_and_focuses_it(page):
    page.fill("#search", "sarpu")
    page.wait_for_selector("#search-results li")
    assert page.inner_text("#search-results li:first-child").startswith("sarpu")
    page.keyboard.press("Enter")
    page.wait_for_selector("body[data-focus='metric.growth.sarpu']")
    assert page.inner_text("#panel h2") == "sarpu"


def test_a_metric_page_shows_its_chart(page):
    page.evaluate("location.hash = '#node/metric.growth.revenue'")
    page.wait_for_selector(".chart canvas")
    assert int(page.get_attribute(".chart", "data-points")) >= 12  # two years of months in the example data
    assert page.inner_text("#page-view h1").startswith("revenue")
    assert "Compiled SQL" not in page.inner_text("#page-view") and "SQL" in page.inner_text("#page-view h2 >> nth=-2")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-metric-revenue.png"), full_page=True)


def test_a_model_page_lists_columns_with_types_tests_and_lineage(page):
    page.evaluate("location.hash = '#node/model.growth.fct_orders'")
    page.wait_for_selector("table.columns")
    rows = page.eval_on_selector_all(
        "table.columns tbody tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.trim()))"
    )
    by_name = {row[0]: row for row in rows}
    assert by_name["payment_total"][1].startswith("DECIMAL")
    assert "raw.orders.payment_total" in by_name["payment_total"][4]
    assert page.inner_text("pre.sql").lstrip().lower().startswith(("with", "select", "--"))


def test_serve_serves_the_site_on_localhost(make_project, run_cli):
    import threading
    import urllib.request

    from northstar.docs import make_server

    root = make_project(SHOP_METRICS)
    assert run_cli(root, "docs").exit_code == 0
    folder = root / "target" / "docs"
    with make_server(folder, 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            host, port = server.server_address[:2]
            assert host == "127.0.0.1"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as response:
                assert response.read() == (folder / "index.html").read_bytes()
        finally:
            server.shutdown()
            thread.join(5)


def test_serve_on_a_busy_port_is_a_clear_error(make_project, run_cli):
    from northstar.docs import make_server

    root = make_project(SHOP_METRICS)
    with make_server(root, 0) as busy:
        port = busy.server_address[1]
        result = run_cli(root, "docs", "--serve", "--port", str(port))
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        f"Error: Cannot serve on port {port}: Address already in use. Pick another with --port."
    )


def test_a_warehouse_held_by_a_writer_leaves_the_charts_out_and_says_why(make_project, run_cli):
    import duckdb

    root = make_project(SHOP_METRICS)
    assert run_cli(root, "build").exit_code == 0
    manifest = load_manifest(load_project(root), metrics=False)
    with duckdb.connect(str(root / "warehouse.duckdb")):  # a writer (here: this process, read-write)
        data = site_data(manifest)
    revenue = next(n for n in data["nodes"] if n["name"] == "revenue")
    assert revenue["series"] is None
    assert revenue["series_problem"].startswith("The warehouse could not be opened: ")
    assert [c["name"] for c in next(n for n in data["nodes"] if n["name"] == "fct_orders")["columns"]] == [
        "customer_id",
        "amount",
        "ordered_at",
    ]


# -- metric charts on the example project ----------------------------------------------------------------------------


def open_metric(page, name: str) -> None:
    page.evaluate(f"location.hash = '#node/metric.growth.{name}'")
    page.wait_for_selector("#chart")


def legend_at(page, day: str) -> dict[str, str]:
    """Put the chart's cursor on the period starting ``day`` and read the legend, as a user hovering it would."""
    ts = int(datetime.datetime.fromisoformat(day).replace(tzinfo=datetime.UTC).timestamp())
    return page.evaluate(
        """ts => {
            const u = window.northstarChart;
            u.setCursor({left: u.valToPos(ts, 'x'), top: 10});
            const out = {};
            u.root.querySelectorAll('.u-legend .u-series').forEach(row => {
                const label = row.querySelector('.u-label'), value = row.querySelector('.u-value');
                if (label && value) out[label.textContent] = value.textContent;
            });
            return out;
        }""",
        ts,
    )


def weekly_checkout(example_copy, week: str) -> tuple[int, int]:
    """Checkout sessions attempted and succeeded in a week, counted from the model (not by the code under test)."""
    [(attempted, succeeded)] = query(
        example_copy / "warehouse.duckdb",
        "select count(*) filter (checkout_attempts > 0), count(*) filter (checkout_attempts > checkout_failures) "
        f"from marts.fct_sessions where date_trunc('week', started_at) = date '{week}'",
    )
    return attempted, succeeded


def test_a_funnel_is_step_bars_per_week_with_its_rate_and_shows_the_checkout_incident(page, example_copy):
    open_metric(page, "checkout_funnel")
    assert page.get_attribute("#chart", "data-kind") == "funnel"
    attempted, succeeded = weekly_checkout(example_copy, "2026-03-16")  # the week of the payment incident
    assert succeeded / attempted < 0.9  # the example data has the incident
    assert legend_at(page, "2026-03-16") == {
        "metric_time__week": "2026-03-16",
        "attempted": f"{attempted:,}",
        "succeeded": f"{succeeded:,}",
        "checkout_funnel (rate)": f"{succeeded / attempted:.1%}",
    }
    before, after = weekly_checkout(example_copy, "2026-03-09")  # the week before: normal
    assert legend_at(page, "2026-03-09")["checkout_funnel (rate)"] == f"{after / before:.1%}"
    # That week's rate is the lowest of 2026: the incident stands out, not one line per row flat at 100%.
    rates = page.evaluate(
        """() => { const s = window.NORTHSTAR_DOCS.nodes.find(n => n.name === 'checkout_funnel').series;
                   return s.x.map((x, i) => [x, s.rate[1][i]]).filter(p => p[0] >= 1767225600 && p[1] !== null); }"""
    )
    assert min(rates, key=lambda p: p[1])[0] == 1773619200  # 2026-03-16
    axes = page.evaluate("window.northstarChart.axes.map(a => a.label || null)")
    assert axes == ["period start (week, UTC)", "count per week", "rate (%)"]
    assert page.evaluate("window.northstarChart.axes[2].values(window.northstarChart, [0, 0.5, 1])") == [
        "0%",
        "50%",
        "100%",
    ]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-metric-checkout_funnel.png"))


def four_decimals(value: float) -> str:
    """A number as the page prints it: rounded to 4 decimals, without trailing zeros."""
    text = f"{round(value, 4):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def test_an_uplift_is_treatment_against_control_with_its_interval(page, example_copy):
    open_metric(page, "reactivation_uplift")
    assert page.get_attribute("#chart", "data-kind") == "uplift"
    [row] = query(
        example_copy / "warehouse.duckdb",
        "select treatment_members, control_members, treatment_per_member, control_per_member, reactivation_uplift, "
        "reactivation_uplift_relative, reactivation_uplift_ci95_low, reactivation_uplift_ci95_high "
        "from metrics.reactivation_uplift where metric_time__month = date '2026-09-01'",
    )
    treated, controls, treatment, control, uplift, relative, low, high = row
    legend = legend_at(page, "2026-09-01")
    assert legend == {
        "metric_time__month": "2026-09-01",
        "treatment per member": four_decimals(treatment),
        "control per member": four_decimals(control),
        "uplift": four_decimals(uplift),
        "95% interval (high)": four_decimals(high),
        "95% interval (low)": four_decimals(low),
    }
    rows = page.eval_on_selector_all(
        "table.uplift tbody tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.trim()))"
    )
    assert rows[1] == [
        "2026-09-01",
        f"{treated:,}",
        f"{controls:,}",
        four_decimals(treatment),
        four_decimals(control),
        four_decimals(uplift),
        f"{relative:+.1%}",
        f"[{four_decimals(low)}, {four_decimals(high)}]",
    ]
    shown = [cell for row in rows for cell in row] + list(legend.values())
    assert [cell for cell in shown if cell in ("None", "null", "NaN", "") or re.search(r"\d\.\d{5,}", cell)] == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-metric-reactivation_uplift.png"), full_page=True)


def test_a_partial_last_period_is_marked_not_drawn_as_a_drop(page):
    open_metric(page, "north_star_qoq")
    # The data ends on 2026-10-31: the last quarter holds one month of three.
    assert page.get_attribute("#chart", "data-partial") == "2026-10-01"
    assert page.inner_text("#chart .notice.partial") == (
        "The last quarter (2026-10-01) is partial: the data ends on 2026-10-31, so it is drawn shaded and is not a "
        "real change."
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-metric-north_star_qoq-partial.png"))


def test_a_metric_without_time_shows_its_value_and_rates_read_as_percentages(page, example_copy):
    open_metric(page, "top_customer_share")
    [(share,)] = query(example_copy / "warehouse.duckdb", "select top_customer_share from metrics.top_customer_share")
    assert 0.4 < share < 0.8  # the top 1% bring about half the revenue in the example
    assert page.inner_text("#chart .big-value .value") == f"{share:.1%}"
    open_metric(page, "churn_rate")
    chart = page.evaluate("window.northstarChart.axes[1].values(window.northstarChart, [0.1, 0.25])")
    assert chart == ["10%", "25%"]
    assert page.evaluate("window.northstarChart.axes[1].label") == "churn_rate (%)"


def test_metric_pages_list_column_types_and_descriptions_from_the_warehouse(page):
    open_metric(page, "checkout_funnel")
    rows = page.eval_on_selector_all(
        "table.columns tbody tr", "rows => rows.map(r => Array.from(r.cells).slice(0, 3).map(c => c.innerText.trim()))"
    )
    assert rows[:4] == [
        ["metric_time__day", "DATE", "Start of the day (UTC) of the metric time (sessions.started_at)."],
        ["attempted", "BIGINT", "Step 1: sessions reaching 'attempted'."],
        ["succeeded", "BIGINT", "Step 2: sessions reaching 'succeeded'."],
        ["succeeded_rate", "DOUBLE", "Share of step 1 reaching step 2."],
    ]


def test_node_labels_stay_readable_at_fit_and_when_zooming_out(page):
    page.click("#fit")
    readable = "window.northstarGraph.zoom() * parseFloat(window.northstarGraph.nodes().first().style('font-size'))"
    assert page.evaluate(readable) >= 11  # pixels on screen
    # No two node labels overlap, whatever the zoom (positions scale together).
    overlaps = page.evaluate(
        """() => {
            const boxes = window.northstarGraph.nodes().not('.column').map(n => n.boundingBox({includeLabels: true}));
            let count = 0;
            for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
                const a = boxes[i], b = boxes[j];
                if (a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2) count++;
            }
            return count;
        }"""
    )
    assert overlaps == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-lineage-fit.png"))
    box = page.locator("#cy").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(10):
        page.mouse.wheel(0, 600)  # zoom out as far as the wheel goes
    page.wait_for_timeout(200)
    assert page.evaluate(readable) >= 11
