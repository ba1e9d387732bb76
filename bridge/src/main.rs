//! `cargo run -p bridge`: starts Socket Lab. All the work is in the library (`lib.rs`); this file
//! only reads the command line, sets up logging and reports a start-up failure in one line.

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let config = bridge::Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "bridge=info".into()),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal: journald, `kubectl logs` and a file get text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let stop = match bridge::ctrl_c() {
        Ok(stop) => stop,
        Err(e) => {
            eprintln!("error: cannot listen for Ctrl-C: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(dir) = config.export_site.clone() {
        return match bridge::export_site(&config, &dir).await {
            Ok(files) => {
                println!(
                    "Socket Lab: wrote the example tutorial to {}:",
                    dir.display()
                );
                for file in files {
                    println!("  {file}");
                }
                println!(
                    "Serve it with any static file server, e.g. `python3 -m http.server -d {}`.",
                    dir.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: --export-site: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match bridge::Lab::start(config).await {
        Ok(lab) => {
            lab.print_banner();
            lab.run_until(stop).await;
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
