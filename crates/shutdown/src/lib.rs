//! `veil-shutdown`: [`requested`], the wait for Ctrl-C (SIGINT) or, on Unix, SIGTERM (what
//! container runtimes send), shared by the relayer, the fallback minter, the indexer and the
//! localnet. It depends on Tokio alone, so the fallback minter still shares no runtime
//! dependency with the relayer.

/// Resolves when Ctrl-C or (on Unix) SIGTERM arrives. A signal that cannot be listened for is
/// logged and never fires: it must not read as a shutdown request.
pub async fn requested() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
