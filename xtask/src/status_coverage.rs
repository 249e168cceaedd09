//! Which documented answers the tests have actually met.
//!
//! The OpenAPI document promises, for every operation, the statuses it can answer. A
//! promise nobody has seen kept is a guess: either a test reaches it, or the document is
//! corrected. The suite's request helper writes one line per answered request
//! (`METHOD PATH STATUS`) into the directory named by [`LOG_DIR_VARIABLE`]; after the suite,
//! `tessera-dev status-coverage` reads those lines back, maps each path to its operation and
//! lists every documented (operation, status) pair no test met.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The environment variable naming the directory where answered requests are logged.
pub const LOG_DIR_VARIABLE: &str = "TESSERA_STATUS_LOG_DIR";

/// One documented answer: method, path template, status.
pub type Pair = (String, String, u16);

/// Every (operation, status) pair the document promises.
pub fn documented_pairs(document: &Value) -> BTreeSet<Pair> {
    let mut pairs = BTreeSet::new();
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return pairs;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, operation) in item {
            let Some(responses) = operation.get("responses").and_then(Value::as_object) else {
                continue;
            };
            for status in responses.keys() {
                if let Ok(status) = status.parse::<u16>() {
                    pairs.insert((method.to_uppercase(), path.clone(), status));
                }
            }
        }
    }
    pairs
}

/// The path template of `operations` a concrete request path matches. A literal segment
/// beats a parameter (`/products/delist` is not `/products/{product_id}`).
pub fn template_of<'a>(
    operations: &'a [(String, String)],
    method: &str,
    path: &str,
) -> Option<&'a str> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    operations
        .iter()
        .filter(|(m, _)| m == method)
        .filter_map(|(_, template)| {
            let parts: Vec<&str> = template.trim_end_matches('/').split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literals = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') && part.ends_with('}') {
                    if segment.is_empty() {
                        return None;
                    }
                } else if part == segment {
                    literals += 1;
                } else {
                    return None;
                }
            }
            Some((literals, template.as_str()))
        })
        .max_by_key(|(literals, _)| *literals)
        .map(|(_, template)| template)
}

/// The pairs met in the log lines of `directory`, mapped to their operations.
pub fn met_pairs(
    directory: &Path,
    operations: &[(String, String)],
) -> Result<BTreeSet<Pair>, String> {
    let entries = std::fs::read_dir(directory)
        .map_err(|e| format!("cannot read the status log {}: {e}", directory.display()))?;
    let mut met = BTreeSet::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for line in text.lines() {
            let mut fields = line.split(' ');
            let (Some(method), Some(request_path), Some(status)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let Ok(status) = status.parse::<u16>() else {
                continue;
            };
            if let Some(template) = template_of(operations, method, request_path) {
                met.insert((method.to_owned(), template.to_owned(), status));
            }
        }
    }
    Ok(met)
}

/// The report: documented pairs not met, and met pairs not documented, per operation.
pub struct Coverage {
    pub documented: usize,
    pub unmet: BTreeMap<(String, String), Vec<u16>>,
    pub undocumented: BTreeMap<(String, String), Vec<u16>>,
}

pub fn coverage(documented: &BTreeSet<Pair>, met: &BTreeSet<Pair>) -> Coverage {
    let mut unmet: BTreeMap<(String, String), Vec<u16>> = BTreeMap::new();
    for (method, path, status) in documented.difference(met) {
        unmet
            .entry((method.clone(), path.clone()))
            .or_default()
            .push(*status);
    }
    let mut undocumented: BTreeMap<(String, String), Vec<u16>> = BTreeMap::new();
    for (method, path, status) in met.difference(documented) {
        undocumented
            .entry((method.clone(), path.clone()))
            .or_default()
            .push(*status);
    }
    Coverage {
        documented: documented.len(),
        unmet,
        undocumented,
    }
}

/// `tessera-dev status-coverage [DIR]`: fails listing what the document promises and no
/// test met, or what a test met and the document does not promise.
pub fn run(directory: Option<&str>) -> Result<(), String> {
    let directory = directory
        .map(str::to_owned)
        .or_else(|| std::env::var(LOG_DIR_VARIABLE).ok())
        .ok_or_else(|| format!("name the status log directory (argument or {LOG_DIR_VARIABLE})"))?;
    let openapi = crate::openapi::document();
    let operations = crate::openapi::operations(&openapi);
    let document = serde_json::to_value(&openapi).map_err(|e| e.to_string())?;
    let documented = documented_pairs(&document);
    let met = met_pairs(Path::new(&directory), &operations)?;
    let report = coverage(&documented, &met);
    let unmet: usize = report.unmet.values().map(Vec::len).sum();
    let undocumented: usize = report.undocumented.values().map(Vec::len).sum();
    println!(
        "status coverage: {} documented (operation, status) pairs, {} met by the tests, {unmet} not met, {undocumented} met but undocumented",
        report.documented,
        report.documented - unmet,
    );
    for ((method, path), statuses) in &report.unmet {
        println!("  not met: {method} {path} {statuses:?}");
    }
    for ((method, path), statuses) in &report.undocumented {
        println!("  undocumented: {method} {path} {statuses:?}");
    }
    if unmet == 0 && undocumented == 0 {
        Ok(())
    } else {
        Err(format!(
            "{unmet} documented answers no test reaches and {undocumented} answers the document does not state: \
             add a test that reaches each, or correct the document (xtask/src/openapi.rs)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operations() -> Vec<(String, String)> {
        [
            ("GET", "/products/{product_id}"),
            ("POST", "/products/delist"),
            ("POST", "/products/{product_id}"),
            ("GET", "/products"),
        ]
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
    }

    #[test]
    fn a_literal_segment_beats_a_parameter() {
        let ops = operations();
        assert_eq!(
            template_of(&ops, "POST", "/products/delist"),
            Some("/products/delist")
        );
        assert_eq!(
            template_of(&ops, "POST", "/products/P1"),
            Some("/products/{product_id}")
        );
        assert_eq!(
            template_of(&ops, "GET", "/products/P1"),
            Some("/products/{product_id}")
        );
        assert_eq!(template_of(&ops, "GET", "/products/P1/x"), None);
        assert_eq!(template_of(&ops, "DELETE", "/products"), None);
        assert_eq!(template_of(&ops, "GET", "/products/"), Some("/products"));
    }

    #[test]
    fn unmet_and_undocumented_pairs_are_told_apart() {
        let pair = |p: &str, s| ("GET".to_owned(), p.to_owned(), s);
        let documented: BTreeSet<Pair> = [pair("/a", 200), pair("/a", 404)].into();
        let met: BTreeSet<Pair> = [pair("/a", 200), pair("/a", 500)].into();
        let report = coverage(&documented, &met);
        assert_eq!(report.unmet.values().flatten().collect::<Vec<_>>(), [&404]);
        assert_eq!(
            report.undocumented.values().flatten().collect::<Vec<_>>(),
            [&500]
        );
    }
}
