//! The foundation: provisioning from the template, the gateway's routes, health and OpenAPI.

use std::collections::BTreeSet;
use tessera_dev::functions::{http_functions, queue_handlers, scheduled_handlers};
use tessera_dev::gateway::{self, GatewayState};
use tessera_tests::{body_json, body_text, get, send, TestStack};

fn clock() -> std::sync::Arc<tessera_domain::clock::FixedClock> {
    std::sync::Arc::new(tessera_domain::clock::FixedClock::at(
        tessera_tests::test_start(),
    ))
}

/// (index name, key schema as (attribute, key type), projection type)
type IndexShape = (String, Vec<(String, String)>, String);

#[tokio::test]
async fn provisioned_table_has_the_template_key_schema_indexes_and_ttl() {
    let stack = TestStack::provision().await;
    let spec = &stack.template.table;
    let described = stack
        .aws
        .dynamodb
        .describe_table()
        .table_name(&spec.name)
        .send()
        .await
        .unwrap();
    let table = described.table().unwrap();

    let keys = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<(String, String)> {
        schema
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_owned(),
                    k.key_type().as_str().to_owned(),
                )
            })
            .collect()
    };
    let expected_keys = |schema: &[tessera_dev::template::KeyElement]| -> Vec<(String, String)> {
        schema
            .iter()
            .map(|k| (k.attribute.clone(), k.key_type.clone()))
            .collect()
    };
    assert_eq!(keys(table.key_schema()), expected_keys(&spec.key_schema));

    let attributes: BTreeSet<(String, String)> = table
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_owned(),
                a.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    let expected_attributes: BTreeSet<(String, String)> = spec
        .attributes
        .iter()
        .map(|(n, t)| (n.clone(), t.clone()))
        .collect();
    assert_eq!(attributes, expected_attributes);

    let mut indexes: Vec<IndexShape> = table
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            (
                i.index_name().unwrap_or_default().to_owned(),
                keys(i.key_schema()),
                i.projection()
                    .and_then(|p| p.projection_type())
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    indexes.sort();
    let mut expected_indexes: Vec<_> = spec
        .global_indexes
        .iter()
        .map(|i| {
            (
                i.name.clone(),
                expected_keys(&i.key_schema),
                i.projection_type.clone(),
            )
        })
        .collect();
    expected_indexes.sort();
    assert_eq!(indexes, expected_indexes);
    assert!(
        !expected_indexes.is_empty(),
        "the template declares the GSIs"
    );

    let ttl = stack
        .aws
        .dynamodb
        .describe_time_to_live()
        .table_name(&spec.name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        spec.ttl_attribute.as_deref()
    );
}

#[tokio::test]
async fn provisioning_is_idempotent_and_creates_queues_with_their_dead_letter_queues() {
    let stack = TestStack::provision().await;
    // A second run over the same stack changes nothing and fails on nothing.
    let again = tessera_dev::provision::provision(&stack.aws, &stack.template)
        .await
        .unwrap();
    assert_eq!(again.queue_urls, stack.provisioned.queue_urls);

    let url = &stack.provisioned.queue_urls["BatchIssueQueue"];
    let attributes = stack
        .aws
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attributes = attributes.attributes().unwrap();
    let redrive: serde_json::Value =
        serde_json::from_str(&attributes[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy])
            .unwrap();
    assert!(redrive["deadLetterTargetArn"]
        .as_str()
        .unwrap()
        .ends_with("-batch-issue-dlq"));
    assert_eq!(redrive["maxReceiveCount"].as_i64(), Some(5));
    assert_eq!(
        attributes[&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout],
        "720"
    );
    for bucket in stack.provisioned.buckets.values() {
        stack
            .aws
            .s3
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
    }
    // Uploads, exports, assets and the console's files.
    assert_eq!(stack.provisioned.buckets.len(), 4);
}

