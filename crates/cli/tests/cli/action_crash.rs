//! `kill -9` while action sets are running, then a restart on the same database: every
//! acknowledged signal gets its run (written in the signal's own transaction), every run
//! finishes, and every action happens exactly once (each action's flag change and the run's
//! progress commit together) — counted by the actor's `flag.updated` events.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::support::{Api, OWNER_EMAIL, OWNER_PASSWORD, Sandbox, ScratchDatabase};

const SIGNALS: usize = 120;
const SENDERS: usize = 6;
const FLAGS: [&str; 4] = ["a", "b", "c", "d"];

#[tokio::test]
async fn kill_9_with_action_runs_in_progress_on_sqlite_runs_every_action_exactly_once_after_restart() {
    let sandbox = Sandbox::new();
    crash_with_runs_in_progress(&sandbox, &[]).await;
}

/// Runs only with `SIGNALBOX_TEST_POSTGRES=postgres://…` set, in a database of its own.
#[tokio::test]
async fn kill_9_with_action_runs_in_progress_on_postgres_runs_every_action_exactly_once_after_restart() {
    let Ok(admin_url) = std::env::var("SIGNALBOX_TEST_POSTGRES") else {
        return;
    };
    let database = ScratchDatabase::create(&admin_url, "actions").await;
    let sandbox = Sandbox::new();
    let key = "6e".repeat(32);
    crash_with_runs_in_progress(&sandbox, &["--database-url", &database.url, "--secret-key", &key]).await;
}

/// Every item of a cursor-paged list.
async fn all_pages(api: &Api, session: &str, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let page_path = match &cursor {
            Some(before) => format!("{path}{separator}limit=100&before={before}"),
            None => format!("{path}{separator}limit=100"),
        };
        let page = api.get(&page_path, Some(session)).await;
        assert_eq!(page.status, 200, "{}", page.text);
        items.extend(page.body["data"].as_array().expect("a page").iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

async fn crash_with_runs_in_progress(sandbox: &Sandbox, backend: &[&str]) {
    let mut args = vec!["--signal-rate-limit", "0", "--action-runs-per-minute", "0"];
    args.extend_from_slice(backend);
    let mut server = sandbox.serve(&args).await;
    let api = Arc::new(server.api());
    let session = api.session(OWNER_EMAIL, OWNER_PASSWORD).await;
    let endpoint = api.post_json("/v1/signal-endpoints", Some(&session), &json!({ "name": "crash" })).await;
    let endpoint_id = endpoint.body["id"].as_str().expect("an endpoint id").to_owned();
    let token = api
        .post_json(&format!("/v1/signal-endpoints/{endpoint_id}/tokens"), Some(&session), &json!({ "name": "t" }))
        .await;
    let token = token.body["token"].as_str().expect("a token").to_owned();
    let actor =
        api.post_json("/v1/service-accounts", Some(&session), &json!({ "name": "bot", "role": "editor" })).await;
    let actor_id = actor.body["id"].as_str().expect("an actor id").to_owned();
    let mut actions = Vec::new();
    for key in FLAGS {
        let created = api.post_json("/v1/projects/default/flags", Some(&session), &json!({ "key": key })).await;
        assert_eq!(created.status, 201, "{}", created.text);
        actions.push(json!({ "action": "TOGGLE_FEATURE_ON",
                             "execution_params": { "feature_name": key, "environment": "development" } }));
    }
    let set = json!({ "name": "crash", "actor_id": actor_id, "actions": actions,
                      "match": { "source": "signal-endpoint", "source_id": endpoint_id, "payload": {} } });
    let set = api.post_json("/v1/projects/default/action-sets", Some(&session), &set).await;
    assert_eq!(set.status, 201, "{}", set.text);
    let set_id = set.body["id"].as_str().expect("a set id").to_owned();
    let runs_path = format!("/v1/projects/default/action-sets/{set_id}/runs");

    send_signals(&api, &token).await;
    let finished_before_kill =
        all_pages(&api, &session, &runs_path).await.iter().filter(|r| r["state"] == "success").count();
    server.kill();
    assert!(
        finished_before_kill < SIGNALS,
        "every run finished before the kill ({finished_before_kill}); the test proves nothing"
    );

    let server = sandbox.serve(&args).await;
    let api = server.api();
    let session = api.session(OWNER_EMAIL, OWNER_PASSWORD).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let runs = all_pages(&api, &session, &runs_path).await;
        let done = runs.iter().filter(|r| r["state"] == "success").count();
        if runs.len() == SIGNALS && done == SIGNALS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{done} of {SIGNALS} runs finished ({} runs in all) after the restart; stderr:\n{}",
            runs.len(),
            server.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let changes = all_pages(&api, &session, &format!("/v1/events?type=flag.updated&actor={actor_id}")).await;
    assert_eq!(changes.len(), SIGNALS * FLAGS.len(), "every action exactly once");
    let succeeded = all_pages(&api, &session, "/v1/events?type=action.succeeded").await;
    assert_eq!(succeeded.len(), SIGNALS * FLAGS.len(), "one action.succeeded per action");
    eprintln!("{finished_before_kill} of {SIGNALS} runs had finished before the kill");
}

/// Sends the signals from several tasks; each must be acknowledged with 202.
async fn send_signals(api: &Arc<Api>, token: &str) {
    let mut senders = JoinSet::new();
    for sender in 0..SENDERS {
        let (api, token) = (Arc::clone(api), token.to_owned());
        senders.spawn(async move {
            for n in (sender..SIGNALS).step_by(SENDERS) {
                let reply = api.post_json("/api/signal-endpoint/crash", Some(&token), &json!({ "n": n })).await;
                assert_eq!(reply.status, 202, "{}", reply.text);
            }
        });
    }
    while let Some(sent) = senders.join_next().await {
        sent.expect("a sender");
    }
}
