//! Tracing setup: JSON lines by default (what CloudWatch and Lambda's log tooling read),
//! human-readable when `TESSERA_LOG_FORMAT=pretty` (the local gateway).

use tracing_subscriber::filter::{Directive, LevelFilter};
use tracing_subscriber::EnvFilter;

/// Targets that log whole payloads above a level, and the level they are held at whatever
/// `RUST_LOG` (the template's `LogLevel`) asks for. The Lambda runtime logs each raw event
/// at TRACE and `lambda_http` its requests at DEBUG: events carry bearer tokens and
/// passwords. The SDK's HTTP stack logs bodies at TRACE: DynamoDB items carry password
/// hashes and personal data.
const PAYLOAD_LOGGING_TARGETS: &[(&str, LevelFilter)] = &[
    ("lambda_runtime", LevelFilter::INFO),
    ("lambda_runtime_api_client", LevelFilter::INFO),
    ("lambda_http", LevelFilter::INFO),
    ("aws_smithy_runtime", LevelFilter::DEBUG),
    ("aws_smithy_runtime_api", LevelFilter::DEBUG),
    ("aws_smithy_http", LevelFilter::DEBUG),
    ("aws_smithy_http_client", LevelFilter::DEBUG),
    ("hyper", LevelFilter::DEBUG),
    ("hyper_util", LevelFilter::DEBUG),
    ("h2", LevelFilter::DEBUG),
];

/// `RUST_LOG` (or `default` when unset), with the payload-logging targets capped.
pub fn safe_filter(default: &str) -> EnvFilter {
    capped(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default)))
}

/// A cap is added only where the filter would let more than it through somewhere: added
/// to `info` or `off`, a DEBUG cap would *raise* its target (noise, and cost).
fn capped(mut filter: EnvFilter) -> EnvFilter {
    let most_verbose = filter.max_level_hint().unwrap_or(LevelFilter::TRACE);
    for (target, cap) in PAYLOAD_LOGGING_TARGETS {
        if most_verbose <= *cap {
            continue;
        }
        if let Ok(directive) = format!("{target}={cap}").parse::<Directive>() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Installs the global subscriber once; later calls are harmless.
pub fn init() {
    let pretty = std::env::var("TESSERA_LOG_FORMAT")
        .map(|format| format.eq_ignore_ascii_case("pretty"))
        .unwrap_or(false);
    let builder = tracing_subscriber::fmt().with_env_filter(safe_filter("info"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_lower_trace_and_never_raise_quieter_filters() {
        for (asked, expected) in [
            ("off", LevelFilter::OFF),
            ("info", LevelFilter::INFO),
            ("warn,fn_redeem=info", LevelFilter::INFO),
            ("trace", LevelFilter::TRACE),
        ] {
            let filter = capped(EnvFilter::new(asked));
            assert_eq!(filter.max_level_hint(), Some(expected), "{asked}");
        }
        // Under trace, the payload-logging targets are held at their caps.
        let filter = capped(EnvFilter::new("trace")).to_string();
        assert!(filter.contains("aws_smithy_runtime=debug"), "{filter}");
        assert!(filter.contains("lambda_runtime=info"), "{filter}");
        // Under debug, the Lambda runtime is held at info; the SDK needs no cap.
        let filter = capped(EnvFilter::new("debug")).to_string();
        assert!(filter.contains("lambda_http=info"), "{filter}");
        assert!(!filter.contains("aws_smithy_runtime"), "{filter}");
    }
}
