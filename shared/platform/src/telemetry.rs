//! Tracing setup: JSON lines by default (what CloudWatch and Lambda's log tooling read),
//! human-readable when `TESSERA_LOG_FORMAT=pretty` (the local gateway).

use tracing_subscriber::filter::Directive;
use tracing_subscriber::EnvFilter;

/// Targets that log whole HTTP bodies at TRACE: DynamoDB items carry password hashes and
/// personal data, so these are capped at DEBUG whatever `RUST_LOG` asks for.
const BODY_LOGGING_TARGETS: &[&str] = &[
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "hyper",
    "h2",
];

/// `RUST_LOG` (or `default` when unset), with the body-logging targets capped. The caps
/// are added only when the filter lets TRACE through somewhere: added to `info` or `off`
/// they would *raise* those targets to DEBUG (noise, and cost, in every function).
pub fn safe_filter(default: &str) -> EnvFilter {
    capped(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default)))
}

fn capped(mut filter: EnvFilter) -> EnvFilter {
    let allows_trace = filter
        .max_level_hint()
        .is_none_or(|level| level >= tracing_subscriber::filter::LevelFilter::TRACE);
    if !allows_trace {
        return filter;
    }
    for target in BODY_LOGGING_TARGETS {
        if let Ok(directive) = format!("{target}=debug").parse::<Directive>() {
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
    use tracing_subscriber::filter::LevelFilter;

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
        // Under trace, the body-logging targets are held at debug.
        let filter = capped(EnvFilter::new("trace")).to_string();
        assert!(filter.contains("aws_smithy_runtime=debug"), "{filter}");
    }
}
