//! `yiping`: the command-centre aggregator and wall server.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// yiping (一屏): the one-screen command centre for Hubei's digital government.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the wall app, the websocket `/ws`, `/healthz`, `/geo/*` and `/api/v1/topics`.
    ///
    /// With the defaults it runs stand-alone, with no other server: it keeps its files under
    /// --data and runs a built-in simulator of Hubei data (labelled as simulated on the wall).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Folder for the server's files (created if missing).
        #[arg(long = "data", default_value = "./data")]
        data_dir: PathBuf,
        /// Do not run the built-in simulator.
        #[arg(long)]
        no_simulator: bool,
        /// Seed of the simulator: the same seed gives the same sequence of values.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let Command::Serve { addr, data_dir, no_simulator, seed } = Cli::parse().command;
    let config = yiping_server::Config { addr, data_dir, simulator: !no_simulator, seed };
    match yiping_server::serve(config, None, shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("yiping: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
