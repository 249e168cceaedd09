//! Authentication: bearer token → [`Actor`]. The same [`authenticate`] runs in the Lambda
//! authorizer (API Gateway) and in the local gateway's middleware; both hand the result to
//! the functions the same way, as the authorizer context of the request (`actor`, JSON).

use crate::problem::Problem;
use crate::session::{verify, SigningKey};
use crate::store::Table;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayV2httpRequestContext,
};
use lambda_http::request::RequestContext;
use std::collections::HashMap;
use std::sync::Arc;
use tessera_domain::access::Actor;
use tessera_domain::clock::Clock;
use tessera_domain::values::{AccountName, BranchCode, MerchantId};
use tessera_domain::{Error, ErrorCode};

/// The authorizer context key under which the actor travels.
pub const ACTOR_CONTEXT_KEY: &str = "actor";
pub const SESSION_CONTEXT_KEY: &str = "session_id";
pub const ERROR_CONTEXT_KEY: &str = "error";

#[derive(Clone)]
pub struct Authenticator {
    pub table: Table,
    pub key: SigningKey,
    pub clock: Arc<dyn Clock>,
}

/// The bearer token of an `Authorization` header, if any.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl Authenticator {
    /// Verifies the token, then checks the session still exists and reloads the account and
    /// merchant, so sign-out, deletion and changed rights or bindings apply at once.
    pub async fn authenticate(&self, token: &str) -> Result<(Actor, String), Error> {
        let now = self.clock.now();
        let claims = verify(token, &self.key, now)?;
        let expired = || Error::new(ErrorCode::SessionExpired);
        // Every key follows from the token: one batched read instead of three in a row.
        let (Ok(merchant_id), Ok(account_name)) = (
            MerchantId::parse("mid", &claims.mid),
            AccountName::parse_login("sub", &claims.sub),
        ) else {
            return Err(expired());
        };
        let token_branch = claims
            .br
            .as_deref()
            .and_then(|b| BranchCode::parse("br", b).ok());
        let facts = self
            .table
            .session_facts(
                &claims.sid,
                &merchant_id,
                &account_name,
                token_branch.as_ref(),
            )
            .await?;
        let session = facts.session.ok_or_else(expired)?;
        if session.expires <= now
            || session.merchant_id != merchant_id
            || session.account != account_name
        {
            return Err(expired());
        }
        let account = facts
            .account
            .filter(|a| a.deleted_at.is_none())
            .ok_or_else(expired)?;
        let merchant = facts.merchant.ok_or_else(expired)?;
        let branch_enabled = match &account.branch {
            // Bound to the branch the token names (the usual case): already read.
            Some(code) if token_branch.as_ref() == Some(code) => {
                facts.branch.is_some_and(|branch| branch.enabled)
            }
            // Re-bound since sign-in: read the branch it is bound to now.
            Some(code) => self
                .table
                .get_branch(&session.merchant_id, code)
                .await?
                .is_some_and(|branch| branch.enabled),
            None => true,
        };
        let actor = Actor {
            merchant: session.merchant_id,
            account: session.account,
            role: account.role,
            rights: account.rights,
            acting_as: session.acting_as,
            children: merchant.children,
            branch: account.branch,
            branch_enabled,
        };
        Ok((actor, claims.sid))
    }
}

/// The authorizer context for a request: the actor and session on success, else the error
/// code. The request always reaches the function, which answers a failure as problem+json
/// (API Gateway's own 401/403 bodies would not be); see docs/decisions/0004-auth.md.
pub type AuthorizerFields = HashMap<String, serde_json::Value>;

impl Authenticator {
    pub async fn authorize_request(&self, headers: &HeaderMap) -> AuthorizerFields {
        let outcome = match bearer_token(headers) {
            None => Err(Error::new(ErrorCode::Unauthenticated)),
            Some(token) => self.authenticate(token).await,
        };
        let mut fields = AuthorizerFields::new();
        match outcome {
            Ok((actor, session_id)) => {
                let actor_json = serde_json::to_string(&actor).unwrap_or_default();
                fields.insert(
                    ACTOR_CONTEXT_KEY.to_owned(),
                    serde_json::Value::String(actor_json),
                );
                fields.insert(
                    SESSION_CONTEXT_KEY.to_owned(),
                    serde_json::Value::String(session_id),
                );
            }
            Err(error) => {
                fields.insert(
                    ERROR_CONTEXT_KEY.to_owned(),
                    serde_json::Value::String(error.code.code().to_owned()),
                );
            }
        }
        fields
    }
}

/// The request context API Gateway gives a function behind a Lambda authorizer.
pub fn request_context(fields: AuthorizerFields) -> RequestContext {
    let mut authorizer = ApiGatewayRequestAuthorizer::default();
    authorizer.fields = fields;
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.authorizer = Some(authorizer);
    RequestContext::ApiGatewayV2(context)
}

/// The signed-in caller of a protected route, as the authorizer established it.
#[derive(Debug, Clone)]
pub struct CurrentActor {
    pub actor: Actor,
    pub session_id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentActor {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let fields = match parts.extensions.get::<RequestContext>() {
            Some(RequestContext::ApiGatewayV2(context)) => {
                context.authorizer.as_ref().map(|a| &a.fields)
            }
            _ => None,
        };
        let field = |name: &str| fields.and_then(|f| f.get(name)).and_then(|v| v.as_str());
        if let Some(code) = field(ERROR_CONTEXT_KEY) {
            return Err(Problem::new(
                ErrorCode::parse(code).unwrap_or(ErrorCode::Unauthenticated),
            ));
        }
        let actor = field(ACTOR_CONTEXT_KEY)
            .and_then(|json| serde_json::from_str::<Actor>(json).ok())
            .ok_or_else(|| Problem::new(ErrorCode::Unauthenticated))?;
        let session_id = field(SESSION_CONTEXT_KEY).unwrap_or_default().to_owned();
        tracing::Span::current().record("merchant", actor.acting_as.as_str());
        Ok(CurrentActor { actor, session_id })
    }
}

/// A short fingerprint of the browser/device, from its user agent, for "new device" alerts.
/// Hashed so the stored value says nothing about the person.
pub fn device_fingerprint(user_agent: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(user_agent.trim().as_bytes());
    digest
        .iter()
        .take(12)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