#[tokio::test]
async fn the_gateway_serves_exactly_the_template_routes_and_documents_them() {
    let stack = TestStack::provision().await;
    let template_routes: BTreeSet<(String, String)> = stack
        .template
        .routes()
        .into_iter()
        .map(|(route, _)| (route.method, route.path))
        .collect();
    let documented: BTreeSet<(String, String)> =
        tessera_dev::openapi::operations(&tessera_dev::openapi::document())
            .into_iter()
            .collect();
    let missing_from_openapi: Vec<_> = template_routes.difference(&documented).collect();
    let missing_from_template: Vec<_> = documented.difference(&template_routes).collect();
    assert!(
        missing_from_openapi.is_empty(),
        "template routes not in the code: {missing_from_openapi:?}"
    );
    assert!(
        missing_from_template.is_empty(),
        "served routes not in the template: {missing_from_template:?}"
    );
    // One name, one schema: a dropped duplicate would describe a route wrongly (and the
    // console's generated client with it).
    assert_eq!(
        tessera_dev::openapi::schema_name_collisions(),
        Vec::<String>::new()
    );
    // Every link of the document joins two operations it has, from a status it answers.
    assert_eq!(
        tessera_dev::openapi::missing_link_ends(),
        Vec::<String>::new()
    );
    let mut operation_ids = BTreeSet::new();
    let document = serde_json::to_value(tessera_dev::openapi::document()).unwrap();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(!id.is_empty(), "{method} {path} has no operationId");
            assert!(
                operation_ids.insert(id.clone()),
                "operationId {id} is used twice"
            );
        }
    }

    let state = GatewayState::new(
        stack.aws.clone(),
        &stack.template,
        stack.provisioned.clone(),
        stack.services(clock()),
    )
    .unwrap();
    let router = gateway::router(state);
    for (method, path) in &template_routes {
        // Path parameters get a placeholder value; any answer but "no such route" will do.
        let concrete: String = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "x"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let request = axum::http::Request::builder()
            .method(method.as_str())
            .uri(&concrete)
            .body(axum::body::Body::empty())
            .unwrap();
        let response = send(&router, request).await;
        let status = response.status();
        if status == 404 || status == 405 {
            // A route's own refusal may be a page (the e-ticket page's); the router's is
            // problem+json with one of these codes.
            let body = body_text(response).await;
            assert!(
                !body.contains("\"ROUTE_NOT_FOUND\"") && !body.contains("\"METHOD_NOT_ALLOWED\""),
                "{method} {path} is in the template but not served"
            );
        }
    }
}

#[tokio::test]
async fn every_template_function_has_code_behind_it_and_every_function_is_in_the_template() {
    let stack = TestStack::provision().await;
    let template = &stack.template;
    let with_routes: BTreeSet<&str> = template
        .functions
        .iter()
        .filter(|f| !f.routes.is_empty())
        .map(|f| f.logical_id.as_str())
        .collect();
    let served: BTreeSet<&str> = http_functions().iter().map(|f| f.logical_id).collect();
    assert_eq!(with_routes, served);

    let consuming: BTreeSet<&str> = template
        .functions
        .iter()
        .filter(|f| !f.queues.is_empty())
        .map(|f| f.logical_id.as_str())
        .collect();
    let consumers: BTreeSet<&str> = queue_handlers(&stack.handler_context(clock()))
        .iter()
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(consuming, consumers);

    let scheduled: BTreeSet<&str> = template
        .functions
        .iter()
        .filter(|f| !f.schedules.is_empty())
        .map(|f| f.logical_id.as_str())
        .collect();
    let scheduled_code: BTreeSet<&str> = scheduled_handlers(&stack.services(clock()))
        .iter()
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(scheduled, scheduled_code);
}

