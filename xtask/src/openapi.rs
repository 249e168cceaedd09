//! The OpenAPI 3.1 document of the whole HTTP API, generated from the functions' code.

use crate::functions::http_functions;
use tessera_domain::ErrorCode;
use tessera_platform::problem::{ProblemDetails, ProblemViolation};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder, RefOr};
use utoipa::PartialSchema;

/// Component schemas that two functions define differently under one name. utoipa's merge
/// keeps the first and drops the other silently, so the document (and the console's client
/// generated from it) would describe one of the two routes wrongly; the suite requires this
/// to be empty.
pub fn schema_name_collisions() -> Vec<String> {
    let mut seen: std::collections::BTreeMap<String, (&str, serde_json::Value)> =
        Default::default();
    let mut collisions = Vec::new();
    for function in http_functions() {
        let (_, api) = function.routes.split_for_parts();
        let Some(components) = api.components else {
            continue;
        };
        for (name, schema) in components.schemas {
            let json = serde_json::to_value(&schema).unwrap_or_default();
            match seen.get(&name) {
                Some((first, other)) if *other != json => collisions.push(format!(
                    "{name}: defined by {first} and differently by {}",
                    function.logical_id
                )),
                Some(_) => {}
                None => {
                    seen.insert(name, (function.logical_id, json));
                }
            }
        }
    }
    collisions
}

fn for_each_operation(
    api: &mut OpenApi,
    mut visit: impl FnMut(&mut utoipa::openapi::path::Operation),
) {
    for item in api.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
        {
            visit(operation);
        }
    }
}

/// `IssuedOrdersFunction` → `issued_orders`.
fn function_prefix(logical_id: &str) -> String {
    let name = logical_id.trim_end_matches("Function");
    let mut prefix = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            prefix.push('_');
        }
        prefix.push(c.to_ascii_lowercase());
    }
    prefix
}

pub fn document() -> OpenApi {
    let mut document = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Tessera API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Prepaid-voucher issuance and redemption. Every error is an \
                     application/problem+json body whose `code` is one of the ErrorCode values; \
                     `GET /error-codes` describes them.",
                ))
                .build(),
        )
        .build();
    let mut apis: Vec<(&'static str, OpenApi)> = http_functions()
        .into_iter()
        .map(|function| (function.logical_id, function.routes.split_for_parts().1))
        .collect();
    // utoipa names an operation after its handler, and two functions may both have a
    // `list` or a `sign_in`: such names become `<function>_<handler>` everywhere they
    // occur, so every operationId is unique (client generators and fuzzers key on it).
    let mut uses: std::collections::BTreeMap<String, usize> = Default::default();
    for (_, api) in &mut apis {
        for_each_operation(api, |operation| {
            if let Some(id) = &operation.operation_id {
                *uses.entry(id.clone()).or_default() += 1;
            }
        });
    }
    for (logical_id, api) in &mut apis {
        let function = function_prefix(logical_id);
        for_each_operation(api, |operation| {
            if let Some(id) = &operation.operation_id {
                if uses.get(id).copied().unwrap_or_default() > 1 {
                    operation.operation_id = Some(format!("{function}_{id}"));
                }
            }
        });
    }
    for (_, api) in apis {
        document.merge(api);
    }
    let components = document.components.get_or_insert_with(Default::default);
    components
        .schemas
        .insert("ProblemDetails".to_owned(), ProblemDetails::schema());
    components
        .schemas
        .insert("ProblemViolation".to_owned(), ProblemViolation::schema());
    components
        .schemas
        .insert("ErrorCode".to_owned(), error_code_schema());
    document_idempotency_keys(&mut document);
    document_common_refusals(&mut document);
    document_links(&mut document);
    // What Tessera posts to integrators (OpenAPI 3.1 `webhooks`; utoipa has no field for
    // it, so it is the document's top-level member through its flattened extensions).
    for (name, schema) in [
        (
            "CallbackBody",
            tessera_platform::webhooks::CallbackBody::schema(),
        ),
        (
            "RefundResult",
            tessera_platform::webhooks::RefundResult::schema(),
        ),
        (
            "RefundedPeriod",
            tessera_platform::webhooks::RefundedPeriod::schema(),
        ),
    ] {
        document
            .components
            .get_or_insert_with(Default::default)
            .schemas
            .insert(name.to_owned(), schema);
    }
    document
        .extensions
        .get_or_insert_with(Default::default)
        .insert(
            "webhooks".to_owned(),
            tessera_platform::webhooks::openapi_webhooks(),
        );
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    document
}

