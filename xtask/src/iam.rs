//! The template as CloudFormation deploys it (expanded offline by `infra/expand.py`, with
//! aws-sam-translator) and what its IAM policies allow: the least-privilege test checks
//! every recorded AWS call ([`tessera_platform::aws_calls`]) against the calling function's
//! own role.

use crate::template::ResourceValues;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use tessera_platform::aws_calls::AwsCall;

/// The expanded (plain CloudFormation) template.
pub struct Expanded {
    pub document: Value,
}

impl Expanded {
    /// Runs `infra/expand.py` with the local tools' Python.
    pub fn load() -> Result<Expanded, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let python = root.join("localstack/.local/venv/bin/python");
        if !python.is_file() {
            return Err(format!(
                "{} is missing: run ./localstack/local-aws.sh install",
                python.display()
            ));
        }
        let output = std::process::Command::new(&python)
            .arg(root.join("infra/expand.py"))
            .output()
            .map_err(|e| format!("cannot run infra/expand.py: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "infra/expand.py failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let document = serde_json::from_slice(&output.stdout)
            .map_err(|e| format!("infra/expand.py printed no JSON: {e}"))?;
        Ok(Expanded { document })
    }

    pub fn resources(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.document["Resources"]
            .as_object()
            .into_iter()
            .flat_map(|resources| resources.iter())
    }

    pub fn resources_of_type<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a Value)> + 'a {
        self.resources()
            .filter(move |(_, resource)| resource["Type"] == kind)
    }

    /// The Allow statements of the role a function runs as.
    pub fn function_statements(
        &self,
        function: &str,
        values: &ResourceValues,
    ) -> Result<Vec<Statement>, String> {
        let role = &self.document["Resources"][function]["Properties"]["Role"];
        let role_id = role["Fn::GetAtt"][0]
            .as_str()
            .ok_or_else(|| format!("{function} has no role of the template"))?;
        let mut statements = Vec::new();
        for policy in self.document["Resources"][role_id]["Properties"]["Policies"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let listed = &policy["PolicyDocument"]["Statement"];
            let listed: Vec<&Value> = match listed {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            for statement in listed {
                if statement["Effect"] != "Allow" {
                    continue;
                }
                statements.push(Statement {
                    actions: strings(&statement["Action"]),
                    resources: self.resolve_all(&statement["Resource"], values)?,
                });
            }
        }
        Ok(statements)
    }

    fn resolve_all(&self, value: &Value, values: &ResourceValues) -> Result<Vec<String>, String> {
        match value {
            Value::Array(items) => items
                .iter()
                .map(|item| self.resolve(item, values))
                .collect(),
            other => Ok(vec![self.resolve(other, values)?]),
        }
    }

    /// Resolves the intrinsic functions policies use, against the local resources.
    pub fn resolve(&self, value: &Value, values: &ResourceValues) -> Result<String, String> {
        let reference = |name: &str| -> Result<String, String> {
            match name {
                "AWS::Partition" => Ok("aws".to_owned()),
                "AWS::Region" => Ok(values.region.clone()),
                "AWS::AccountId" => Ok(values.account.clone()),
                "AWS::URLSuffix" => Ok("amazonaws.com".to_owned()),
                "AWS::StackName" => Ok(values.stack_name.clone()),
                _ if name.contains('.') => values
                    .attributes
                    .get(name)
                    .cloned()
                    .ok_or_else(|| format!("!GetAtt {name} is not known locally")),
                _ => values
                    .refs
                    .get(name)
                    .or_else(|| values.parameters.get(name))
                    .cloned()
                    .ok_or_else(|| format!("!Ref {name} is not known locally")),
            }
        };
        match value {
            Value::String(text) => Ok(text.clone()),
            Value::Object(map) if map.contains_key("Ref") => {
                reference(map["Ref"].as_str().unwrap_or_default())
            }
            Value::Object(map) if map.contains_key("Fn::GetAtt") => {
                let parts = strings(&map["Fn::GetAtt"]);
                reference(&parts.join("."))
            }
            Value::Object(map) if map.contains_key("Fn::Sub") => {
                let (pattern, variables) = match &map["Fn::Sub"] {
                    Value::String(pattern) => (pattern.clone(), BTreeMap::new()),
                    Value::Array(pair) if pair.len() == 2 => {
                        let mut variables = BTreeMap::new();
                        for (name, value) in pair[1].as_object().into_iter().flatten() {
                            variables.insert(name.clone(), self.resolve(value, values)?);
                        }
                        (pair[0].as_str().unwrap_or_default().to_owned(), variables)
                    }
                    other => return Err(format!("unsupported Fn::Sub {other}")),
                };
                crate::template::substitute(&pattern, |name| match variables.get(name) {
                    Some(value) => Ok(value.clone()),
                    None => reference(name),
                })
            }
            Value::Object(map) if map.contains_key("Fn::Join") => {
                let parts = &map["Fn::Join"];
                let separator = parts[0].as_str().unwrap_or_default();
                let items = parts[1]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|item| self.resolve(item, values))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(items.join(separator))
            }
            other => Err(format!("cannot resolve {other} locally")),
        }
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// One Allow statement, its resources resolved to ARNs (or patterns).
#[derive(Debug, Clone)]
pub struct Statement {
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

impl Statement {
    pub fn allows(&self, action: &str, resource: &str) -> bool {
        self.actions.iter().any(|pattern| {
            wildcard_match(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase())
        }) && self
            .resources
            .iter()
            .any(|pattern| wildcard_match(pattern, resource))
    }
}

/// IAM's matching: `*` any run of characters, `?` any one.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The ARN a recorded call touches, in the local stack's region and account.
pub fn call_arn(call: &AwsCall, values: &ResourceValues) -> String {
    let service = call.action.split(':').next().unwrap_or_default();
    values.arn(service, &call.resource)
}

/// What the recorded calls say about each function's policy.
#[derive(Debug, Default)]
pub struct PrivilegeReport {
    /// Calls the function's own role does not allow: `function action resource`.
    pub denied: BTreeSet<String>,
    /// Allowed actions no recorded call used: `function action`.
    pub unused: BTreeSet<String>,
}

/// Checks `calls` (by function name) against the roles of `functions` (logical id → name).
pub fn check_calls(
    expanded: &Expanded,
    values: &ResourceValues,
    functions: &BTreeMap<String, String>,
    calls: &[AwsCall],
) -> Result<PrivilegeReport, String> {
    let mut report = PrivilegeReport::default();
    let by_name: BTreeMap<&str, &str> = functions
        .iter()
        .map(|(id, name)| (name.as_str(), id.as_str()))
        .collect();
    let mut used: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut statements = BTreeMap::new();
    for id in functions.keys() {
        statements.insert(id.as_str(), expanded.function_statements(id, values)?);
    }
    for call in calls {
        let Some(id) = by_name.get(call.function.as_str()) else {
            continue;
        };
        let arn = call_arn(call, values);
        let allowed = statements[id]
            .iter()
            .any(|statement| statement.allows(&call.action, &arn));
        if !allowed {
            report.denied.insert(format!("{id} {} {arn}", call.action));
        }
        used.entry(id)
            .or_default()
            .insert(call.action.to_ascii_lowercase());
    }
    for (id, statements) in &statements {
        for action in statements.iter().flat_map(|s| s.actions.iter()) {
            let pattern = action.to_ascii_lowercase();
            let was_used = used
                .get(id)
                .is_some_and(|actions| actions.iter().any(|a| wildcard_match(&pattern, a)));
            if !was_used {
                report.unused.insert(format!("{id} {action}"));
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_iam_matches() {
        assert!(wildcard_match(
            "arn:aws:s3:::b/merchants/*",
            "arn:aws:s3:::b/merchants/M1/x"
        ));
        assert!(!wildcard_match(
            "arn:aws:s3:::b/merchants/*",
            "arn:aws:s3:::b/other/x"
        ));
        assert!(wildcard_match("dynamodb:*", "dynamodb:getitem"));
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("arn:t", "arn:t/index/GSI1"));
    }

    #[test]
    fn a_statement_allows_only_its_actions_on_its_resources() {
        let statement = Statement {
            actions: vec!["dynamodb:GetItem".into(), "dynamodb:Query".into()],
            resources: vec!["arn:aws:dynamodb:r:1:table/t".into()],
        };
        assert!(statement.allows("dynamodb:GetItem", "arn:aws:dynamodb:r:1:table/t"));
        assert!(!statement.allows("dynamodb:BatchGetItem", "arn:aws:dynamodb:r:1:table/t"));
        assert!(!statement.allows("dynamodb:Query", "arn:aws:dynamodb:r:1:table/t/index/GSI1"));
    }
}
