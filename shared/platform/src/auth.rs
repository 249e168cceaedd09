//! Authentication: bearer token → [`Actor`], in two steps. The authorizer (the Lambda
//! authorizer behind API Gateway, and the local gateway's middleware, running the same
//! [`TokenVerifier::authorize_request`]) verifies the token and hands its claims to the
//! function in the authorizer context; the function loads the caller as they stand now
//! ([`load_actor`]), concurrently with its own first read where it has one.

use crate::problem::Problem;
use crate::services::Services;
use crate::session::{SessionClaims, SigningKeys};
use crate::store::Table;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use chrono::{DateTime, Utc};
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

/// The authorizer context key under which the verified session claims travel.
pub const CLAIMS_CONTEXT_KEY: &str = "session";
pub const ERROR_CONTEXT_KEY: &str = "error";

#[derive(Clone)]
pub struct Authenticator {
    pub table: Table,
    pub keys: SigningKeys,
    pub clock: Arc<dyn Clock>,
}

/// The bearer token of an `Authorization` header, if any.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl Authenticator {
    /// Verifies the token and loads the caller as they stand now: what the authorizer and
    /// the function do between them for one request.
    pub async fn authenticate(&self, token: &str) -> Result<(Actor, String), Error> {
        let now = self.clock.now();
        let claims = self.keys.verify(token, now).await?;
        let actor = load_actor(&self.table, now, &claims).await?;
        Ok((actor, claims.sid))
    }

    /// The authorizer's verdict on a request (see [`TokenVerifier::authorize_request`]).
    pub async fn authorize_request(&self, headers: &HeaderMap) -> AuthorizerFields {
        self.verifier().authorize_request(headers).await
    }

    /// The part that verifies tokens and reads nothing stored: all the authorizer needs.
    pub fn verifier(&self) -> TokenVerifier {
        TokenVerifier {
            keys: self.keys.clone(),
            clock: self.clock.clone(),
        }
    }
}

/// Verifies session tokens; reads nothing stored, so the authorizer builds no table client.
#[derive(Clone)]
pub struct TokenVerifier {
    pub keys: SigningKeys,
    pub clock: Arc<dyn Clock>,
}

