//! The dashboard in a real (headless) Chromium against a real server: sign in, every view,
//! sign out, a wrong password; screenshots of each view go to `target/screenshots/`.
//!
//! The scenario with runs (start one, watch it finish live, answer an approval) is in
//! `browser_runs.rs`, enabled once the runs API is merged.

use pretty_assertions::assert_eq;
use serde_json::json;

use crate::ADMIN_EMAIL;
use crate::ADMIN_PASSWORD;
use crate::TestServer;
use crate::cdp::Browser;
use crate::cdp::Page;

/// A browser tab on a test server's dashboard.
pub struct Dashboard {
    pub server: TestServer,
    pub browser: Browser,
    pub page: Page,
}

impl Dashboard {
    /// A server, a browser, and a tab showing `/` (the sign-in view).
    pub async fn open() -> Dashboard {
        let server = TestServer::start().await;
        let browser = Browser::launch().await;
        let page = browser.new_page(1280, 900).await;
        page.goto(&server.url("/")).await;
        Dashboard {
            server,
            browser,
            page,
        }
    }

    /// `open`, then signed in as the admin.
    pub async fn signed_in() -> Dashboard {
        let dashboard = Dashboard::open().await;
        dashboard.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        dashboard.wait_for_view("runs").await;
        dashboard
    }

    /// Fills and submits the sign-in form.
    pub async fn sign_in(&self, email: &str, password: &str) {
        self.wait_for_view("login").await;
        self.page.fill("login-email", email).await;
        self.page.fill("login-password", password).await;
        self.page.click("login-submit").await;
    }

    /// Waits until the view `name` (`login`, `runs`, `start`, `run`, `memory`, `analytics`) is
    /// the one shown.
    pub async fn wait_for_view(&self, name: &str) {
        self.page
            .wait_for(&format!(
                "document.body.dataset.view === {name} && {visible}",
                name = json!(name),
                visible = Page::visible(&format!("view-{name}")),
            ))
            .await;
    }

    /// The error area's title and detail, once it shows.
    pub async fn error_shown(&self) -> (String, String) {
        self.page.wait_for(&Page::visible("error")).await;
        (
            self.page.text("error-title").await,
            self.page.text("error-detail").await,
        )
    }

    /// Asserts nothing went wrong in the page: no uncaught exception, no `console.error`, no
    /// CSP violation.
    pub async fn assert_no_page_errors(&self) {
        let errors = self.page.errors().await;
        assert!(
            errors.is_empty(),
            "the page reported errors:\n{}\nChromium's stderr:\n{}",
            errors.join("\n"),
            self.browser.stderr_tail()
        );
    }

