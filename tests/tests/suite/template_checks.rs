//! `infra/template.yaml` expanded offline as CloudFormation would (aws-sam-translator, via
//! `infra/expand.py`), and checked for what a deployed stack needs but no local run would
//! notice: every event source may invoke its function, everything asynchronous has a
//! dead-letter destination, every dead letter and function error raises an alarm, logs are
//! kept and bounded, and the API is throttled and logged.

use serde_json::Value;
use std::collections::BTreeSet;
use tessera_dev::iam::{wildcard_match, Expanded};

/// The expansion, made once for all the checks (each run of expand.py takes about half a second).
fn expanded() -> &'static Expanded {
    static EXPANDED: std::sync::OnceLock<Expanded> = std::sync::OnceLock::new();
    EXPANDED.get_or_init(|| Expanded::load().unwrap_or_else(|e| panic!("{e}")))
}

/// The logical id a `Ref`, `Fn::GetAtt` or `Fn::Sub` "${X.Arn}" points at.
fn target(value: &Value) -> Option<String> {
    if let Some(name) = value["Ref"].as_str() {
        return Some(name.to_owned());
    }
    if let Some(name) = value["Fn::GetAtt"][0].as_str() {
        return Some(name.to_owned());
    }
    if let Some(name) = value["Fn::Sub"][1]["__FunctionArn__"]["Fn::GetAtt"][0].as_str() {
        return Some(name.to_owned());
    }
    let pattern = value["Fn::Sub"].as_str()?;
    let start = pattern.find("functions/${")? + "functions/${".len();
    let end = pattern[start..].find(".Arn}")?;
    Some(pattern[start..start + end].to_owned())
}

fn functions(t: &Expanded) -> Vec<String> {
    t.resources_of_type("AWS::Lambda::Function")
        .map(|(id, _)| id.clone())
        .collect()
}

/// The statements of a role, unresolved.
fn role_statements<'a>(t: &'a Expanded, role: &str) -> Vec<&'a Value> {
    t.document["Resources"][role]["Properties"]["Policies"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|policy| match &policy["PolicyDocument"]["Statement"] {
            Value::Array(items) => items.iter().collect::<Vec<_>>(),
            other => vec![other],
        })
        .collect()
}