/// Routes that take no `Idempotency-Key` (tessera_platform::idempotency says why): the
/// merchants' sign-in, and every route of the platform operator.
pub const WITHOUT_IDEMPOTENCY_KEY: &[(&str, &str)] = &[
    ("POST", "/sessions"),
    // The e-ticket page's forms (no script to set a header): the form carries its key as
    // the `idempotency_key` field, drawn when the page was drawn.
    ("POST", "/t/{token}/transfers"),
    ("POST", "/t/{token}/return-requests"),
];

/// The platform operator's routes take none either: each is a PUT (or DELETE) of a named
/// resource, idempotent by shape (docs/decisions/0012).
pub const OPERATOR_PREFIX: &str = "/operator/";

/// Whether a state-changing operation takes an `Idempotency-Key`.
pub fn takes_idempotency_key(method: &str, path: &str) -> bool {
    !WITHOUT_IDEMPOTENCY_KEY.contains(&(method, path)) && !path.starts_with(OPERATOR_PREFIX)
}

/// A refusal as every operation documents it: problem+json with its description.
fn problem_response(description: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ProblemDetails")))
                .build(),
        )
        .build()
}

/// A refusal as the e-ticket page's routes answer it: an HTML page saying what went wrong.
fn page_response(description: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, ObjectBuilder, ResponseBuilder, Type};
    ResponseBuilder::new()
        .description(format!("{description} (an HTML page)"))
        .content(
            "text/html",
            ContentBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String).build()))
                .build(),
        )
        .build()
}

/// Operations that reach no AWS service, so cannot answer 503.
const WITHOUT_DEPENDENCIES: &[&str] = &["/error-codes"];

/// The refusals every route shares, stated on each operation that can meet them (a
/// generated request must find each status it can get documented, and a test reaches each
/// one: tests/tests/suite/answers.rs): 400 for a parameter or field that breaks its rule,
/// and for a body that cannot be read; 413 and 415 for a body too large or of another
/// media type; 401 behind the session authorizer; 404 where a `merchant_id` names another
/// tenant; 503 where a service the operation needs did not answer. An operation's own
/// description of a status is kept; the e-ticket page's routes answer with pages.
fn document_common_refusals(document: &mut OpenApi) {
    for (path, item) in document.paths.paths.iter_mut() {
        let reaches_services = !WITHOUT_DEPENDENCIES.contains(&path.as_str());
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            document_operation_refusals(operation, path, reaches_services);
        }
    }
}