    pub async fn close(self) {
        self.browser.close().await;
        self.server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_signs_in_shows_each_view_and_signs_out() {
    let dashboard = Dashboard::open().await;
    let page = &dashboard.page;
    dashboard.wait_for_view("login").await;
    page.screenshot("01-login").await;

    dashboard.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    dashboard.wait_for_view("runs").await;
    let whoami = page
        .wait_for(&format!(
            "(({who}) || null) && ({who}).textContent.includes('admin')",
            who = Page::visible("whoami")
        ))
        .await;
    assert_eq!(whoami, json!(true));
    assert_eq!(page.text("whoami").await, format!("{ADMIN_EMAIL} (admin)"));
    let stored = page
        .eval("Object.keys(JSON.parse(sessionStorage.getItem('apiwright.tokens')))")
        .await;
    assert_eq!(stored, json!(["access", "refresh"]));
    page.screenshot("02-runs").await;

    page.click("nav-start").await;
    dashboard.wait_for_view("start").await;
    let expected: Vec<&str> = apiwright_workflow::builtin::NAMES.to_vec();
    let options = page
        .wait_for(&format!(
            "(() => {{ const names = [...document.querySelectorAll('[data-testid=start-workflow] option')]\
               .map((option) => option.value); return names.length === {count} && names; }})()",
            count = expected.len()
        ))
        .await;
    assert_eq!(options, json!(expected));
    let description = page.text("start-workflow-description").await;
    assert!(description.ends_with(" phases)"), "{description}");
    page.screenshot("03-start").await;

    page.click("nav-memory").await;
    dashboard.wait_for_view("memory").await;
    page.fill("memory-pattern", "*").await;
    page.click("memory-list").await;
    // The memory API comes with another branch: the answer is either keys or a problem shown
    // in the error area, never a script error.
    page.wait_for(&format!(
        "({}) || !document.querySelector('[data-testid=memory-results]').textContent.includes('List a pattern')",
        Page::visible("error")
    ))
    .await;
    page.screenshot("04-memory").await;

    page.click("nav-analytics").await;
    dashboard.wait_for_view("analytics").await;
    page.wait_for(
        "!document.querySelector('[data-testid=analytics]').textContent.includes('Loading')",
    )
    .await;
    page.screenshot("05-analytics").await;

    dashboard.assert_no_page_errors().await;

    page.click("logout").await;
    dashboard.wait_for_view("login").await;
    assert_eq!(
        page.eval("sessionStorage.getItem('apiwright.tokens')")
            .await,
        json!(null)
    );
    assert_eq!(
        page.eval("document.querySelector('[data-testid=nav]').hidden")
            .await,
        json!(true)
    );
    page.screenshot("06-signed-out").await;
    dashboard.assert_no_page_errors().await;

    // The detector is not vacuous: an inline script is refused by the policy and reported.
    page.eval(
        "(() => { const script = document.createElement('script');\
           script.textContent = 'window.__inlineRan = true;';\
           document.body.append(script); return true; })()",
    )
    .await;
    page.wait_for("window.__cspViolations.length > 0").await;
    assert_eq!(
        page.eval("window.__inlineRan === undefined").await,
        json!(true)
    );
    // Reported twice: the policy's event (seen by the page) and the browser's security log.
    let errors = page.errors().await;
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|error| error == "CSP violation: \"script-src-elem inline\""),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|error| error.starts_with("log: ")
            && error.contains("violates the following Content Security Policy directive")),
        "{errors:?}"
    );
    dashboard.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_shows_the_problem_detail_on_the_page() {
    let dashboard = Dashboard::open().await;
    dashboard.sign_in(ADMIN_EMAIL, "not the password").await;
    let (title, detail) = dashboard.error_shown().await;
    assert_eq!(
        (title.as_str(), detail.as_str()),
        ("Unauthorized", "wrong email or password")
    );
    // Still on the sign-in view, with nothing stored.
    dashboard.wait_for_view("login").await;
    assert_eq!(
        dashboard
            .page
            .eval("sessionStorage.getItem('apiwright.tokens')")
            .await,
        json!(null)
    );
    dashboard.page.screenshot("07-login-error").await;
    dashboard.assert_no_page_errors().await;
    let failed = dashboard.page.failed_requests();
    assert!(
        failed.len() == 1 && failed[0].contains("/api/v1/auth/login"),
        "{failed:?}"
    );
    dashboard.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_access_token_is_refreshed_and_the_request_retried() {
    let dashboard = Dashboard::signed_in().await;
    let page = &dashboard.page;
    let before = page
        .eval("JSON.parse(sessionStorage.getItem('apiwright.tokens'))")
        .await;
    // As if the access token had expired: the next call gets a 401.
    page.eval(
        "(() => { const tokens = JSON.parse(sessionStorage.getItem('apiwright.tokens'));\
           tokens.access = 'expired'; sessionStorage.setItem('apiwright.tokens', JSON.stringify(tokens));\
           return true; })()",
    )
    .await;
    page.click("nav-start").await;
    dashboard.wait_for_view("start").await;
    let second = apiwright_workflow::builtin::NAMES[1];
    page.wait_for(&format!(
        "document.querySelectorAll('[data-testid=workflow-option]').length === {}",
        apiwright_workflow::builtin::NAMES.len()
    ))
    .await;
    page.choose("start-workflow", second).await;
    let description = page
        .wait_for(&format!(
            "(() => {{ const text = document.querySelector('[data-testid=start-workflow-description]').textContent;\
               return text.includes({}) && text; }})()",
            serde_json::Value::from(
                apiwright_workflow::builtin::load(second)
                    .unwrap()
                    .unwrap()
                    .description
                    .lines()
                    .next()
                    .unwrap()
                    .trim()
                    .to_owned()
            )
        ))
        .await;
    assert!(description.is_string());
    let after = page
        .eval("JSON.parse(sessionStorage.getItem('apiwright.tokens'))")
        .await;
    assert_ne!(after["access"], json!("expired"));
    assert_ne!(after["access"], before["access"]);
    assert_ne!(
        after["refresh"], before["refresh"],
        "the refresh token rotates"
    );
    assert_eq!(
        page.eval("document.querySelector('[data-testid=error]').hidden")
            .await,
        json!(true)
    );
    // The start view's request was refused, then retried with the new token. Under load the
    // runs view's own first requests may still be on their way when the token is spoiled, so
    // they can be refused (and retried) too; the refresh itself never is.
    let refused: Vec<String> = page
        .failed_requests()
        .into_iter()
        .filter(|failed| failed.contains("status of 401"))
        .collect();
    assert!(
        refused
            .iter()
            .any(|failed| failed.contains("/api/v1/workflows"))
            && !refused
                .iter()
                .any(|failed| failed.contains("/auth/refresh")),
        "{refused:?}"
    );
    dashboard.assert_no_page_errors().await;
    dashboard.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_cannot_be_refreshed_returns_to_sign_in_then_to_the_view() {
    let dashboard = Dashboard::signed_in().await;
    let page = &dashboard.page;
    // Both tokens refused: the access token by its signature, the refresh token as unknown.
    page.eval(
        "sessionStorage.setItem('apiwright.tokens', JSON.stringify({access: 'expired', refresh: 'revoked'})), true",
    )
    .await;
    page.click("nav-start").await;
    dashboard.wait_for_view("login").await;
    let (title, detail) = dashboard.error_shown().await;
    assert_eq!(title, "Signed out");
    assert!(detail.starts_with("sign in again ("), "{detail}");
    assert_eq!(
        page.eval("sessionStorage.getItem('apiwright.tokens')")
            .await,
        json!(null)
    );
    page.screenshot("13-signed-out-notice").await;

    dashboard.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    dashboard.wait_for_view("start").await;
    page.wait_for("document.querySelectorAll('[data-testid=workflow-option]').length > 0")
        .await;
    dashboard.assert_no_page_errors().await;
    dashboard.close().await;
}
