//! Every runtime host call checks the caller's roles: an operation called for a principal
//! whose roles do not grant a capability it uses is stopped at that host call (403
//! `capability_denied`), and nothing changes.

use arsenal::{CallError, Caller, GuestFailure};
use serde_json::{Map, Value, json};

use crate::host_with_counters;

fn caller(roles: &[&str]) -> Caller {
    Caller {
        principal: "tester".to_owned(),
        roles: roles.iter().map(|role| (*role).to_owned()).collect(),
        request_id: "permissions-test".to_owned(),
        onward: Default::default(),
    }
}

fn params(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_calls_are_checked_against_the_callers_roles() {
    let host = host_with_counters(&["victim"]).await;
    let registry = host.host().registry();
    let catalog = registry.snapshot();
    let kill = catalog.get("kill_process").unwrap();
    let list = catalog.get("list_processes").unwrap();
    let kill_params = params(json!({ "pid": "victim", "reason": "kill" }));
    let list_params = params(json!({ "sort": "pid", "limit": 100, "offset": 0 }));

    // A viewer reads but may not control.
    let listed = registry
        .call(list, &list_params, &caller(&["viewer"]))
        .await
        .unwrap();
    assert_eq!(listed.to_value()["total"], 1);
    let denied = registry
        .call(kill, &kill_params, &caller(&["viewer"]))
        .await
        .unwrap_err();
    match &denied {
        CallError::Guest(GuestFailure::Denied(denied)) => {
            assert_eq!(denied.capability, arsenal::Capability::ProcessControl);
            assert_eq!(denied.principal, "tester");
        }
        other => panic!("expected a denial, got {other:?}"),
    }
    let api = arsenal::http::ApiError::from(denied);
    assert_eq!(
        (api.status().as_u16(), api.code()),
        (403, "capability_denied")
    );
    assert!(
        host.host().processes().whereis("victim").is_some(),
        "nothing was killed"
    );

    // No role grants nothing, not even reading.
    let nobody = registry
        .call(list, &list_params, &caller(&[]))
        .await
        .unwrap_err();
    assert!(
        matches!(nobody, CallError::Guest(GuestFailure::Denied(_))),
        "{nobody:?}"
    );

    // An operator may control processes but not sandboxes.
    registry
        .call(kill, &kill_params, &caller(&["operator"]))
        .await
        .unwrap();
    let sandboxes = catalog.get("list_sandboxes").unwrap();
    let refused = registry
        .call(sandboxes, &Map::new(), &caller(&["operator"]))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, CallError::Guest(GuestFailure::Denied(d)) if d.capability == arsenal::Capability::Sandboxes),
        "{refused:?}"
    );
}
