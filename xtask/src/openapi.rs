//! The OpenAPI 3.1 document of the whole HTTP API, generated from the functions' code.

use crate::functions::http_functions;
use tessera_domain::ErrorCode;
use tessera_platform::problem::{ProblemDetails, ProblemViolation};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder, RefOr};
use utoipa::PartialSchema;

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
    for function in http_functions() {
        let (_, api) = function.routes.split_for_parts();
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
