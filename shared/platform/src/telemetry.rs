//! Tracing setup: JSON lines by default (what CloudWatch and Lambda's log tooling read),
//! human-readable when `TESSERA_LOG_FORMAT=pretty` (the local gateway).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls are harmless.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let pretty = std::env::var("TESSERA_LOG_FORMAT")
        .map(|format| format.eq_ignore_ascii_case("pretty"))
        .unwrap_or(false);
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _already_installed = if pretty {
        builder.try_init()
    } else {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .with_ansi(false)
            .try_init()
    };
}