fn document_operation_refusals(
    operation: &mut utoipa::openapi::path::Operation,
    path: &str,
    reaches_services: bool,
) {
    use utoipa::openapi::path::ParameterIn;
    // A path parameter that breaks its shape names nothing, so the merchant's routes
    // answer it as not found (an identifier's shape tells nothing about existence); the
    // operator's routes name what they set up and refuse a malformed one.
    let validates_path = path.starts_with(OPERATOR_PREFIX);
    let takes_input = operation.parameters.as_ref().is_some_and(|parameters| {
        parameters
            .iter()
            .any(|p| !matches!(p.parameter_in, ParameterIn::Path) || validates_path)
    });
    let json_body = operation
        .request_body
        .as_ref()
        .is_some_and(|body| body.content.contains_key("application/json"));
    let form_body = operation.request_body.as_ref().is_some_and(|body| {
        body.content
            .contains_key("application/x-www-form-urlencoded")
    });
    // The e-ticket page's routes answer every refusal with a page.
    let answers_pages = operation.responses.responses.values().any(|response| {
            matches!(response, RefOr::T(response) if response.content.contains_key("text/html"))
        });
    let refusal = |description: &str| -> RefOr<utoipa::openapi::Response> {
        if answers_pages {
            page_response(description).into()
        } else {
            problem_response(description).into()
        }
    };
    let names_owner = operation.parameters.as_ref().is_some_and(|parameters| {
        parameters
            .iter()
            .any(|p| p.name == "merchant_id" && matches!(p.parameter_in, ParameterIn::Query))
    });
    let signed_in = operation
        .security
        .as_ref()
        .is_some_and(|security| !security.is_empty());
    let responses = &mut operation.responses.responses;
    if takes_input || json_body || form_body {
        responses.entry("400".to_owned()).or_insert_with(|| {
            refusal(if json_body {
                "VALIDATION_FAILED (the errors list names each field and its rule), MALFORMED_JSON"
            } else if form_body {
                "VALIDATION_FAILED: a field of the form, or the form itself, breaks its rule"
            } else {
                "VALIDATION_FAILED: a parameter breaks its rule (the errors list says which)"
            })
        });
    }
    if json_body || form_body {
        responses.entry("413".to_owned()).or_insert_with(|| {
            refusal("PAYLOAD_TOO_LARGE: the body is larger than the API accepts")
        });
        responses.entry("415".to_owned()).or_insert_with(|| {
                refusal(if json_body {
                    "UNSUPPORTED_MEDIA_TYPE: the body must be application/json"
                } else {
                    "UNSUPPORTED_MEDIA_TYPE: the body must be a form (application/x-www-form-urlencoded)"
                })
            });
    }
    if names_owner {
        // Another tenant's data answers "not found" in the area's own words, so
        // that merchant IDs cannot be probed.
        responses.entry("404".to_owned()).or_insert_with(|| {
                refusal("The area's *_NOT_FOUND code: merchant_id names neither the session's merchant nor a child of it")
            });
    }
    if signed_in {
        responses
            .entry("401".to_owned())
            .or_insert_with(|| refusal("UNAUTHENTICATED, SESSION_EXPIRED: no valid session token"));
    }
    if reaches_services {
        responses.entry("503".to_owned()).or_insert_with(|| {
                refusal("DEPENDENCY_UNAVAILABLE: storage or another service did not answer in time; send the request again (with the same Idempotency-Key: a change is made once)")
            });
    }
}

