//! OTP supervisors over real counter workers: the notice of a restart, restart types
//! against normal and abnormal exits, each strategy, intensity with escalation, a child
//! that ignores shutdown, a child that fails on start, dynamic children and a storm of
//! crashes.

use std::sync::Arc;
use std::time::Duration;

use arsenal_runtime::{
    ChildInfo, ChildSpec, ExitReason, Flags, Restart, Shutdown, SpawnError, Strategy,
    SupervisorError, SupervisorSpec, WorkerCode, WorkerError,
};

use crate::{Runtime, crash, exit_of, settle};

const WAIT: Duration = Duration::from_secs(10);

async fn setup() -> (Runtime, Arc<WorkerCode>) {
    crate::counter_runtime(|_| {}).await
}

fn spec(strategy: Strategy, intensity: u32, children: Vec<ChildSpec>) -> SupervisorSpec {
    SupervisorSpec {
        name: None,
        flags: Flags {
            strategy,
            intensity,
            period: Duration::from_secs(5),
        },
        children,
        sandbox: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_for_one_restarts_only_the_crashed_child() {
    let (runtime, code) = setup().await;
    let table = runtime.processes();
    let supervisor = table
        .start_supervisor(spec(
            Strategy::OneForOne,
            5,
            vec![
                ChildSpec::worker("a", code.clone(), "1"),
                ChildSpec::worker("b", code, "2"),
            ],
        ))
        .await
        .unwrap();
    let before = supervisor.which_children().await.unwrap();
    let after = crash(table, &supervisor, "a").await;
    assert_ne!(after[0].pid, before[0].pid, "a has a new pid");
    assert_eq!(after[1].pid, before[1].pid, "b is untouched");
    assert_eq!(after[0].restarts, 1);
    assert!(
        table.info(before[0].pid.as_deref().unwrap()).is_err(),
        "the old a is dead"
    );
    // The restarted child started afresh from its spec.
    assert_eq!(
        table
            .call(after[0].pid.as_deref().unwrap(), None, "get", WAIT)
            .await
            .unwrap(),
        "1"
    );
    let history = supervisor.history().await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].child.as_str(), history[0].old_pid.as_str()),
        ("a", before[0].pid.as_deref().unwrap())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_resolves_once_the_replacement_runs() {
    let (runtime, code) = setup().await;
    let table = runtime.processes();
    let supervisor = table
        .start_supervisor(spec(
            Strategy::OneForOne,
            5,
            vec![ChildSpec::worker("a", code, "7")],
        ))
        .await
        .unwrap();
    assert_eq!(supervisor.restarts_total(), 0);
    let old = supervisor.which_children().await.unwrap()[0]
        .pid
        .clone()
        .unwrap();
    table.send(&old, None, "crash").unwrap();
    tokio::time::timeout(WAIT, supervisor.restarted(1))
        .await
        .expect("the supervisor restarts the child")
        .unwrap();
    assert_eq!(supervisor.restarts_total(), 1);
    // Once counted, the replacement is listed and takes messages.
    let new = supervisor.which_children().await.unwrap()[0]
        .pid
        .clone()
        .unwrap();
    assert_ne!(new, old);
    assert_eq!(table.call(&new, None, "get", WAIT).await.unwrap(), "7");
    let history = supervisor.history().await.unwrap();
    assert_eq!(
        (history[0].old_pid.as_str(), history[0].new_pid.as_deref()),
        (old.as_str(), Some(new.as_str()))
    );
    // A wait for a restart the supervisor will never make ends when it exits.
    let pid = supervisor.pid().to_string();
    let waiting = supervisor.restarted(2);
    table.exit(&pid, None, ExitReason::Shutdown).unwrap();
    assert_eq!(
        tokio::time::timeout(WAIT, waiting)
            .await
            .expect("the wait ends"),
        Err(SupervisorError::NoSupervisor(pid))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_types_follow_otp() {
    let (runtime, code) = setup().await;
    let table = runtime.processes();
    let child = |id: &str, restart| ChildSpec {
        restart,
        ..ChildSpec::worker(id, code.clone(), "")
    };
    let supervisor = table
        .start_supervisor(spec(
            Strategy::OneForOne,
            10,
            vec![
                child("permanent", Restart::Permanent),
                child("transient", Restart::Transient),
                child("temporary", Restart::Temporary),
            ],
        ))
        .await
        .unwrap();
    let children = supervisor.which_children().await.unwrap();
    let pid_of = |children: &[ChildInfo], id: &str| {
        children
            .iter()
            .find(|c| c.id == id)
            .and_then(|c| c.pid.clone())
    };

    // A normal exit: permanent restarts, transient does not.
    for id in ["permanent", "transient"] {
        let before = supervisor.which_children().await.unwrap();
        let pid = pid_of(&before, id).unwrap();
        table.exit(&pid, None, ExitReason::Normal).unwrap();
        settle(&supervisor, &before).await;
    }
    let now = supervisor.which_children().await.unwrap();
    assert!(
        pid_of(&now, "permanent")
            .is_some_and(|pid| Some(&pid) != pid_of(&children, "permanent").as_ref())
    );
    assert_eq!(
        pid_of(&now, "transient"),
        None,
        "a transient child that exited normally stays down"
    );

    // A crash: temporary is removed, transient (restarted by hand first) restarts.
    supervisor.restart_child("transient").await.unwrap();
    let now = crash(table, &supervisor, "temporary").await;
    assert!(
        now.iter().all(|c| c.id != "temporary"),
        "a temporary child is forgotten"
    );
    let now = crash(table, &supervisor, "transient").await;
    assert!(pid_of(&now, "transient").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_for_all_and_rest_for_one_restart_their_share() {
    let (runtime, code) = setup().await;
    let table = runtime.processes();
    let three = || {
        vec![
            ChildSpec::worker("a", code.clone(), ""),
            ChildSpec::worker("b", code.clone(), ""),
            ChildSpec::worker("c", code.clone(), ""),
        ]
    };
    let all = table
        .start_supervisor(spec(Strategy::OneForAll, 5, three()))
        .await
        .unwrap();
    let before = all.which_children().await.unwrap();
    let after = crash(table, &all, "b").await;
    let after = if after.iter().any(|c| c.pid.is_none()) {
        settle(&all, &after).await
    } else {
        after
    };
    for (old, new) in before.iter().zip(&after) {
        assert_ne!(old.pid, new.pid, "one_for_all restarts {}", old.id);
    }

    let rest = table
        .start_supervisor(spec(Strategy::RestForOne, 5, three()))
        .await
        .unwrap();
    let before = rest.which_children().await.unwrap();
    let after = crash(table, &rest, "b").await;
    assert_eq!(after[0].pid, before[0].pid, "a started before b and stays");
    assert_ne!(after[1].pid, before[1].pid);
    assert_ne!(
        after[2].pid, before[2].pid,
        "c started after b and restarts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_its_intensity_a_supervisor_stops_its_children_and_exits() {
    let (runtime, code) = setup().await;
    let table = runtime.processes();
    let supervisor = table
        .start_supervisor(spec(
            Strategy::OneForOne,
            1,
            vec![
                ChildSpec::worker("a", code.clone(), ""),
                ChildSpec::worker("b", code, ""),
            ],
        ))
        .await
        .unwrap();
    let gone = exit_of(table, &supervisor.pid().to_string());
    crash(table, &supervisor, "a").await;
    crash(table, &supervisor, "a").await;
    assert_eq!(
        gone.await,
        ExitReason::Crash("reached_max_restart_intensity".to_owned())
    );
    assert!(
        table.is_empty(),
        "every child was stopped: {:?}",
        table.list()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_that_gives_up_is_restarted_by_its_parent() {
    let (runtime, code) = setup().await;
    let table = runtime.processes();
    let inner = spec(
        Strategy::OneForOne,
        0,
        vec![ChildSpec::worker("w", code, "")],
    );
    let outer = table
        .start_supervisor(spec(
            Strategy::OneForOne,
            5,
            vec![ChildSpec::supervisor("inner", inner)],
        ))
        .await
        .unwrap();
    let before = outer.which_children().await.unwrap();
    let inner_handle = table.supervisor(before[0].pid.as_deref().unwrap()).unwrap();
    let inner_gone = exit_of(table, &inner_handle.pid().to_string());
    crash(table, &inner_handle, "w").await;
    assert_eq!(
        inner_gone.await,
        ExitReason::Crash("reached_max_restart_intensity".to_owned())
    );
    let after = settle(&outer, &before).await;
    assert_ne!(
        after[0].pid, before[0].pid,
        "the parent restarted the inner supervisor"
    );
    let restarted = table.supervisor(after[0].pid.as_deref().unwrap()).unwrap();
    assert!(
        restarted.which_children().await.unwrap()[0].pid.is_some(),
        "with a fresh worker"
    );
    assert_eq!(outer.history().await.unwrap()[0].child, "inner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_that_ignores_shutdown_is_killed_after_its_timeout() {
    let (runtime, code) = setup().await;
    let table = runtime.processes();
    let stubborn = ChildSpec {
        shutdown: Shutdown::Timeout(Duration::from_millis(50)),
        ..ChildSpec::worker("stubborn", code, "")
    };
    let supervisor = table
        .start_supervisor(spec(Strategy::OneForOne, 5, vec![stubborn]))
        .await
        .unwrap();
    let pid = supervisor.which_children().await.unwrap()[0]
        .pid
        .clone()
        .unwrap();
    // Trapping exits, the worker receives `shutdown` as an event and carries on.
    table.call(&pid, None, "trap on", WAIT).await.unwrap();
    let exited = exit_of(table, &pid);
    supervisor.terminate_child("stubborn").await.unwrap();
    assert_eq!(exited.await, ExitReason::Kill);
    assert_eq!(supervisor.which_children().await.unwrap()[0].pid, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_that_fails_to_start_fails_the_supervisor_and_stops_the_others() {
    let (runtime, code) = setup().await;
    let table = runtime.processes();
    let result = table
        .start_supervisor(spec(
            Strategy::OneForOne,
            5,
            vec![
                ChildSpec::worker("fine", code.clone(), "1"),
                ChildSpec::worker("broken", code, "not a number"),
            ],
        ))
        .await;
    assert!(
        matches!(&result, Err(SpawnError::Worker(WorkerError::Crashed(reason))) if reason.contains("bad start value")),
        "{:?}",
        result.as_ref().err()
    );
    assert!(
        table.is_empty(),
        "the started child was stopped: {:?}",
        table.list()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_can_be_added_restarted_and_deleted_and_flags_changed() {
    let (runtime, code) = setup().await;
    let table = runtime.processes();
    let supervisor = table
        .start_supervisor(spec(Strategy::OneForOne, 1, vec![]))
        .await
        .unwrap();
    let pid = supervisor
        .add_child(ChildSpec::worker("dynamic", code.clone(), "3"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        supervisor
            .add_child(ChildSpec::worker("dynamic", code, ""))
            .await
            .is_err(),
        "ids are unique"
    );
    let restarted = supervisor.restart_child("dynamic").await.unwrap().unwrap();
    assert_ne!(restarted, pid);
    assert!(table.info(&pid.to_string()).is_err());
    assert!(
        supervisor.delete_child("dynamic").await.is_err(),
        "a running child is not deleted"
    );
    supervisor.terminate_child("dynamic").await.unwrap();
    supervisor.delete_child("dynamic").await.unwrap();
    assert!(supervisor.which_children().await.unwrap().is_empty());
    let flags = Flags {
        strategy: Strategy::RestForOne,
        intensity: 7,
        period: Duration::from_secs(30),
    };
    supervisor.set_flags(flags).await.unwrap();
    assert_eq!(supervisor.flags().await.unwrap(), flags);
}
