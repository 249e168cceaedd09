//! The HTTP API's Lambda authorizer (payload 2.0, simple responses). It runs the same
//! `TokenVerifier::authorize_request` as the local gateway and always authorizes: the
//! context carries the verified session claims or the error code; the function loads the
//! caller from them and answers any failure as problem+json. It reads nothing stored.

use aws_lambda_events::event::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use tessera_platform::auth::TokenVerifier;

/// The stack's resources this function is given besides the table (its template
/// environment names exactly these; `tessera-dev` checks both agree).
pub const NEEDS: &[tessera_platform::services::Resource] =
    &[tessera_platform::services::Resource::SigningKey];

pub async fn handle(
    verifier: &TokenVerifier,
    request: ApiGatewayV2CustomAuthorizerV2Request,
) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let fields = verifier.authorize_request(&request.headers).await;
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    response.is_authorized = true;
    response.context = serde_json::Value::Object(fields.into_iter().collect());
    response
}