fn allows(statement: &Value, action: &str) -> bool {
    let actions: Vec<&str> = match &statement["Action"] {
        Value::String(a) => vec![a.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    statement["Effect"] == "Allow"
        && actions
            .iter()
            .any(|a| wildcard_match(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
}

#[test]
fn every_event_source_may_invoke_its_function() {
    let t = expanded();
    let permitted: BTreeSet<(String, String)> = t
        .resources_of_type("AWS::Lambda::Permission")
        .filter_map(|(_, p)| {
            let properties = &p["Properties"];
            Some((
                target(&properties["FunctionName"])?,
                properties["Principal"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let api_gateway = |function: &str| {
        permitted.contains(&(function.to_owned(), "apigateway.amazonaws.com".to_owned()))
    };

    // Routes: each integration's function.
    let (_, api) = t
        .resources_of_type("AWS::ApiGatewayV2::Api")
        .next()
        .expect("an HTTP API");
    let body = &api["Properties"]["Body"];
    let mut integrations = 0;
    for (path, methods) in body["paths"].as_object().expect("paths") {
        for (method, operation) in methods.as_object().expect("methods") {
            let function = target(&operation["x-amazon-apigateway-integration"]["uri"])
                .unwrap_or_else(|| panic!("{method} {path} has no Lambda integration"));
            assert!(
                api_gateway(&function),
                "API Gateway may not invoke {function} ({method} {path})"
            );
            integrations += 1;
        }
    }
    assert!(integrations > 50, "only {integrations} routes");
    // Authorizers: API Gateway calls them too, and HTTP APIs get no permission by default.
    let schemes = body["components"]["securitySchemes"]
        .as_object()
        .expect("an authorizer");
    for (name, scheme) in schemes {
        let function = target(&scheme["x-amazon-apigateway-authorizer"]["authorizerUri"])
            .unwrap_or_else(|| panic!("authorizer {name} names no function"));
        assert!(
            api_gateway(&function),
            "API Gateway may not invoke the authorizer {function}"
        );
    }
    // Queues and streams: the function's role may read what it is mapped to.
    for (id, mapping) in t.resources_of_type("AWS::Lambda::EventSourceMapping") {
        let function = target(&mapping["Properties"]["FunctionName"]).expect("a function");
        let role =
            target(&t.document["Resources"][&function]["Properties"]["Role"]).expect("a role");
        let source = target(&mapping["Properties"]["EventSourceArn"]).expect("a source");
        let (managed_policy, actions): (&str, &[&str]) =
            match t.document["Resources"][&source]["Type"].as_str() {
                Some("AWS::DynamoDB::Table") => (
                    "/AWSLambdaDynamoDBExecutionRole",
                    &[
                        "dynamodb:DescribeStream",
                        "dynamodb:GetRecords",
                        "dynamodb:GetShardIterator",
                        "dynamodb:ListStreams",
                    ],
                ),
                _ => (
                    "/AWSLambdaSQSQueueExecutionRole",
                    &[
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes",
                    ],
                ),
            };
        // SAM attaches AWS's managed policy for the source's consumers (these actions on
        // any queue or stream); an inline statement would do too.
        let managed = t.document["Resources"][&role]["Properties"]["ManagedPolicyArns"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|arn| arn.as_str().is_some_and(|a| a.ends_with(managed_policy)));
        for action in actions {
            assert!(
                managed || role_statements(t, &role).iter().any(|s| allows(s, action)),
                "{id}: {function} may not {action}"
            );
        }
    }
    // Schedules: the scheduler's role may invoke the target.
    for (id, schedule) in t.resources_of_type("AWS::Scheduler::Schedule") {
        let target_function = target(&schedule["Properties"]["Target"]["Arn"]).expect("a target");
        let role = target(&schedule["Properties"]["Target"]["RoleArn"]).expect("a role");
        assert!(
            role_statements(t, &role)
                .iter()
                .any(|s| allows(s, "lambda:InvokeFunction")
                    && target(&s["Resource"]).as_deref() == Some(target_function.as_str())),
            "{id}: the scheduler may not invoke {target_function}"
        );
    }
}

#[test]
fn everything_asynchronous_has_a_dead_letter_destination() {
    let t = expanded();
    let mut scheduled = BTreeSet::new();
    for (id, schedule) in t.resources_of_type("AWS::Scheduler::Schedule") {
        let target = &schedule["Properties"]["Target"];
        assert!(
            target["DeadLetterConfig"]["Arn"].is_object(),
            "{id} has no dead-letter queue"
        );
        scheduled.insert(super_target(&target["Arn"]));
    }
    let configured: BTreeSet<String> = t
        .resources_of_type("AWS::Lambda::EventInvokeConfig")
        .filter(|(_, c)| {
            c["Properties"]["DestinationConfig"]["OnFailure"]["Destination"].is_object()
        })
        .filter_map(|(_, c)| target(&c["Properties"]["FunctionName"]))
        .collect();
    for function in scheduled {
        assert!(
            configured.contains(&function),
            "{function} is invoked asynchronously but has no on-failure destination"
        );
    }
    // Every work queue (one that is consumed) redrives to a dead-letter queue; a stream's
    // mapping sends what it gives up on to its on-failure destination, which the function
    // may write to.
    for (id, mapping) in t.resources_of_type("AWS::Lambda::EventSourceMapping") {
        let queue = target(&mapping["Properties"]["EventSourceArn"]).expect("a queue");
        if t.document["Resources"][&queue]["Type"] == "AWS::DynamoDB::Table" {
            let destination =
                target(&mapping["Properties"]["DestinationConfig"]["OnFailure"]["Destination"])
                    .unwrap_or_else(|| {
                        panic!("{id}: a stream mapping without an on-failure destination")
                    });
            let function = target(&mapping["Properties"]["FunctionName"]).expect("a function");
            let role =
                target(&t.document["Resources"][&function]["Properties"]["Role"]).expect("a role");
            assert!(
                role_statements(t, &role)
                    .iter()
                    .any(|s| allows(s, "sqs:SendMessage")
                        && target(&s["Resource"]).as_deref() == Some(destination.as_str())),
                "{id}: {function} may not send to its on-failure destination {destination}"
            );
            assert!(
                mapping["Properties"]["MaximumRetryAttempts"].is_number(),
                "{id}: a stream mapping must bound its retries"
            );
            continue;
        }
        assert!(
            t.document["Resources"][&queue]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]
                .is_object(),
            "{id}: {queue} has no dead-letter queue"
        );
    }
}

fn super_target(value: &Value) -> String {
    target(value).expect("a target")
}

#[test]
fn every_dead_letter_queue_and_every_function_raises_an_alarm() {
    let t = expanded();
    let alarms: Vec<&Value> = t
        .resources_of_type("AWS::CloudWatch::Alarm")
        .map(|(_, alarm)| &alarm["Properties"])
        .collect();
    let watched = |namespace: &str, metric: &str, dimension: &str, resource: &str| {
        alarms.iter().any(|alarm| {
            alarm["Namespace"] == namespace
                && alarm["MetricName"] == metric
                && alarm["AlarmActions"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
                && alarm["Dimensions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|d| {
                        d["Name"] == dimension && target(&d["Value"]).as_deref() == Some(resource)
                    })
        })
    };
    let mut dead_letter_queues = BTreeSet::new();
    for (_, queue) in t.resources_of_type("AWS::SQS::Queue") {
        if let Some(dlq) = target(&queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]) {
            dead_letter_queues.insert(dlq);
        }
    }
    for (_, schedule) in t.resources_of_type("AWS::Scheduler::Schedule") {
        if let Some(dlq) = target(&schedule["Properties"]["Target"]["DeadLetterConfig"]["Arn"]) {
            dead_letter_queues.insert(dlq);
        }
    }
    assert!(dead_letter_queues.len() >= 5, "{dead_letter_queues:?}");
    for queue in &dead_letter_queues {
        assert!(
            watched(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "QueueName",
                queue
            ),
            "no alarm on the depth of {queue}"
        );
    }
    for function in functions(t) {
        assert!(
            watched("AWS/Lambda", "Errors", "FunctionName", &function),
            "no alarm on {function}'s errors"
        );
    }
}

#[test]
fn every_function_logs_to_a_group_with_a_retention_and_the_api_is_throttled_and_logged() {
    let t = expanded();
    for function in functions(t) {
        let group =
            target(&t.document["Resources"][&function]["Properties"]["LoggingConfig"]["LogGroup"])
                .unwrap_or_else(|| panic!("{function} names no log group of the template"));
        let group = &t.document["Resources"][&group];
        assert_eq!(group["Type"], "AWS::Logs::LogGroup", "{function}");
        assert!(
            !group["Properties"]["RetentionInDays"].is_null(),
            "{function}'s logs are kept forever"
        );
    }
    let (_, stage) = t
        .resources_of_type("AWS::ApiGatewayV2::Stage")
        .next()
        .expect("a stage");
    let settings = &stage["Properties"]["DefaultRouteSettings"];
    assert!(
        settings["ThrottlingBurstLimit"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{stage}"
    );
    assert!(
        settings["ThrottlingRateLimit"]
            .as_f64()
            .is_some_and(|n| n > 0.0),
        "{stage}"
    );
    let access = &stage["Properties"]["AccessLogSettings"];
    let group = target(&access["DestinationArn"]).expect("access logs go to a log group");
    assert!(!t.document["Resources"][&group]["Properties"]["RetentionInDays"].is_null());
    assert!(access["Format"]
        .as_str()
        .is_some_and(|f| f.contains("$context.requestId")));
}

#[test]
fn no_function_is_given_a_secret_in_its_configuration() {
    let t = expanded();
    for function in functions(t) {
        let variables =
            &t.document["Resources"][&function]["Properties"]["Environment"]["Variables"];
        let text = variables.to_string();
        assert!(
            !text.contains("resolve:secretsmanager"),
            "{function} has a secret pasted into its configuration"
        );
        assert!(
            !text.contains("resolve:ssm-secure"),
            "{function} has a secret pasted into its configuration"
        );
    }
}

/// `sam build` (BuildMethod rust-cargolambda) runs `cargo lambda build --bin <Binary>` in
/// CodeUri and takes `target/lambda/<Binary>/bootstrap` from there: CodeUri must be the
/// workspace root, where the one `target/` is, and Binary a binary of the workspace.
#[test]
fn sam_builds_every_function_from_the_workspace_root() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let template = tessera_dev::template::Template::load_default(
        &tessera_dev::template::StackContext::named("unit"),
    )
    .expect("the template parses");
    let metadata =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "metadata",
                "--no-deps",
                "--format-version",
                "1",
                "--offline",
            ])
            .current_dir(&root)
            .output()
            .expect("cargo metadata runs");
    let metadata: Value = serde_json::from_slice(&metadata.stdout).expect("cargo metadata is JSON");
    let binaries: BTreeSet<&str> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .filter_map(|t| t["name"].as_str())
        .collect();
    let workspace_root = std::fs::canonicalize(&root).expect("the workspace root");
    for function in &template.functions {
        let code_uri = function
            .code_uri
            .as_deref()
            .unwrap_or_else(|| panic!("{} has no CodeUri", function.logical_id));
        let code_dir = std::fs::canonicalize(root.join("infra").join(code_uri))
            .unwrap_or_else(|e| panic!("{}: CodeUri {code_uri}: {e}", function.logical_id));
        assert_eq!(
            code_dir, workspace_root,
            "{}: CodeUri must be the workspace root, where target/lambda/<binary> is built",
            function.logical_id
        );
        let binary = function.binary.as_deref().unwrap_or_default();
        assert!(
            binaries.contains(binary),
            "{}: {binary} is not a binary of the workspace",
            function.logical_id
        );
    }
}

#[test]
fn each_function_is_given_exactly_the_resources_it_declares() {
    let t = expanded();
    let needs = tessera_dev::functions::function_needs();
    let declared: BTreeSet<&str> = needs.iter().map(|(id, _)| *id).collect();
    let in_template: BTreeSet<String> = t
        .resources_of_type("AWS::Lambda::Function")
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(
        declared.iter().map(|id| id.to_string()).collect::<BTreeSet<_>>(),
        in_template,
        "every function of the template declares its needs in tessera_dev::functions::function_needs"
    );
    for (id, wanted) in needs {
        let variables = &t.document["Resources"][id]["Properties"]["Environment"]["Variables"];
        for resource in tessera_platform::services::Resource::ALL {
            let given = variables.get(resource.variable()).is_some();
            assert_eq!(
                given,
                wanted.contains(&resource),
                "{id}: {} is {} in the template but the function {} it",
                resource.variable(),
                if given { "set" } else { "not set" },
                if wanted.contains(&resource) {
                    "needs"
                } else {
                    "does not need"
                }
            );
        }
    }
}
