//! From the dashboard: start a run, watch it finish live (the status badge changes through the
//! event stream, without reloading), and answer an approval gate (a reject without a reason is
//! refused on the page; an approve continues the run).

use pretty_assertions::assert_eq;
use serde_json::Value;
use serde_json::json;

use crate::browser::Dashboard;
use crate::cdp::Page;

/// The runs tests' workflow (steps are shell commands; an approval gate between its phases),
/// registered through the API before the page starts it.
const WORKFLOW: &str = "server-demo";

async fn register_demo(dashboard: &Dashboard) {
    let tokens = dashboard.server.admin_tokens().await;
    crate::runs::register(&dashboard.server, &tokens.access, crate::runs::DEMO).await;
}

/// Fills the start form and submits it; returns the new run's id (from the run view's URL).
async fn start_run(
    dashboard: &Dashboard,
    workflow: &str,
    params: &str,
    auto_approve: bool,
) -> String {
    let page = &dashboard.page;
    page.click("nav-start").await;
    dashboard.wait_for_view("start").await;
    page.wait_for(&format!(
        "[...document.querySelectorAll('[data-testid=start-workflow] option')].some((o) => o.value === {})",
        json!(workflow)
    ))
    .await;
    page.choose("start-workflow", workflow).await;
    page.fill("start-params", params).await;
    page.choose("start-builtin-agents", "false").await;
    page.choose(
        "start-auto-approve",
        if auto_approve { "true" } else { "false" },
    )
    .await;
    page.click("start-submit").await;
    dashboard.wait_for_view("run").await;
    let hash = page
        .wait_for("location.hash.startsWith('#/runs/') && location.hash")
        .await;
    let id = hash
        .as_str()
        .unwrap()
        .trim_start_matches("#/runs/")
        .to_owned();
    assert_eq!(page.text("run-id").await, id);
    id
}

/// Waits until the run view's status badge says `status`, without reloading the page.
async fn wait_for_status(page: &Page, status: &str) {
    page.wait_for(&format!(
        "document.querySelector('[data-testid=run-status]').dataset.status === {}",
        json!(status)
    ))
    .await;
}

/// The run as the API has it (to compare with what the page shows).
async fn api_run(dashboard: &Dashboard, id: &str) -> Value {
    let tokens = dashboard.server.admin_tokens().await;
    dashboard
        .server
        .client
        .get(dashboard.server.url(&format!("/api/v1/runs/{id}")))
        .bearer_auth(tokens.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_started_from_the_dashboard_finishes_live() {
    let dashboard = Dashboard::signed_in().await;
    let page = &dashboard.page;
    register_demo(&dashboard).await;
    let id = start_run(&dashboard, WORKFLOW, "pause=1", true).await;
    page.wait_for(&format!(
        "{} && {}",
        Page::visible("run-live"),
        "document.querySelector('[data-testid=run-events-count]').textContent !== '0'"
    ))
    .await;
    page.screenshot("20-run-live").await;
    // The page was never reloaded: the marker set now survives until the run completes.
    page.eval("window.__sameDocument = true").await;
    wait_for_status(page, "completed").await;
    assert_eq!(
        page.eval("window.__sameDocument === true").await,
        json!(true)
    );
    let run = api_run(&dashboard, &id).await;
    assert_eq!(run["status"], "completed");
    let phases = page
        .eval("document.querySelectorAll('[data-testid=phase]').length")
        .await;
    assert_eq!(
        phases,
        json!(run["report"]["phases"].as_array().unwrap().len())
    );

    // Gate evidence opens as pretty JSON.
    page.eval("document.querySelector('[data-testid=gate-evidence]').open = true")
        .await;
    let evidence = page
        .wait_for(&format!(
            "({}) && ({}).textContent",
            Page::visible("gate-evidence-json"),
            Page::visible("gate-evidence-json")
        ))
        .await;
    assert!(evidence.as_str().unwrap().starts_with('{'), "{evidence}");
    page.screenshot("21-run-completed").await;
    // No placeholder leaks into the page (a null once rendered as the text "null").
    let summary = page.text("run-summary").await;
    assert!(
        !summary.contains("null") && !summary.contains("undefined"),
        "{summary}"
    );

    // The runs list shows it.
    page.click("nav-runs").await;
    dashboard.wait_for_view("runs").await;
    page.wait_for(&format!(
        "document.querySelector('[data-testid=run-row][data-run-id={}]')",
        json!(id)
    ))
    .await;
    page.choose("runs-status-filter", "completed").await;
    page.wait_for(&format!(
        "[...document.querySelectorAll('[data-testid=run-row]')].every((row) => row.querySelector('[data-testid=run-row-status]').textContent === 'completed') \
         && document.querySelector('[data-testid=run-row][data-run-id={}]')",
        json!(id)
    ))
    .await;
    page.screenshot("22-runs-completed").await;
    dashboard.assert_no_page_errors().await;
    dashboard.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_is_answered_from_the_dashboard() {
    let dashboard = Dashboard::signed_in().await;
    let page = &dashboard.page;
    register_demo(&dashboard).await;
    let id = start_run(&dashboard, WORKFLOW, "", false).await;
    wait_for_status(page, "waiting_approval").await;
    page.wait_for(&Page::visible("run-waiting")).await;
    let run = api_run(&dashboard, &id).await;
    assert_eq!(
        page.text("run-waiting-id").await,
        run["waiting"]["id"].as_str().unwrap()
    );
    page.screenshot("23-run-waiting").await;

    // A reject needs a reason: refused on the page, nothing sent.
    page.click("reject-button").await;
    let (title, _) = dashboard.error_shown().await;
    assert_eq!(title, "A reason is required");
    assert_eq!(api_run(&dashboard, &id).await["status"], "waiting_approval");

    page.click("approve-button").await;
    page.wait_for(&format!(
        "!({}) || document.querySelector('[data-testid=run-waiting-id]').textContent !== {}",
        Page::visible("run-waiting"),
        json!(run["waiting"]["id"])
    ))
    .await;
    // The run goes on live to its end.
    wait_for_status(page, "completed").await;
    assert_eq!(api_run(&dashboard, &id).await["status"], "completed");
    page.screenshot("24-run-approved").await;
    dashboard.assert_no_page_errors().await;
    dashboard.close().await;
}
