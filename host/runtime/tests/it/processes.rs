//! The process table: spawning, messages and calls, registered names, OTP exit signals
//! through links and monitors, suspension, mailbox overflow and hibernation — with real
//! counter workers, waiting on exits rather than on time.

use std::sync::Arc;
use std::time::Duration;

use arsenal_runtime::{
    ExitReason, SendError, SpawnError, SpawnOptions, Status, WorkerCode, WorkerError,
};

use crate::{Runtime, exit_of};

const CALL: Duration = Duration::from_secs(5);

async fn runtime_with(
    configure: impl FnOnce(&mut arsenal_engine::settings::LimitSettings),
) -> (Runtime, Arc<WorkerCode>) {
    crate::counter_runtime(configure).await
}

fn named(name: &str) -> SpawnOptions {
    SpawnOptions {
        name: Some(name.to_owned()),
        ..SpawnOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_and_calls_reach_a_process_by_pid_or_name() {
    let (runtime, code) = runtime_with(|_| {}).await;
    let table = runtime.processes();
    let pid = table.spawn(code, "1", named("counter-a")).await.unwrap();
    assert_eq!(table.whereis("counter-a"), Some(pid.clone()));
    table.send("counter-a", None, "inc").unwrap();
    table.send(&pid.to_string(), None, "add 10").unwrap();
    assert_eq!(
        table.call("counter-a", None, "get", CALL).await.unwrap(),
        "12"
    );
    let info = table.info("counter-a").unwrap();
    assert_eq!(info.pid, pid.to_string());
    assert_eq!(info.name.as_deref(), Some("counter-a"));
    assert_eq!(info.status, Status::Running);
    assert_eq!((info.messages_in, info.messages_out), (3, 1));
    assert_eq!(
        table.send("nobody", None, "inc"),
        Err(SendError::NoProcess("nobody".to_owned()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_unique_and_valid() {
    let (runtime, code) = runtime_with(|_| {}).await;
    let table = runtime.processes();
    table.spawn(code.clone(), "", named("only")).await.unwrap();
    assert_eq!(
        table.spawn(code.clone(), "", named("only")).await,
        Err(SpawnError::NameTaken("only".to_owned()))
    );
    assert_eq!(
        table.spawn(code, "", named("no spaces")).await,
        Err(SpawnError::InvalidName("no spaces".to_owned()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_is_gone_with_its_name() {
    let (runtime, code) = runtime_with(|_| {}).await;
    let table = runtime.processes();
    let pid = table.spawn(code, "", named("doomed")).await.unwrap();
    let exited = exit_of(table, "doomed");
    table.exit("doomed", None, ExitReason::Kill).unwrap();
    assert_eq!(exited.await, ExitReason::Kill);
    assert!(table.whereis("doomed").is_none());
    assert!(matches!(
        table.info(&pid.to_string()),
        Err(SendError::NoProcess(_))
    ));
    assert!(table.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_propagates_along_links_unless_exits_are_trapped() {
    let (runtime, code) = runtime_with(|_| {}).await;
    let table = runtime.processes();
    let a = table.spawn(code.clone(), "", named("a")).await.unwrap();
    let b = table
        .spawn(
            code.clone(),
            "",
            SpawnOptions {
                link: Some(a.clone()),
                ..named("b")
            },
        )
        .await
        .unwrap();
    let trapper = table
        .spawn(
            code,
            "",
            SpawnOptions {
                trap_exit: true,
                ..named("trapper")
            },
        )
        .await
        .unwrap();
    table.link("a", "trapper").unwrap();
    assert_eq!(
        table.info("a").unwrap().links,
        [b.to_string(), trapper.to_string()]
    );

    let b_exit = exit_of(table, "b");
    table.send("a", None, "crash").unwrap();
    assert_eq!(
        b_exit.await,
        ExitReason::Crash("the worker crashed: asked to crash".to_owned())
    );
    // The trapping process got the exit as an event and lives on, with no link left.
    assert_eq!(table.call("trapper", None, "get", CALL).await.unwrap(), "0");
    let info = table.info("trapper").unwrap();
    assert!(info.links.is_empty());
    assert_eq!(info.messages_in, 2, "the exit event and the call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_exit_does_not_take_links_along_but_kill_does_as_killed() {
    let (runtime, code) = runtime_with(|_| {}).await;
    let table = runtime.processes();
    let a = table.spawn(code.clone(), "", named("a")).await.unwrap();
    table
        .spawn(
            code.clone(),
            "",
            SpawnOptions {
                link: Some(a),
                ..named("b")
            },
        )
        .await
        .unwrap();
    let a_exit = exit_of(table, "a");
    table.exit("a", None, ExitReason::Normal).unwrap();
    assert_eq!(a_exit.await, ExitReason::Normal);
    assert_eq!(
        table.call("b", None, "get", CALL).await.unwrap(),
        "0",
        "b survives a normal exit"
    );

    let c = table
        .spawn(
            code,
            "",
            SpawnOptions {
                link: Some(table.whereis("b").unwrap()),
                ..named("c")
            },
        )
        .await
        .unwrap();
    let c_exit = exit_of(table, &c.to_string());
    table.exit("b", None, ExitReason::Kill).unwrap();
    assert_eq!(c_exit.await, ExitReason::Crash("killed".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_gets_a_down_message() {
    let (runtime, code) = runtime_with(|_| {}).await;
    let table = runtime.processes();
    table
        .spawn(code.clone(), "", named("watched"))
        .await
        .unwrap();
    table.spawn(code, "", named("watcher")).await.unwrap();
    table.monitor("watcher", "watched").unwrap();
    assert_eq!(table.info("watched").unwrap().monitored_by.len(), 1);
    let exited = exit_of(table, "watched");
    table.exit("watched", None, ExitReason::Shutdown).unwrap();
    assert_eq!(exited.await, ExitReason::Shutdown);
    assert_eq!(
        table.info("watcher").unwrap().messages_in,
        1,
        "the down message"
    );
    assert_eq!(
        table.call("watcher", None, "get", CALL).await.unwrap(),
        "0",
        "monitors do not kill"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_mailbox_refuses_the_sender_and_loses_nothing() {
    let (runtime, code) = runtime_with(|limits| limits.mailbox_capacity = 4).await;
    let table = runtime.processes();
    let pid = table.spawn(code, "", named("small")).await.unwrap();
    table.suspend("small").unwrap();
    for _ in 0..4 {
        table.send("small", None, "inc").unwrap();
    }
    assert_eq!(
        table.send("small", None, "inc"),
        Err(SendError::MailboxFull(pid, 4))
    );
    let info = table.info("small").unwrap();
    assert_eq!((info.status, info.mailbox_len), (Status::Suspended, 4));
    // A suspended process handles nothing, so a call times out...
    assert!(matches!(
        table
            .call("small", None, "get", Duration::from_millis(1))
            .await,
        Err(SendError::MailboxFull(..))
    ));
    table.resume("small").unwrap();
    // Once resumed, the queue drains (bounded wait on the state, no sleeping)...
    tokio::time::timeout(CALL, async {
        while table.info("small").unwrap().mailbox_len > 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the mailbox drains");
    // ...and every queued message was handled.
    assert_eq!(table.call("small", None, "get", CALL).await.unwrap(), "4");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_to_a_suspended_process_times_out() {
    let (runtime, code) = runtime_with(|_| {}).await;
    let table = runtime.processes();
    table.spawn(code, "", named("sleepy")).await.unwrap();
    table.suspend("sleepy").unwrap();
    let result = table
        .call("sleepy", None, "get", Duration::from_millis(50))
        .await;
    assert!(
        matches!(result, Err(SendError::Timeout(_, _))),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_learns_that_the_process_crashed() {
    let (runtime, code) = runtime_with(|_| {}).await;
    let table = runtime.processes();
    let pid = table.spawn(code, "", named("fragile")).await.unwrap();
    let result = table.call("fragile", None, "crash", CALL).await;
    assert_eq!(
        result,
        Err(SendError::Exited(
            pid,
            ExitReason::Crash("the worker crashed: asked to crash".to_owned())
        ))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hibernated_process_wakes_on_its_next_message_with_its_state() {
    let (runtime, code) = runtime_with(|_| {}).await;
    let table = runtime.processes();
    table.spawn(code, "40", named("bear")).await.unwrap();
    table.send("bear", None, "inc").unwrap();
    assert_eq!(table.call("bear", None, "get", CALL).await.unwrap(), "41");
    table.hibernate("bear").await.unwrap().unwrap();
    assert_eq!(table.info("bear").unwrap().status, Status::Hibernated);
    table.send("bear", None, "inc").unwrap();
    assert_eq!(table.call("bear", None, "get", CALL).await.unwrap(), "42");
    assert_eq!(table.info("bear").unwrap().status, Status::Running);
}

/// A full worker pool makes room for a spawn or a wake by hibernating the least recently
/// active idle stateful worker; the hibernated one wakes with its state on its next
/// message, and another gives up its slot for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pool_hibernates_the_least_recently_active_idle_worker() {
    let (runtime, code) = runtime_with(|limits| limits.worker_slots = 2).await;
    let table = runtime.processes();
    table
        .spawn(code.clone(), "1", named("first"))
        .await
        .unwrap();
    table
        .spawn(code.clone(), "2", named("second"))
        .await
        .unwrap();
    // `first` is now the more recently active of the two.
    assert_eq!(table.call("first", None, "get", CALL).await.unwrap(), "1");
    table
        .spawn(code.clone(), "3", named("third"))
        .await
        .unwrap();
    assert_eq!(table.info("second").unwrap().status, Status::Hibernated);
    assert_eq!(table.info("first").unwrap().status, Status::Running);
    assert_eq!(runtime.workers().hibernated_to_make_room(), 1);

    // Waking `second` takes the slot of `first`, idle the longest now.
    table.send("second", None, "inc").unwrap();
    assert_eq!(table.call("second", None, "get", CALL).await.unwrap(), "3");
    assert_eq!(table.info("first").unwrap().status, Status::Hibernated);
    assert_eq!(table.info("third").unwrap().status, Status::Running);
    assert_eq!(table.call("first", None, "get", CALL).await.unwrap(), "1");
    assert_eq!(runtime.workers().hibernated_to_make_room(), 3);
    assert_eq!(table.len(), 3);
}

/// Spawns racing for a full pool each make room without claiming the same worker twice:
/// all start, exactly one worker hibernates per spawn beyond the pool, and every counter
/// keeps its count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_spawns_in_a_full_pool_each_make_room_once() {
    let (runtime, code) = runtime_with(|limits| limits.worker_slots = 8).await;
    let table = runtime.processes();
    let spawns = (0..40).map(|n| {
        let (table, code) = (table.clone(), code.clone());
        tokio::spawn(async move {
            table
                .spawn(code, &n.to_string(), named(&format!("c{n}")))
                .await
        })
    });
    for spawn in spawns.collect::<Vec<_>>() {
        crate::within("a spawn", spawn).await.unwrap().unwrap();
    }
    assert_eq!(table.len(), 40);
    assert_eq!(runtime.workers().hibernated_to_make_room(), 32);
    let hibernated = table
        .entries()
        .iter()
        .filter(|entry| entry.status() == Status::Hibernated)
        .count();
    assert_eq!(hibernated, 32);
    for n in 0..40 {
        let name = format!("c{n}");
        assert_eq!(
            table.call(&name, None, "get", CALL).await.unwrap(),
            n.to_string()
        );
    }
}

/// Workers without `state` cannot hibernate: a pool full of them refuses a spawn, and a
/// call that cannot wake its process for want of a slot hears why the process ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_held_by_stateless_workers_refuses_spawns_and_wakes() {
    let (runtime, code) = runtime_with(|limits| limits.worker_slots = 2).await;
    let echo = runtime
        .workers()
        .prepare(
            "echo",
            &arsenal_tests::read(crate::guests::ECHO_WORKER),
            arsenal_engine::policy::Source::Builtin,
            "builtin:echo",
        )
        .await
        .unwrap();
    let table = runtime.processes();
    let sleeper = table
        .spawn(code.clone(), "7", named("sleeper"))
        .await
        .unwrap();
    table.hibernate("sleeper").await.unwrap().unwrap();
    table.spawn(echo.clone(), "", named("e1")).await.unwrap();
    table.spawn(echo.clone(), "", named("e2")).await.unwrap();
    assert_eq!(
        table.spawn(echo, "", SpawnOptions::default()).await,
        Err(SpawnError::Worker(WorkerError::NoSlot))
    );
    assert_eq!(
        table.spawn(code, "", SpawnOptions::default()).await,
        Err(SpawnError::Worker(WorkerError::NoSlot))
    );
    assert_eq!(
        table.call("sleeper", None, "get", CALL).await,
        Err(SendError::Exited(
            sleeper,
            ExitReason::Crash(WorkerError::NoSlot.to_string())
        ))
    );
    assert_eq!(runtime.workers().hibernated_to_make_room(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_process_hibernates_by_itself() {
    let (runtime, code) = runtime_with(|limits| limits.idle_hibernate_ms = 20).await;
    let table = runtime.processes();
    table.spawn(code, "7", named("idle")).await.unwrap();
    // Wait for the state change, bounded; nothing here sleeps to synchronise.
    tokio::time::timeout(Duration::from_secs(5), async {
        while table.info("idle").unwrap().status != Status::Hibernated {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the idle process hibernates");
    assert_eq!(table.call("idle", None, "get", CALL).await.unwrap(), "7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_send_and_call_each_other_through_the_process_import() {
    let (runtime, code) = runtime_with(|_| {}).await;
    let table = runtime.processes();
    let a = table.spawn(code.clone(), "5", named("a")).await.unwrap();
    table.spawn(code, "", named("b")).await.unwrap();
    assert_eq!(
        table.call("a", None, "self", CALL).await.unwrap(),
        a.to_string()
    );
    assert_eq!(
        table.call("b", None, "whereis a", CALL).await.unwrap(),
        a.to_string()
    );
    table.call("b", None, "tell a inc", CALL).await.unwrap();
    // b's message reached a before b answered, so a's next call sees it.
    assert_eq!(table.call("a", None, "get", CALL).await.unwrap(), "6");
    assert_eq!(table.call("b", None, "ask a get", CALL).await.unwrap(), "6");
    let b = table.info("b").unwrap();
    assert_eq!(b.messages_out, 5, "four replies and one call of b's own");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_links_and_monitors_through_the_process_import() {
    let (runtime, code) = runtime_with(|_| {}).await;
    let table = runtime.processes();
    table.spawn(code.clone(), "", named("a")).await.unwrap();
    table
        .spawn(code.clone(), "", named("linked"))
        .await
        .unwrap();
    table.spawn(code, "", named("watcher")).await.unwrap();
    table.call("linked", None, "link a", CALL).await.unwrap();
    table
        .call("watcher", None, "monitor a", CALL)
        .await
        .unwrap();
    let linked_exit = exit_of(table, "linked");
    table.send("a", None, "crash").unwrap();
    assert!(
        matches!(linked_exit.await, ExitReason::Crash(reason) if reason.contains("asked to crash"))
    );
    assert_eq!(table.call("watcher", None, "get", CALL).await.unwrap(), "0");
    assert_eq!(
        table.info("watcher").unwrap().messages_in,
        3,
        "monitor, down, get"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_delivers_an_event_to_its_process() {
    let (runtime, code) = runtime_with(|_| {}).await;
    let table = runtime.processes();
    table.spawn(code, "", named("timed")).await.unwrap();
    table.call("timed", None, "timer 5", CALL).await.unwrap();
    tokio::time::timeout(CALL, async {
        while table.call("timed", None, "get", CALL).await.unwrap() != "1" {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the timer fires");
}
