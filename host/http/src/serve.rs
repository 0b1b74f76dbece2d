//! Serving over TCP with graceful shutdown: on the first signal stop accepting and drain
//! in-flight requests until the grace deadline; a second signal, or the deadline, closes
//! what is left. Then every process stops: supervision trees in order, what outlasts the
//! grace killed.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use arsenal_core::host::Host;

/// Serve `host` on `listener` until `shutdown` resolves, then drain for at most `grace`.
pub async fn serve(
    host: Arc<Host>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let grace = Duration::from_millis(host.settings().server.shutdown_grace_ms);
    let addr = listener.local_addr()?;
    // Local mode serves loopback only, and settles (maybe makes) its admin token first.
    host.access().prepare(addr).map_err(|error| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, error.to_string())
    })?;
    let _ = host.listening.set(addr);
    let settings = host.settings().server.clone();
    let processes = host.processes().clone();
    let stop = CancellationToken::new();
    // Event streams never finish on their own: they end as the drain begins.
    let app = super::router::serving(host.clone(), stop.clone());
    // Calls forwarded from other nodes run through this same router while it serves.
    let _forwarded = super::cluster::serve_forwarded(&host, app.clone());
    let background = host.background().clone();
    drop(host);
    let server = super::connections::serve(listener, app, &settings, stop.clone());
    let deadline = async {
        shutdown.await;
        tracing::info!(
            grace_ms = grace.as_millis() as u64,
            "shutting down: draining in-flight requests"
        );
        stop.cancel();
        tokio::select! {
            () = tokio::time::sleep(grace) => tracing::warn!("drain deadline passed; closing remaining connections"),
            () = shutdown_signal() => tracing::warn!("second signal; closing remaining connections"),
        }
    };
    let served = tokio::select! {
        result = server => result,
        () = deadline => Ok(()),
    };
    // Changes whose clients left before their answer are still recorded, within the grace.
    background.close();
    if tokio::time::timeout(grace, background.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            tasks = background.len(),
            "drain deadline passed with audit records still being written"
        );
    }
    // Requests are done; the processes go next, trees in order, within the same grace.
    let killed = processes.shutdown(grace).await;
    tracing::info!(killed, "processes stopped");
    served
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