#[tokio::test]
async fn health_reports_each_service_and_turns_503_when_one_is_missing() {
    let stack = TestStack::provision().await;
    let state = GatewayState::new(
        stack.aws.clone(),
        &stack.template,
        stack.provisioned.clone(),
        stack.services(clock()),
    )
    .unwrap();
    let response = send(&gateway::router(state), get("/health")).await;
    assert_eq!(response.status(), 200);
    let body = body_json(response).await;
    assert_eq!(body["status"], "ok");
    for service in ["dynamodb", "s3", "sqs"] {
        assert_eq!(
            body["services"][service]["healthy"], true,
            "{service}: {body}"
        );
    }

    let mut broken = stack.provisioned.clone();
    broken.table_name = format!("{}-missing", broken.table_name);
    let state = GatewayState::new(
        stack.aws.clone(),
        &stack.template,
        broken,
        stack.services(clock()),
    )
    .unwrap();
    let response = send(&gateway::router(state), get("/health")).await;
    assert_eq!(response.status(), 503);
    let body = body_json(response).await;
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["services"]["dynamodb"]["healthy"], false);
    assert_eq!(body["services"]["s3"]["healthy"], true);
}

#[tokio::test]
async fn openapi_document_is_3_1_with_problem_details_and_every_error_code() {
    let stack = TestStack::provision().await;
    let state = GatewayState::new(
        stack.aws.clone(),
        &stack.template,
        stack.provisioned.clone(),
        stack.services(clock()),
    )
    .unwrap();
    let response = send(&gateway::router(state), get("/openapi.json")).await;
    assert_eq!(response.status(), 200);
    let document = body_json(response).await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(document["components"]["schemas"]["ProblemDetails"].is_object());
    let codes = document["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap();
    assert_eq!(codes.len(), tessera_domain::ErrorCode::ALL.len());
    let lookup = &document["paths"]["/error-codes"]["get"];
    assert!(lookup["responses"]["404"]["description"]
        .as_str()
        .unwrap()
        .contains("ERROR_CODE_NOT_FOUND"));
}

/// The LocalStack init hook (Python, for the Docker path) reads the same template; run it
/// against the local emulators and check it makes what the Rust provisioner makes.
#[tokio::test]
async fn the_localstack_init_hook_provisions_the_same_resources() {
    tessera_tests::require_local_aws();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let stack_name = format!("h{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let python = format!("{root}/localstack/.local/venv/bin/python");
    let output = tokio::process::Command::new(&python)
        .arg(format!("{root}/localstack/init/ready.d/provision.py"))
        .env("TESSERA_STACK_NAME", &stack_name)
        .env("TESSERA_TEMPLATE", format!("{root}/infra/template.yaml"))
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!("cannot run {python} (run localstack/local-aws.sh install): {e}")
        });
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let template = tessera_dev::template::Template::load_default(
        &tessera_dev::template::StackContext::named(&stack_name),
    )
    .unwrap();
    let aws = tessera_dev::provision::LocalAws::from_env().await;
    let table = aws
        .dynamodb
        .describe_table()
        .table_name(&template.table.name)
        .send()
        .await
        .unwrap();
    let mut indexes: Vec<String> = table
        .table()
        .unwrap()
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name().map(str::to_owned))
        .collect();
    indexes.sort();
    let expected: Vec<String> = template
        .table
        .global_indexes
        .iter()
        .map(|i| i.name.clone())
        .collect();
    assert_eq!(indexes, expected);
    for bucket in &template.buckets {
        aws.s3
            .head_bucket()
            .bucket(&bucket.name)
            .send()
            .await
            .unwrap();
    }
    for queue in &template.queues {
        let url = aws
            .sqs
            .get_queue_url()
            .queue_name(&queue.name)
            .send()
            .await
            .unwrap();
        let attributes = aws
            .sqs
            .get_queue_attributes()
            .queue_url(url.queue_url().unwrap())
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .unwrap();
        let has_redrive = attributes.attributes().is_some_and(|a| {
            a.contains_key(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        });
        assert_eq!(has_redrive, queue.dead_letter.is_some(), "{}", queue.name);
    }
}