impl TokenVerifier {
    /// The authorizer's verdict on a request: the token's signature and expiry, nothing
    /// stored. Its claims, or the error code, go into the authorizer context; the function
    /// then loads the caller (`SignedIn::actor`), so sign-out, deletion and changed rights
    /// or bindings apply to the very next request. See docs/decisions/0004-auth.md.
    pub async fn authorize_request(&self, headers: &HeaderMap) -> AuthorizerFields {
        let outcome = match bearer_token(headers) {
            None => Err(Error::new(ErrorCode::Unauthenticated)),
            Some(token) => self.keys.verify(token, self.clock.now()).await,
        };
        let mut fields = AuthorizerFields::new();
        match outcome.and_then(|claims| {
            serde_json::to_string(&claims)
                .map_err(|e| Error::new(ErrorCode::InternalError).with_detail(e.to_string()))
        }) {
            Ok(claims_json) => {
                fields.insert(
                    CLAIMS_CONTEXT_KEY.to_owned(),
                    serde_json::Value::String(claims_json),
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

/// The caller named by verified claims, as they stand at `now`: the session still exists
/// and has not expired, the account is not deleted (its rights and branch as stored now),
/// the merchant's children as stored now, and whether the bound branch is enabled.
pub async fn load_actor(
    table: &Table,
    now: DateTime<Utc>,
    claims: &SessionClaims,
) -> Result<Actor, Error> {
    if claims.op {
        return Err(Error::new(ErrorCode::Unauthenticated)
            .with_detail("an operator's session cannot act for a merchant"));
    }
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
    let facts = table
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
        Some(code) => table
            .get_branch(&session.merchant_id, code)
            .await?
            .is_some_and(|branch| branch.enabled),
        None => true,
    };
    Ok(Actor {
        merchant: session.merchant_id,
        account: session.account,
        role: account.role,
        rights: account.rights,
        acting_as: session.acting_as,
        children: merchant.children,
        branch: account.branch,
        branch_enabled,
    })
}

/// The authorizer context for a request: the verified session claims on success, else the
/// error code. The request always reaches the function, which answers a failure as
/// problem+json (API Gateway's own 401/403 bodies would not be).
pub type AuthorizerFields = HashMap<String, serde_json::Value>;

/// The request context API Gateway gives a function behind a Lambda authorizer.
pub fn request_context(fields: AuthorizerFields) -> RequestContext {
    let mut authorizer = ApiGatewayRequestAuthorizer::default();
    authorizer.fields = fields;
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.authorizer = Some(authorizer);
    RequestContext::ApiGatewayV2(context)
}

/// A request whose token the authorizer verified: who it claims to be, not yet checked
/// against what is stored. Handlers that can read something else meanwhile take this and
/// load the caller alongside (`actor`); the rest take [`CurrentActor`].
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub claims: SessionClaims,
}

impl SignedIn {
    /// The caller as they stand now (see [`load_actor`]).
    pub async fn actor(&self, services: &Services) -> Result<CurrentActor, Error> {
        let actor = load_actor(&services.table, services.clock.now(), &self.claims).await?;
        tracing::Span::current().record("merchant", actor.acting_as.as_str());
        Ok(CurrentActor {
            actor,
            session_id: self.claims.sid.clone(),
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let fields = authorizer_fields(&parts.extensions);
        let field = |name: &str| fields.and_then(|f| f.get(name)).and_then(|v| v.as_str());
        if let Some(code) = field(ERROR_CONTEXT_KEY) {
            return Err(Problem::new(
                ErrorCode::parse(code).unwrap_or(ErrorCode::Unauthenticated),
            ));
        }
        let claims = field(CLAIMS_CONTEXT_KEY)
            .and_then(|json| serde_json::from_str::<SessionClaims>(json).ok())
            .ok_or_else(|| Problem::new(ErrorCode::Unauthenticated))?;
        Ok(SignedIn { claims })
    }
}

/// What the authorizer put into the request's context, if it ran.
fn authorizer_fields(extensions: &http::Extensions) -> Option<&AuthorizerFields> {
    match extensions.get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            context.authorizer.as_ref().map(|a| &a.fields)
        }
        _ => None,
    }
}

/// The verified claims the authorizer passed, if the request carries any (layers in front
/// of the handlers read them; handlers take [`SignedIn`]).
pub fn claims_of(extensions: &http::Extensions) -> Option<SessionClaims> {
    authorizer_fields(extensions)?
        .get(CLAIMS_CONTEXT_KEY)?
        .as_str()
        .and_then(|json| serde_json::from_str(json).ok())
}

/// The signed-in caller of a protected route, as they stand now: the authorizer verified
/// the token, and the session, account and merchant were read for this request.
#[derive(Debug, Clone)]
pub struct CurrentActor {
    pub actor: Actor,
    pub session_id: String,
}

impl FromRequestParts<Services> for CurrentActor {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        services: &Services,
    ) -> Result<Self, Self::Rejection> {
        let signed_in = SignedIn::from_request_parts(parts, services).await?;
        signed_in.actor(services).await.map_err(Problem)
    }
}

/// A short fingerprint of the browser/device, from its user agent, for "new device" alerts.
/// Hashed so the stored value says nothing about the person.
/// Sign-in attempts one source address may make in a minute (merchants' and operators'
/// alike): far above a shop's morning, far below a guessing run (decision 0016).
pub const SIGN_INS_PER_MINUTE: u64 = 20;

/// Counts a sign-in attempt against its source address's minute; refuses past the limit
/// (429, before any account is looked at). A request with no address at all (only the
/// in-process local gateway makes those: API Gateway always gives one) is not counted.
pub async fn limit_sign_ins(
    table: &crate::store::Table,
    source: &crate::extract::ClientAddress,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), tessera_domain::Error> {
    if !source.is_known() {
        return Ok(());
    }
    let count = table.count_request("sign-in", &source.0, now).await?;
    if count > SIGN_INS_PER_MINUTE {
        tracing::warn!(operation = "sign_in", count, "sign-in rate limit met");
        return Err(
            tessera_domain::Error::new(tessera_domain::ErrorCode::TooManyRequests).with_detail(
                format!("at most {SIGN_INS_PER_MINUTE} sign-in attempts a minute from one address"),
            ),
        );
    }
    Ok(())
}

pub fn device_fingerprint(user_agent: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(user_agent.trim().as_bytes());
    tessera_domain::values::hex(&digest[..12])
}
