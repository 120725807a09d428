//! The admin UI's webhook pages (issue 10) through the real server on either backend: create
//! with errors next to their fields, CSRF, roles, a test event reaching a real receiver on
//! 127.0.0.1, the deliveries list and a delivery's attempts, redeliver, edit, recover, delete.

use std::time::{Duration, Instant};

use crate::helpers::{TEST_PASSWORD, spawn_app};
use crate::ui_browser::{Browser, Page};
use crate::webhooks::receiver::TestReceiver;

/// Reloads `path` until its HTML contains `text` (10 s at most).
async fn wait_for_text(browser: &mut Browser<'_>, path: &str, text: &str) -> Page {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = browser.get(path).await;
        assert_eq!(page.status, 200, "{}", page.html);
        if page.html.contains(text) {
            return page;
        }
        assert!(Instant::now() < deadline, "{path} never showed {text:?}: {}", page.html);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The first `/ui/webhooks/{id}/deliveries/{delivery}` link of a page.
fn first_delivery_link(html: &str) -> String {
    let start = html.find("/deliveries/").expect("a delivery link");
    let begin = html[..start].rfind('"').unwrap() + 1;
    let end = start + html[start..].find('"').unwrap();
    html[begin..end].to_owned()
}

#[tokio::test]
async fn ui_webhooks_create_shows_errors_next_to_fields_and_needs_csrf() {
    let app = spawn_app().await;
    let mut browser = Browser::owner(&app).await;
    let csrf = browser.get("/ui/webhooks").await.csrf();

    let empty = browser.get("/ui/webhooks").await;
    assert_eq!(empty.status, 200);
    assert!(empty.html.contains("No webhooks yet"), "{}", empty.html);
    assert!(empty.html.contains("signal.received"), "the picker explains the wildcard: {}", empty.html);
    assert_eq!(empty.html.matches("<h1").count(), 1);

    let fields = [("name", "hooks"), ("url", "not a url"), ("events", "flag.created"), ("csrf", csrf.as_str())];
    let invalid = browser.post("/ui/webhooks", &fields).await;
    assert_eq!(invalid.status, 422, "{}", invalid.html);
    assert!(invalid.html.contains("id=\"webhook-url-error\""), "{}", invalid.html);
    assert!(invalid.html.contains("value=\"not a url\""), "what was typed is kept");
    assert!(invalid.html.contains("value=\"flag.created\" checked"), "the ticked events are kept");
    let bad_schedule =
        [("name", "hooks"), ("url", "http://127.0.0.1:9/h"), ("retry_schedule", "1s, soon"), ("csrf", &csrf)];
    let invalid = browser.post("/ui/webhooks", &bad_schedule).await;
    assert_eq!(invalid.status, 422, "{}", invalid.html);
    assert!(invalid.html.contains("id=\"webhook-retry-error\""), "{}", invalid.html);
    assert_eq!(app.count_rows("webhooks").await, 0);

    // Every wrong field at once, each next to its own input.
    let all_wrong = [("name", ""), ("url", "not a url"), ("retry_schedule", "soon"), ("csrf", csrf.as_str())];
    let invalid = browser.post("/ui/webhooks", &all_wrong).await;
    assert_eq!(invalid.status, 422, "{}", invalid.html);
    for id in ["webhook-name-error", "webhook-url-error", "webhook-retry-error"] {
        assert!(invalid.html.contains(&format!("id=\"{id}\"")), "{id}: {}", invalid.html);
    }
    assert_eq!(app.count_rows("webhooks").await, 0);

    let no_csrf = browser.post("/ui/webhooks", &[("name", "hooks"), ("url", "http://127.0.0.1:9/h")]).await;
    assert_eq!(no_csrf.status, 403);
    let forged = [("name", "hooks"), ("url", "http://127.0.0.1:9/h"), ("csrf", "forged")];
    assert_eq!(browser.post("/ui/webhooks", &forged).await.status, 403);
    assert_eq!(app.count_rows("webhooks").await, 0);

    let valid = [
        ("name", "hooks"),
        ("url", "http://127.0.0.1:9/h"),
        ("events", "flag.created"),
        ("events", "signal.received"),
        ("retry_schedule", "1s, 5s"),
        ("secret", "s3cret"),
        ("enabled", "1"),
        ("csrf", &csrf),
    ];
    let created = browser.post("/ui/webhooks", &valid).await;
    assert_eq!(created.status, 303, "{}", created.html);
    let location = created.location.unwrap();
    assert!(location.starts_with("/ui/webhooks/"), "{location}");
    assert_eq!(app.count_rows("webhooks").await, 1);

    let page = browser.get(&location).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("<h1>hooks</h1>"), "{}", page.html);
    assert!(page.html.contains("value=\"signal.received\" checked"), "{}", page.html);
    assert!(page.html.contains("value=\"1s, 5s\""), "{}", page.html);
    assert!(page.html.contains("signed"));
    assert!(!page.html.contains("s3cret"), "the secret is never shown");
    assert!(page.html.contains("onsubmit=\"return confirm("), "deleting asks first");

    let list = browser.get("/ui/webhooks").await;
    assert!(list.html.contains("id=\"webhooks\""), "{}", list.html);
    assert!(list.html.contains("never"), "health: no success yet");

    // Edit: an error is shown next to its field and nothing changes; then a real change.
    let bad = [("name", ""), ("url", "http://127.0.0.1:9/h"), ("csrf", csrf.as_str())];
    let refused = browser.post(&location, &bad).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(refused.html.contains("id=\"webhook-name-error\""), "{}", refused.html);
    let edit = [("name", "renamed"), ("url", "http://127.0.0.1:9/h"), ("remove_secret", "1"), ("csrf", &csrf)];
    let edited = browser.post(&location, &edit).await;
    assert_eq!((edited.status, edited.location.as_deref()), (303, Some(location.as_str())), "{}", edited.html);
    let page = browser.get(&location).await;
    assert!(page.html.contains("<h1>renamed</h1>"), "{}", page.html);
    assert!(page.html.contains("not signed"));
    assert!(!page.html.contains("name=\"enabled\" value=\"1\" checked"), "the enabled box was not ticked");
    assert!(page.html.contains(" · disabled · "), "{}", page.html);

    // A disabled webhook gets no test event: the page says why.
    let refused = browser.post(&format!("{location}/test"), &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, 409, "{}", refused.html);
    assert!(refused.html.contains("enable it first"), "{}", refused.html);
    assert_eq!(app.count_rows_where("deliveries", "event_type", "webhook.test").await, 0);

    // Delete: a CSRF token is needed; then it is gone.
    assert_eq!(browser.post(&format!("{location}/delete"), &[]).await.status, 403);
    let deleted = browser.post(&format!("{location}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!((deleted.status, deleted.location.as_deref()), (303, Some("/ui/webhooks")));
    assert_eq!(app.count_rows("webhooks").await, 0);
}

#[tokio::test]
async fn ui_webhooks_viewer_sees_no_controls_and_is_refused() {
    let app = spawn_app().await;
    let owner = app.login_owner().await;
    let hook = crate::webhooks::webhook_to(&app, &owner, "http://127.0.0.1:9/h", serde_json::json!({})).await;
    let id = hook["id"].as_str().unwrap();
    let (_, email, _) = app.user_with_role(&owner, "viewer").await;
    let mut browser = Browser::new(&app);
    browser.log_in(&email, TEST_PASSWORD).await;
    let csrf = browser.get("/ui/webhooks").await.csrf();

    let page = browser.get("/ui/webhooks").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("managed by owners and admins"), "{}", page.html);
    assert!(!page.html.contains("create-webhook"), "{}", page.html);
    let one = browser.get(&format!("/ui/webhooks/{id}")).await;
    assert_eq!(one.status, 403);
    assert!(!one.html.contains("send-test"), "{}", one.html);

    let fields = [("name", "hooks"), ("url", "http://127.0.0.1:9/h"), ("csrf", csrf.as_str())];
    assert_eq!(browser.post("/ui/webhooks", &fields).await.status, 403);
    assert_eq!(browser.post(&format!("/ui/webhooks/{id}/test"), &[("csrf", &csrf)]).await.status, 403);
    assert_eq!(browser.post(&format!("/ui/webhooks/{id}/delete"), &[("csrf", &csrf)]).await.status, 403);
    assert_eq!(app.count_rows("webhooks").await, 1);
    assert_eq!(app.count_rows_where("deliveries", "event_type", "webhook.test").await, 0);
}

#[tokio::test]
async fn ui_webhooks_test_event_reaches_the_receiver_and_can_be_redelivered() {
    let app = spawn_app().await;
    let receiver = TestReceiver::start().await;
    let mut browser = Browser::owner(&app).await;
    let csrf = browser.get("/ui/webhooks").await.csrf();
    // Only flag.created: the test event is then the only delivery.
    let url = receiver.url();
    let fields = [("name", "receiver"), ("url", &url), ("events", "flag.created"), ("enabled", "1"), ("csrf", &csrf)];
    let location = browser.post("/ui/webhooks", &fields).await.location.expect("created");

    let sent = browser.post(&format!("{location}/test"), &[("csrf", &csrf)]).await;
    assert_eq!((sent.status, sent.location.clone()), (303, Some(format!("{location}/deliveries"))), "{}", sent.html);
    let received = receiver.wait_for(1).await;
    assert_eq!(received[0].json()["type"], "webhook.test");
    let deliveries = format!("{location}/deliveries");
    let list = wait_for_text(&mut browser, &deliveries, "data-status=\"succeeded\"").await;
    assert!(list.html.contains("webhook.test"), "{}", list.html);

    let filtered = browser.get(&format!("{deliveries}?status=dead")).await;
    assert_eq!(filtered.status, 200);
    assert!(filtered.html.contains("No deliveries with this status"), "{}", filtered.html);
    let bogus = browser.get(&format!("{deliveries}?status=bogus")).await;
    assert_eq!(bogus.status, 422);
    assert!(bogus.html.contains("id=\"delivery-status-error\""), "{}", bogus.html);

    let delivery = first_delivery_link(&list.html);
    let detail = browser.get(&delivery).await;
    assert_eq!(detail.status, 200, "{}", detail.html);
    assert!(detail.html.contains("Attempt 1"), "{}", detail.html);
    assert!(detail.html.contains("answer from the test receiver"), "the response body: {}", detail.html);
    assert!(detail.html.contains(" ms"), "the duration");

    wait_for_text(&mut browser, "/ui/webhooks", "<time").await; // the last success

    let again = browser.post(&format!("{delivery}/redeliver"), &[("csrf", &csrf)]).await;
    assert_eq!((again.status, again.location.as_deref()), (303, Some(delivery.as_str())), "{}", again.html);
    receiver.wait_for(2).await;
    wait_for_text(&mut browser, &delivery, "Attempt 2").await;

    // Recover: a bad time is shown next to its field; a good one answers with a count.
    let bad = browser.post(&format!("{location}/recover"), &[("since", "yesterday"), ("csrf", &csrf)]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("id=\"recover-since-error\""), "{}", bad.html);
    let since = [("since", "2000-01-01T00:00:00Z"), ("csrf", csrf.as_str())];
    let recovered = browser.post(&format!("{location}/recover"), &since).await;
    assert_eq!(recovered.status, 200, "{}", recovered.html);
    assert!(recovered.html.contains("0 dead deliveries are pending again"), "{}", recovered.html);
}