/// Every state-changing operation takes an `Idempotency-Key` (the layer in front of every
/// function's routes): documented here once, for every such operation, with the answers
/// it adds (a malformed key, a key reused for another request).
fn document_idempotency_keys(document: &mut OpenApi) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::Required;
    for (path, item) in document.paths.paths.iter_mut() {
        let operations = [
            ("POST", item.post.as_mut()),
            ("PUT", item.put.as_mut()),
            ("PATCH", item.patch.as_mut()),
            ("DELETE", item.delete.as_mut()),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            if !takes_idempotency_key(method, path.as_str()) {
                continue;
            }
            let parameters = operation.parameters.get_or_insert_with(Vec::new);
            parameters.retain(|p| !p.name.eq_ignore_ascii_case("Idempotency-Key"));
            let required = tessera_platform::idempotency::key_required(method, path.as_str());
            parameters.push(
                ParameterBuilder::new()
                    .name("Idempotency-Key")
                    .parameter_in(ParameterIn::Header)
                    .required(if required {
                        Required::True
                    } else {
                        Required::False
                    })
                    .description(Some(
                        "1-64 letters, digits, - or _. A retry with the same key and the same \
                         request (caller, method, path, body) within 24 hours gets the first \
                         answer again (header idempotent-replayed: true) and changes nothing; \
                         the same key with another request is refused (422).",
                    ))
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .min_length(Some(1))
                            .max_length(Some(64))
                            .pattern(Some("^[A-Za-z0-9_-]+$")),
                    ))
                    .build(),
            );
            let responses = &mut operation.responses.responses;
            for (status, code) in [
                ("422", "IDEMPOTENCY_KEY_REUSED"),
                ("400", "IDEMPOTENCY_KEY_REQUIRED"),
            ] {
                match responses.entry(status.to_owned()) {
                    std::collections::btree_map::Entry::Vacant(entry) => {
                        entry.insert(problem_response(code).into());
                    }
                    std::collections::btree_map::Entry::Occupied(mut entry) => {
                        if let RefOr::T(response) = entry.get_mut() {
                            if !response.description.contains(code) {
                                response.description = format!("{}, {code}", response.description);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Where an object made by one operation is read and changed next: OpenAPI links from the
/// answer that names it to the operations that take it, so that a client (and the fuzzer's
/// stateful phase) can follow create → read → change with real identifiers.
struct Follow {
    from: (&'static str, &'static str),
    status: &'static str,
    /// The consumers' path parameter, and where its value comes from (a runtime expression).
    parameter: &'static str,
    value: &'static str,
    to: &'static [(&'static str, &'static str)],
}

const FOLLOWS: &[Follow] = &[
    Follow {
        from: ("POST", "/products"),
        status: "201",
        parameter: "product_id",
        value: "$response.body#/product_id",
        to: &[
            ("GET", "/products/{product_id}"),
            ("PUT", "/products/{product_id}"),
            ("GET", "/products/{product_id}/copy"),
            ("GET", "/products/{product_id}/history"),
            ("POST", "/products/{product_id}/image-uploads"),
            ("PUT", "/products/{product_id}/image"),
        ],
    },
    // From the lists the demo data fills to what each listed thing names (the first).
    Follow {
        from: ("GET", "/redeemable-stores"),
        status: "200",
        parameter: "store_id",
        value: "$response.body#/items/0/merchant_id",
        to: &[
            ("GET", "/redeemable-stores/{store_id}/history"),
            ("PUT", "/redeemable-stores/{store_id}/status"),
        ],
    },
    Follow {
        from: ("GET", "/joint-issuers"),
        status: "200",
        parameter: "issuer_id",
        value: "$response.body#/items/0/merchant_id",
        to: &[
            ("GET", "/joint-issuers/{issuer_id}/history"),
            ("POST", "/joint-issuers/{issuer_id}/unlink"),
        ],
    },
    Follow {
        from: ("GET", "/webhooks/deliveries"),
        status: "200",
        parameter: "delivery_id",
        value: "$response.body#/items/0/delivery_id",
        to: &[("POST", "/webhooks/deliveries/{delivery_id}/redeliver")],
    },
    Follow {
        from: ("POST", "/branches"),
        status: "201",
        parameter: "code",
        value: "$response.body#/code",
        to: &[
            ("PATCH", "/branches/{code}"),
            ("GET", "/branches/{code}/history"),
        ],
    },
    Follow {
        from: ("POST", "/sub-accounts"),
        status: "201",
        parameter: "account",
        value: "$response.body#/account",
        to: &[
            ("GET", "/sub-accounts/{account}/history"),
            ("PUT", "/sub-accounts/{account}/password"),
            ("PUT", "/sub-accounts/{account}/remark"),
            ("PUT", "/sub-accounts/{account}/rights"),
            ("DELETE", "/sub-accounts/{account}"),
        ],
    },
    Follow {
        from: ("POST", "/orders"),
        status: "201",
        parameter: "trade_no",
        value: "$response.body#/trade_no",
        to: &[("POST", "/orders/{trade_no}/abandon")],
    },
    Follow {
        from: ("POST", "/issuance/uploads"),
        status: "201",
        parameter: "upload_id",
        value: "$response.body#/upload_id",
        to: &[
            ("POST", "/issuance/uploads/{upload_id}/preview"),
            ("POST", "/issuance/uploads/{upload_id}/confirm"),
        ],
    },
    Follow {
        from: ("POST", "/issuance/uploads/{upload_id}/confirm"),
        status: "202",
        parameter: "batch_id",
        value: "$response.body#/batch_id",
        to: &[("GET", "/issuance/batches/{batch_id}")],
    },
    Follow {
        from: ("POST", "/exports"),
        status: "202",
        parameter: "export_id",
        value: "$response.body#/export_id",
        to: &[("GET", "/exports/{export_id}")],
    },
    Follow {
        from: ("POST", "/webhooks/ping"),
        status: "202",
        parameter: "delivery_id",
        value: "$response.body#/delivery_id",
        to: &[("POST", "/webhooks/deliveries/{delivery_id}/redeliver")],
    },
    Follow {
        from: ("POST", "/installment-orders"),
        status: "201",
        parameter: "trade_no",
        value: "$response.body#/trade_no",
        to: &[
            ("GET", "/installment-orders/{trade_no}"),
            ("GET", "/installment-orders/{trade_no}/history"),
            ("POST", "/installment-orders/{trade_no}/remarks"),
            ("POST", "/installment-orders/{trade_no}/return"),
        ],
    },
    Follow {
        from: ("PUT", "/operator/merchants/{merchant_id}"),
        status: "201",
        parameter: "merchant_id",
        value: "$request.path.merchant_id",
        to: &[
            ("PUT", "/operator/merchants/{merchant_id}/contract"),
            ("PUT", "/operator/merchants/{merchant_id}/rates"),
            (
                "PUT",
                "/operator/merchants/{merchant_id}/remittance-account",
            ),
        ],
    },
    Follow {
        from: ("PUT", "/operator/documents/{document_id}"),
        status: "200",
        parameter: "document_id",
        value: "$request.path.document_id",
        to: &[
            ("PUT", "/operator/documents/{document_id}/published"),
            ("DELETE", "/operator/documents/{document_id}"),
        ],
    },
];

/// The operation at (method, path), if the document has it.
fn operation_mut<'a>(
    document: &'a mut OpenApi,
    method: &str,
    path: &str,
) -> Option<&'a mut utoipa::openapi::path::Operation> {
    let item = document.paths.paths.get_mut(path)?;
    match method {
        "GET" => item.get.as_mut(),
        "POST" => item.post.as_mut(),
        "PUT" => item.put.as_mut(),
        "PATCH" => item.patch.as_mut(),
        "DELETE" => item.delete.as_mut(),
        _ => None,
    }
}

fn document_links(document: &mut OpenApi) {
    for follow in FOLLOWS {
        // As JSON: utoipa's `Link` writes `operation_id` where OpenAPI says `operationId`.
        let links: serde_json::Map<String, serde_json::Value> = follow
            .to
            .iter()
            .filter_map(|(method, path)| {
                let id = operation_mut(document, method, path)?
                    .operation_id
                    .clone()?;
                let link = serde_json::json!({
                    "operationId": id,
                    "parameters": { follow.parameter: follow.value },
                });
                Some((id, link))
            })
            .collect();
        let (method, path) = follow.from;
        let Some(producer) = operation_mut(document, method, path) else {
            continue;
        };
        if let Some(RefOr::T(response)) = producer.responses.responses.get_mut(follow.status) {
            response
                .extensions
                .get_or_insert_with(Default::default)
                .insert("links".to_owned(), serde_json::Value::Object(links));
        }
    }
}

/// Every operation a link of [`FOLLOWS`] names, with whether the document has it and the
/// status the producer answers with (a test requires each to exist).
pub fn missing_link_ends() -> Vec<String> {
    let mut document = document();
    let mut missing = Vec::new();
    for follow in FOLLOWS {
        let (method, path) = follow.from;
        let answers = operation_mut(&mut document, method, path)
            .is_some_and(|producer| producer.responses.responses.contains_key(follow.status));
        if !answers {
            missing.push(format!("{method} {path} answering {}", follow.status));
        }
        for (method, path) in follow.to {
            if operation_mut(&mut document, method, path).is_none() {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    missing
}

/// Every error code as an enum, so generated clients can match on them.
fn error_code_schema() -> RefOr<Schema> {
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|code| code.code()).collect();
    RefOr::T(Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(codes))
            .description(Some("A stable error code; see GET /error-codes."))
            .build(),
    ))
}

/// (METHOD, path) of every operation in the document.
pub fn operations(document: &OpenApi) -> Vec<(String, String)> {
    let mut operations = Vec::new();
    for (path, item) in &document.paths.paths {
        let methods = [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("PATCH", item.patch.is_some()),
            ("DELETE", item.delete.is_some()),
            ("HEAD", item.head.is_some()),
            ("OPTIONS", item.options.is_some()),
        ];
        for (method, present) in methods {
            if present {
                operations.push((method.to_owned(), path.clone()));
            }
        }
    }
    operations.sort();
    operations
}
