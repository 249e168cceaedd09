//! The platform operator's API (§1, §9; docs/decisions/0012): a principal of its own with
//! its own sign-in and rights, never a merchant account. It creates merchants and their
//! admin accounts, links parents and children, sets contracts and fee rates, marks bills
//! paid, clears a block a store set on an issuer, and reads the scheduled jobs' runs. Every
//! action is committed through the change engine with its audit entry (who, when, what
//! changed). A merchant's token is refused on every route here (OPERATOR_ONLY), and an
//! operator's on every merchant route.

mod print_run;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::str::FromStr;
use tessera_domain::access::{Access, Rights, Role};
use tessera_domain::billing::RemittanceAccount;
use tessera_domain::merchant::{
    Contract, DeliveryMethod, FeeBasis, FeeItem, FeeRate, RedemptionMode,
};
use tessera_domain::operator::{
    check_announcement, check_document, check_parent_link, Audience, OperatorArea, OperatorRights,
};
use tessera_domain::relations::operator_clears_block;
use tessera_domain::values::{AccountName, MerchantId, NewPassword};
use tessera_domain::{Error, ErrorCode};
use tessera_platform::auth::{limit_sign_ins, SignedIn};
use tessera_platform::change::{Changes, Decision};
use tessera_platform::extract::ClientAddress;
use tessera_platform::services::{Resource, Services};
use tessera_platform::session::{sign, SessionClaims};
use tessera_platform::store::accounts::{
    account_write, merchant_write, AccountRecord, MerchantRecord,
};
use tessera_platform::store::announcements::AnnouncementRecord;
use tessera_platform::store::billing::{bill_write, remittance_write};
use tessera_platform::store::documents::DocumentRecord;
use tessera_platform::store::history::HistoryEntry;
use tessera_platform::store::jobs::JobRun;
use tessera_platform::store::object_keys;
use tessera_platform::store::operators::{OperatorAuditEntry, OperatorSession};
use tessera_platform::store::relations::change_relation;
use tessera_platform::store::sessions::SignInAttempt;
use tessera_platform::store::settings::{contract_write, rate_write};
use tessera_platform::store::Expect;
use tessera_platform::{password, ApiJson, ApiQuery, Problem, ProblemDetails};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The signing key (the sign-in signs its token) and the assets bucket (the documents'
/// files).
pub const NEEDS: &[Resource] = &[Resource::SigningKey, Resource::Assets];

/// What an operator token names instead of a merchant (no merchant ID has a `~`).
pub const OPERATOR_PRINCIPAL: &str = "~operator";

const PROBLEM: &str = "application/problem+json";

/// The signed-in operator of an operator route, as stored now: the session still exists
/// and has not expired, the account exists, its rights as stored now.
#[derive(Debug, Clone)]
pub struct CurrentOperator {
    pub account: AccountName,
    pub rights: OperatorRights,
    pub session_id: String,
}

impl CurrentOperator {
    fn may(&self, area: OperatorArea, access: Access) -> Result<(), Problem> {
        self.rights.check(area, access).map_err(Problem)
    }

    fn audit(
        &self,
        at: DateTime<Utc>,
        action: &str,
        target: String,
        changes: serde_json::Value,
    ) -> OperatorAuditEntry {
        OperatorAuditEntry {
            id: uuid::Uuid::new_v4().simple().to_string(),
            at,
            account: self.account.clone(),
            action: action.to_owned(),
            target,
            changes,
        }
    }
}

impl FromRequestParts<Services> for CurrentOperator {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        services: &Services,
    ) -> Result<Self, Self::Rejection> {
        let signed_in = SignedIn::from_request_parts(parts, services).await?;
        let claims = &signed_in.claims;
        if !claims.op {
            return Err(Problem::new(ErrorCode::OperatorOnly));
        }
        let expired = || Problem::new(ErrorCode::SessionExpired);
        let account = AccountName::parse_login("sub", &claims.sub).map_err(|_| expired())?;
        let table = &services.table;
        let (session, operator) = tokio::try_join!(
            table.get_operator_session(&claims.sid),
            table.get_operator(&account)
        )?;
        let now = services.clock.now();
        session
            .filter(|s| s.account == account && s.expires > now)
            .ok_or_else(expired)?;
        let operator = operator.ok_or_else(expired)?;
        tracing::Span::current().record("merchant", OPERATOR_PRINCIPAL);
        Ok(CurrentOperator {
            account,
            rights: operator.rights,
            session_id: claims.sid.clone(),
        })
    }
}

fn merchant_id(field: &str, value: &str) -> Result<MerchantId, Problem> {
    MerchantId::parse(field, value).map_err(Problem)
}

// ------------------------------------------------------------------ sessions

#[derive(Debug, Deserialize, ToSchema)]
pub struct OperatorSignIn {
    /// The operator account.
    #[schema(value_type = tessera_platform::formats::LoginNameText)]
    pub account: String,
    #[schema(format = Password, min_length = 1, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OperatorSessionView {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub account: String,
    /// Area (`merchants`, `billing`, `relations`, `jobs`) → `query` or `modify`.
    #[schema(value_type = BTreeMap<String, String>)]
    pub rights: BTreeMap<String, String>,
}

/// Sign in as the platform operator. Five failures in 15 minutes lock the account for 15
/// minutes, as merchants' accounts are.
#[utoipa::path(post, path = "/operator/sessions", tag = "operator", request_body = OperatorSignIn,
    responses(
        (status = 201, description = "Signed in", body = OperatorSessionView),
        (status = 400, description = "VALIDATION_FAILED: account, password", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "INVALID_CREDENTIALS", body = ProblemDetails, content_type = PROBLEM),
        (status = 423, description = "ACCOUNT_LOCKED", body = ProblemDetails, content_type = PROBLEM),
        (status = 429, description = "TOO_MANY_REQUESTS: more than 20 sign-in attempts a minute from one address (Retry-After)", body = ProblemDetails, content_type = PROBLEM)))]
async fn sign_in(
    State(services): State<Services>,
    source: ClientAddress,
    ApiJson(request): ApiJson<OperatorSignIn>,
) -> Result<(StatusCode, Json<OperatorSessionView>), Problem> {
    let account = AccountName::parse_login("account", &request.account)?;
    if request.password.is_empty() || request.password.len() > 128 {
        return Err(Error::invalid_field("password", "1 to 128 characters").into());
    }
    let table = &services.table;
    let now = services.clock.now();
    limit_sign_ins(table, &source, now).await?;
    let locked = |until: DateTime<Utc>| {
        Problem(
            Error::new(ErrorCode::AccountLocked)
                .with_detail(format!("locked until {}", until.to_rfc3339())),
        )
    };
    // Read before the attempt is reserved, so a storage failure counts nothing toward the
    // lock; reserved before the password is checked, so parallel guesses cannot pass it.
    let operator = table.get_operator(&account).await?;
    let locked_if_wrong = match table.reserve_operator_sign_in(&account, now).await? {
        SignInAttempt::Locked { until } => return Err(locked(until)),
        SignInAttempt::Reserved { locked_if_wrong } => locked_if_wrong,
    };
    // Verify against a decoy when the account is unknown, so timing does not tell.
    let stored = operator.as_ref().map(|o| o.password_hash.clone());
    let candidate = request.password.clone();
    let matches = tokio::task::spawn_blocking(move || {
        password::verify(
            &candidate,
            stored.as_deref().unwrap_or(password::decoy_hash()),
        )
    })
    .await
    .map_err(|e| Problem::internal(&e))?;
    let (Some(operator), true) = (operator, matches) else {
        tracing::warn!(operation = "operator_sign_in", "operator sign-in failed");
        return Err(match locked_if_wrong {
            Some(until) => locked(until),
            None => Problem::new(ErrorCode::InvalidCredentials),
        });
    };
    table.clear_operator_failed_sign_ins(&account).await?;
    let session = OperatorSession {
        session_id: uuid::Uuid::new_v4().simple().to_string(),
        account: account.clone(),
        created_at: now,
        expires: now + services.session_lifetime,
    };
    table.put_operator_session(&session).await?;
    let claims = SessionClaims {
        sid: session.session_id.clone(),
        mid: OPERATOR_PRINCIPAL.to_owned(),
        sub: account.to_string(),
        act: OPERATOR_PRINCIPAL.to_owned(),
        br: None,
        op: true,
        iat: now.timestamp(),
        exp: session.expires.timestamp(),
    };
    let key = services.signing_keys()?.current().await?;
    tracing::info!(operation = "operator_sign_in", "operator signed in");
    Ok((
        StatusCode::CREATED,
        Json(OperatorSessionView {
            token: sign(&claims, &key),
            expires_at: session.expires,
            account: account.to_string(),
            rights: operator
                .rights
                .0
                .iter()
                .map(|(area, access)| {
                    let access = match access {
                        Access::Query => "query",
                        Access::Modify => "modify",
                    };
                    (area.name().to_owned(), access.to_owned())
                })
                .collect(),
        }),
    ))
}

/// Sign out: the operator's session ends now.
#[utoipa::path(delete, path = "/operator/sessions/current", tag = "operator", security(("bearer" = [])),
    responses((status = 204, description = "Signed out"),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY", body = ProblemDetails, content_type = PROBLEM)))]
async fn sign_out(
    State(services): State<Services>,
    operator: CurrentOperator,
) -> Result<StatusCode, Problem> {
    services
        .table
        .delete_operator_session(&operator.session_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------ jobs and audit

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobRunsQuery {
    /// The job: `ticket_steps`, `daily_fees` or `unissued_orders`.
    #[param(pattern = "^(ticket_steps|daily_fees|unissued_orders)$")]
    pub job: String,
    /// How many of the latest runs (1–100, default 30).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobRunView {
    pub job: String,
    pub day: NaiveDate,
    /// `running`, `finished` or `failed`.
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub invocations: u64,
    pub done: u64,
    /// The last invocation's summary (JSON).
    pub result: Option<String>,
    pub last_error: Option<String>,
}

impl From<JobRun> for JobRunView {
    fn from(run: JobRun) -> Self {
        JobRunView {
            status: serde_json::to_value(run.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            job: run.job,
            day: run.day,
            started_at: run.started_at,
            updated_at: run.updated_at,
            finished_at: run.finished_at,
            invocations: run.invocations,
            done: run.done,
            result: run.result,
            last_error: run.last_error,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobRunList {
    pub items: Vec<JobRunView>,
}

/// A scheduled job's latest runs, newest first: status, invocations (first, retries,
/// continuations), items done, last result and last error.
#[utoipa::path(get, path = "/operator/job-runs", tag = "operator", security(("bearer" = [])),
    params(JobRunsQuery),
    responses((status = 200, body = JobRunList),
        (status = 400, description = "VALIDATION_FAILED: job, limit", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY; RIGHT_MISSING: jobs (query)", body = ProblemDetails, content_type = PROBLEM)))]
async fn job_runs(
    State(services): State<Services>,
    operator: CurrentOperator,
    ApiQuery(query): ApiQuery<JobRunsQuery>,
) -> Result<Json<JobRunList>, Problem> {
    operator.may(OperatorArea::Jobs, Access::Query)?;
    if !["ticket_steps", "daily_fees", "unissued_orders"].contains(&query.job.as_str()) {
        return Err(
            Error::invalid_field("job", "ticket_steps, daily_fees or unissued_orders").into(),
        );
    }
    let limit = query.limit.unwrap_or(30);
    if !(1..=100).contains(&limit) {
        return Err(Error::invalid_field("limit", "1 to 100").into());
    }
    let runs = services.table.latest_job_runs(&query.job, limit).await?;
    Ok(Json(JobRunList {
        items: runs.into_iter().map(JobRunView::from).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// How many of the latest actions (1–200, default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub at: DateTime<Utc>,
    pub account: String,
    pub action: String,
    pub target: String,
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditView>,
}

/// The operators' latest actions, newest first: who, when, what, on what, what changed.
#[utoipa::path(get, path = "/operator/audit", tag = "operator", security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, body = AuditList),
        (status = 400, description = "VALIDATION_FAILED: limit", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY", body = ProblemDetails, content_type = PROBLEM)))]
async fn audit(
    State(services): State<Services>,
    _operator: CurrentOperator,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditList>, Problem> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::invalid_field("limit", "1 to 200").into());
    }
    let entries = services.table.operator_audit(limit).await?;
    Ok(Json(AuditList {
        items: entries
            .into_iter()
            .map(|e| AuditView {
                at: e.at,
                account: e.account.to_string(),
                action: e.action,
                target: e.target,
                changes: e.changes,
            })
            .collect(),
    }))
}

// ------------------------------------------------------------------ merchants

#[derive(Debug, Deserialize, ToSchema)]
pub struct MerchantInput {
    /// The merchant's name as shown to other merchants (1–50 characters, no control
    /// characters).
    #[schema(
        pattern = "^(?=[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f])[^\\x00-\\x1f\\x7f-\\x9f]{1,50}$"
    )]
    pub name: String,
    /// The admin account's first password (6–20 characters, two of letters, digits and
    /// symbols); the admin account is `admin`.
    #[schema(value_type = tessera_platform::formats::AdminPasswordText)]
    pub admin_password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantView {
    pub merchant_id: String,
    pub name: String,
    pub parent: Option<String>,
    pub children: Vec<String>,
}

fn merchant_view(merchant: &MerchantRecord) -> MerchantView {
    MerchantView {
        merchant_id: merchant.merchant_id.to_string(),
        name: merchant.name.clone(),
        parent: merchant.parent.as_ref().map(ToString::to_string),
        children: merchant.children.iter().map(ToString::to_string).collect(),
    }
}

/// Create a merchant with its admin account (`admin`). Putting the same merchant again
/// answers it as it is (200, nothing changed); another name under the same ID is refused.
#[utoipa::path(put, path = "/operator/merchants/{merchant_id}", tag = "operator", security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The new merchant's ID (8 letters or digits)", pattern = "^[A-Za-z0-9]{8}$")),
    request_body = MerchantInput,
    responses((status = 201, description = "Created", body = MerchantView),
        (status = 200, description = "Exists already, as given", body = MerchantView),
        (status = 400, description = "VALIDATION_FAILED: merchant_id, name, admin_password", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY; RIGHT_MISSING: merchants (modify)", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "MERCHANT_EXISTS", body = ProblemDetails, content_type = PROBLEM)))]
async fn put_merchant(
    State(services): State<Services>,
    operator: CurrentOperator,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<MerchantInput>,
) -> Result<(StatusCode, Json<MerchantView>), Problem> {
    operator.may(OperatorArea::Merchants, Access::Modify)?;
    let id = merchant_id("merchant_id", &id)?;
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 50 || name.chars().any(char::is_control) {
        return Err(
            Error::invalid_field("name", "1 to 50 characters, no control characters").into(),
        );
    }
    let new_password = NewPassword::parse_admin("admin_password", &input.admin_password)?;
    if let Some(existing) = services.table.get_merchant(&id).await? {
        return if existing.name == name {
            Ok((StatusCode::OK, Json(merchant_view(&existing))))
        } else {
            Err(Problem::new(ErrorCode::MerchantExists))
        };
    }
    let hash = tokio::task::spawn_blocking(move || password::hash(&new_password))
        .await
        .map_err(|e| Problem::internal(&e))?
        .map_err(|e| Problem::internal(&e))?;
    let operator = &operator;
    let (id, name, hash) = (&id, &name, &hash);
    let merchant = services
        .engine()
        .run(None, 201, |now| async move {
            let merchant = MerchantRecord {
                merchant_id: id.clone(),
                name: name.clone(),
                parent: None,
                children: Vec::new(),
                issuer: Default::default(),
                version: 1,
            };
            let admin = AccountRecord {
                merchant_id: id.clone(),
                account: AccountName::parse_login("account", "admin")?,
                role: Role::Admin,
                password_hash: hash.clone(),
                rights: Rights::default(),
                remark: None,
                branch: None,
                created_at: now,
                deleted_at: None,
                version: 1,
            };
            let mut changes = Changes::new();
            changes.claim(
                merchant_write(&merchant, Expect::Absent)?,
                ErrorCode::MerchantExists,
            );
            changes.claim(
                account_write(&admin, Expect::Absent)?,
                ErrorCode::MerchantExists,
            );
            changes.history(
                &HistoryEntry::by_system(
                    id,
                    now,
                    "account",
                    "admin",
                    "created",
                    json!({"role": "admin", "by": "platform operator"}),
                ),
                1,
            )?;
            changes.write(
                operator
                    .audit(
                        now,
                        "merchant_created",
                        format!("merchant:{id}"),
                        json!({"name": name, "admin": "admin"}),
                    )
                    .write()?,
            );
            Ok(Decision::new(changes, merchant))
        })
        .await?;
    tracing::info!(merchant = %merchant.merchant_id, operation = "operator_create_merchant", "merchant created");
    Ok((StatusCode::CREATED, Json(merchant_view(&merchant))))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ParentInput {
    /// The parent merchant's ID, or null to unlink the merchant from its parent.
    #[schema(value_type = Option<tessera_platform::formats::MerchantIdText>)]
    pub parent_id: Option<String>,
}

/// Link a merchant under a parent (one level: a parent is no child, a child has one
/// parent), or unlink it (`parent_id` null). The parent then reads the child's reports
/// after switching into it.
#[utoipa::path(put, path = "/operator/merchants/{merchant_id}/parent", tag = "operator", security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The child merchant's ID", pattern = "^[A-Za-z0-9]{8}$")),
    request_body = ParentInput,
    responses((status = 200, description = "The child as linked", body = MerchantView),
        (status = 400, description = "VALIDATION_FAILED: merchant_id, parent_id", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY; RIGHT_MISSING: merchants (modify)", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "MERCHANT_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "PARENT_LINK_INVALID, CONCURRENT_CHANGE", body = ProblemDetails, content_type = PROBLEM)))]
async fn put_parent(
    State(services): State<Services>,
    operator: CurrentOperator,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ParentInput>,
) -> Result<Json<MerchantView>, Problem> {
    operator.may(OperatorArea::Merchants, Access::Modify)?;
    let child_id = merchant_id("merchant_id", &id)?;
    let parent_id = input
        .parent_id
        .as_deref()
        .map(|p| merchant_id("parent_id", p))
        .transpose()?;
    let table = &services.table;
    let (operator, child_id, parent_id) = (&operator, &child_id, &parent_id);
    let child = services
        .engine()
        .run(None, 200, |now| async move {
            let not_found = || Error::new(ErrorCode::MerchantNotFound);
            let mut child = table.get_merchant(child_id).await?.ok_or_else(not_found)?;
            let before = child.parent.clone();
            if before == *parent_id {
                return Ok(Decision::new(Changes::new(), child));
            }
            let mut changes = Changes::new();
            if let Some(parent_id) = parent_id {
                let mut parent = table.get_merchant(parent_id).await?.ok_or_else(not_found)?;
                check_parent_link(
                    child_id,
                    parent_id,
                    !child.children.is_empty(),
                    parent.parent.is_some(),
                    child.parent.as_ref(),
                )?;
                parent.children.push(child_id.clone());
                changes.update(&mut parent)?;
            }
            if let Some(old) = &before {
                if let Some(mut old_parent) = table.get_merchant(old).await? {
                    old_parent.children.retain(|c| c != child_id);
                    changes.update(&mut old_parent)?;
                }
            }
            child.parent = parent_id.clone();
            changes.update(&mut child)?;
            changes.write(
                operator
                    .audit(
                        now,
                        "parent_set",
                        format!("merchant:{child_id}"),
                        json!({"parent": {"before": before, "after": parent_id}}),
                    )
                    .write()?,
            );
            Ok(Decision::new(changes, child))
        })
        .await?;
    Ok(Json(merchant_view(&child)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ContractInput {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// The issuance service (ECT) opened for the merchant.
    pub issuance_enabled: bool,
    pub sms_contracted: bool,
    /// `redeem_after_use` or `installment`.
    #[schema(pattern = "^(redeem_after_use|installment)$")]
    pub redemption_mode: String,
    /// The delivery methods the merchant may use (at least one, each once):
    /// `ibon`, `paper_by_platform`, `paper_by_merchant`, `electronic_immediate`,
    /// `electronic_deferred`.
    #[schema(value_type = DeliveryMethodSet)]
    pub delivery_methods: Vec<String>,
}

fn parse_enum<T: serde::de::DeserializeOwned>(
    field: &str,
    value: &str,
    allowed: &str,
) -> Result<T, Error> {
    serde_json::from_value(serde_json::Value::String(value.to_owned()))
        .map_err(|_| Error::invalid_field(field, format!("one of {allowed}")))
}

/// Set a merchant's contract: its period, the issuance switch, SMS, the redemption mode
/// and the delivery methods. The whole contract is replaced.
#[utoipa::path(put, path = "/operator/merchants/{merchant_id}/contract", tag = "operator", security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The merchant's ID", pattern = "^[A-Za-z0-9]{8}$")),
    request_body = ContractInput,
    responses((status = 204, description = "Set"),
        (status = 400, description = "VALIDATION_FAILED: merchant_id, ends_on (not before starts_on), redemption_mode, delivery_methods", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY; RIGHT_MISSING: merchants (modify)", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "MERCHANT_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM)))]
async fn put_contract(
    State(services): State<Services>,
    operator: CurrentOperator,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ContractInput>,
) -> Result<StatusCode, Problem> {
    operator.may(OperatorArea::Merchants, Access::Modify)?;
    let id = merchant_id("merchant_id", &id)?;
    if input.ends_on < input.starts_on {
        return Err(Error::invalid_field("ends_on", "not before starts_on").into());
    }
    let redemption_mode: RedemptionMode = parse_enum(
        "redemption_mode",
        &input.redemption_mode,
        "redeem_after_use, installment",
    )?;
    let mut delivery_methods: Vec<DeliveryMethod> = Vec::new();
    for method in &input.delivery_methods {
        let method: DeliveryMethod = parse_enum(
            "delivery_methods",
            method,
            "ibon, paper_by_platform, paper_by_merchant, electronic_immediate, electronic_deferred",
        )?;
        if delivery_methods.contains(&method) {
            return Err(Error::invalid_field("delivery_methods", "each method once").into());
        }
        delivery_methods.push(method);
    }
    if delivery_methods.is_empty() {
        return Err(Error::invalid_field("delivery_methods", "at least one").into());
    }
    let contract = Contract {
        starts_on: input.starts_on,
        ends_on: input.ends_on,
        issuance_enabled: input.issuance_enabled,
        sms_contracted: input.sms_contracted,
        redemption_mode,
        delivery_methods,
    };
    let table = &services.table;
    let (operator, id, contract) = (&operator, &id, &contract);
    services
        .engine()
        .run(None, 204, |now| async move {
            table
                .get_merchant(id)
                .await?
                .ok_or_else(|| Error::new(ErrorCode::MerchantNotFound))?;
            let before = table.get_contract(id).await?;
            let mut changes = Changes::new();
            changes.write(contract_write(id, contract)?);
            changes.write(
                operator
                    .audit(
                        now,
                        "contract_set",
                        format!("merchant:{id}"),
                        json!({"before": before, "after": contract}),
                    )
                    .write()?,
            );
            Ok(Decision::new(changes, ()))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RateInput {
    /// `redeem_after_use` or `installment`.
    #[schema(pattern = "^(redeem_after_use|installment)$")]
    pub mode: String,
    /// `return_operation`, `sms`, `paper_printing` or `serial_processing`.
    #[schema(pattern = "^(return_operation|sms|paper_printing|serial_processing)$")]
    pub item: String,
    /// `per_unit` (NT$ incl. tax) or `percent` (of the face value concerned).
    #[schema(pattern = "^(per_unit|percent)$")]
    pub basis: String,
    /// The rate incl. tax, at most two decimals: 0 or more (a percentage at most 100).
    #[schema(pattern = "^[0-9]{1,6}(\\.[0-9]{1,2})?$")]
    pub amount: String,
    /// From when the rate is in force (a day billed with the day's latest rate).
    pub effective_from: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RateView {
    pub mode: String,
    pub item: String,
    pub basis: String,
    pub amount: String,
    pub effective_from: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RateList {
    pub items: Vec<RateView>,
}

fn name_of<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Set a fee rate from an instant on (earlier rates stay, for the days they were in force).
/// The same mode, item and instant again replaces that rate. Answers every rate of the
/// merchant.
#[utoipa::path(put, path = "/operator/merchants/{merchant_id}/rates", tag = "operator", security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The merchant's ID", pattern = "^[A-Za-z0-9]{8}$")),
    request_body = RateInput,
    responses((status = 200, description = "The merchant's rates", body = RateList),
        (status = 400, description = "VALIDATION_FAILED: merchant_id, mode, item, basis, amount", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY; RIGHT_MISSING: merchants (modify)", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "MERCHANT_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM)))]
async fn put_rate(
    State(services): State<Services>,
    operator: CurrentOperator,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RateInput>,
) -> Result<Json<RateList>, Problem> {
    operator.may(OperatorArea::Merchants, Access::Modify)?;
    let id = merchant_id("merchant_id", &id)?;
    let mode: RedemptionMode = parse_enum("mode", &input.mode, "redeem_after_use, installment")?;
    let item: FeeItem = parse_enum(
        "item",
        &input.item,
        "return_operation, sms, paper_printing, serial_processing",
    )?;
    let basis: FeeBasis = parse_enum("basis", &input.basis, "per_unit, percent")?;
    let amount = Decimal::from_str(input.amount.trim())
        .ok()
        .filter(|a| !a.is_sign_negative() && a.scale() <= 2)
        .filter(|a| basis != FeeBasis::Percent || *a <= Decimal::ONE_HUNDRED)
        .ok_or_else(|| {
            Error::invalid_field(
                "amount",
                "0 or more with at most two decimals; a percentage at most 100",
            )
        })?;
    let rate = FeeRate {
        mode,
        item,
        basis,
        amount,
        effective_from: input.effective_from,
    };
    let table = &services.table;
    let (operator, id, rate) = (&operator, &id, &rate);
    services
        .engine()
        .run(None, 200, |now| async move {
            table
                .get_merchant(id)
                .await?
                .ok_or_else(|| Error::new(ErrorCode::MerchantNotFound))?;
            let mut changes = Changes::new();
            changes.write(rate_write(id, rate)?);
            changes.write(
                operator
                    .audit(
                        now,
                        "rate_set",
                        format!("merchant:{id}"),
                        json!({"rate": rate}),
                    )
                    .write()?,
            );
            Ok(Decision::new(changes, ()))
        })
        .await?;
    let rates = table.list_rates(id).await?;
    Ok(Json(RateList {
        items: rates
            .iter()
            .map(|r| RateView {
                mode: name_of(&r.mode),
                item: name_of(&r.item),
                basis: name_of(&r.basis),
                amount: r.amount.to_string(),
                effective_from: r.effective_from,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RemittanceInput {
    #[schema(pattern = "^[0-9]{3}$")]
    pub bank_code: String,
    #[schema(min_length = 1, max_length = 50)]
    pub bank_name: String,
    #[schema(pattern = "^[0-9]{10,16}$")]
    pub account_no: String,
    #[schema(min_length = 1, max_length = 50)]
    pub account_name: String,
}

/// Set where a merchant remits its bills (shown on its unpaid bills, §6-1).
#[utoipa::path(put, path = "/operator/merchants/{merchant_id}/remittance-account", tag = "operator", security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The merchant's ID", pattern = "^[A-Za-z0-9]{8}$")),
    request_body = RemittanceInput,
    responses((status = 204, description = "Set"),
        (status = 400, description = "VALIDATION_FAILED: merchant_id, bank_code, bank_name, account_no, account_name", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY; RIGHT_MISSING: billing (modify)", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "MERCHANT_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM)))]
async fn put_remittance(
    State(services): State<Services>,
    operator: CurrentOperator,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RemittanceInput>,
) -> Result<StatusCode, Problem> {
    operator.may(OperatorArea::Billing, Access::Modify)?;
    let id = merchant_id("merchant_id", &id)?;
    let account = RemittanceAccount::parse(
        &input.bank_code,
        &input.bank_name,
        &input.account_no,
        &input.account_name,
    )?;
    let table = &services.table;
    let (operator, id, account) = (&operator, &id, &account);
    services
        .engine()
        .run(None, 204, |now| async move {
            table
                .get_merchant(id)
                .await?
                .ok_or_else(|| Error::new(ErrorCode::MerchantNotFound))?;
            let before = table.get_remittance(id).await?;
            let mut changes = Changes::new();
            if before.as_ref() != Some(account) {
                changes.write(remittance_write(id, account)?);
                changes.write(
                    operator
                        .audit(
                            now,
                            "remittance_account_set",
                            format!("merchant:{id}"),
                            json!({"before": before, "after": account}),
                        )
                        .write()?,
                );
            }
            Ok(Decision::new(changes, ()))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------ bills and relations

#[derive(Debug, Serialize, ToSchema)]
pub struct PaidBillView {
    pub merchant_id: String,
    pub month: String,
    pub total: String,
    pub paid: bool,
}

/// Record a merchant's bill as paid (on receiving the remittance). Marking a paid bill
/// again answers it unchanged.
#[utoipa::path(put, path = "/operator/merchants/{merchant_id}/bills/{month}/paid", tag = "operator", security(("bearer" = [])),
    params(("merchant_id" = String, Path, description = "The merchant's ID", pattern = "^[A-Za-z0-9]{8}$"),
        ("month" = String, Path, description = "The bill's month, YYYY-MM", pattern = "^[1-9][0-9]{3}-(0[1-9]|1[0-2])$")),
    responses((status = 200, body = PaidBillView),
        (status = 400, description = "VALIDATION_FAILED: merchant_id, month", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY; RIGHT_MISSING: billing (modify)", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "BILL_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM)))]
async fn mark_paid(
    State(services): State<Services>,
    operator: CurrentOperator,
    Path((id, month)): Path<(String, String)>,
) -> Result<Json<PaidBillView>, Problem> {
    operator.may(OperatorArea::Billing, Access::Modify)?;
    let id = merchant_id("merchant_id", &id)?;
    let valid_month =
        month.len() == 7 && NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_ok();
    if !valid_month {
        return Err(Error::invalid_field("month", "YYYY-MM").into());
    }
    let table = &services.table;
    let (operator, id, month) = (&operator, &id, &month);
    let bill = services.engine()
        .run(None, 200, |now| async move {
            let mut bill = table
                .list_bills(id)
                .await?
                .into_iter()
                .find(|b| &b.month == month)
                .ok_or_else(|| Error::new(ErrorCode::BillNotFound))?;
            if bill.paid {
                return Ok(Decision::new(Changes::new(), bill));
            }
            bill.paid = true;
            let mut changes = Changes::new();
            changes.write(bill_write(id, &bill, Expect::Present)?);
            changes.write(
                operator
                    .audit(now, "bill_paid", format!("bill:{id}:{month}"), json!({"paid": {"before": false, "after": true}, "total": bill.total.to_string()}))
                    .write()?,
            );
            Ok(Decision::new(changes, bill))
        })
        .await?;
    Ok(Json(PaidBillView {
        merchant_id: id.to_string(),
        month: bill.month,
        total: bill.total.to_string(),
        paid: bill.paid,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RelationStatusView {
    pub issuer: String,
    pub store: String,
    /// `open`, `unlinked_by_issuer` or `unlinked_by_store`.
    pub status: String,
}

/// Clear the block a store set by unlinking an issuer (the store agreed): the relation
/// becomes unlinked by the issuer, which may then re-open it (granting products again one
/// by one). A relation with no block is answered as it is.
#[utoipa::path(put, path = "/operator/relations/{issuer_id}/{store_id}/block-cleared", tag = "operator", security(("bearer" = [])),
    params(("issuer_id" = String, Path, description = "The issuer's merchant ID", pattern = "^[A-Za-z0-9]{8}$"),
        ("store_id" = String, Path, description = "The store's merchant ID", pattern = "^[A-Za-z0-9]{8}$")),
    responses((status = 200, body = RelationStatusView),
        (status = 400, description = "VALIDATION_FAILED: issuer_id, store_id", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY; RIGHT_MISSING: relations (modify)", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "RELATION_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "CONCURRENT_CHANGE", body = ProblemDetails, content_type = PROBLEM)))]
async fn clear_block(
    State(services): State<Services>,
    operator: CurrentOperator,
    Path((issuer_id, store_id)): Path<(String, String)>,
) -> Result<Json<RelationStatusView>, Problem> {
    operator.may(OperatorArea::Relations, Access::Modify)?;
    let issuer = merchant_id("issuer_id", &issuer_id)?;
    let store = merchant_id("store_id", &store_id)?;
    let table = &services.table;
    let (operator, issuer, store) = (&operator, &issuer, &store);
    let relation = services
        .engine()
        .run(None, 200, |now| async move {
            let mut relation = table
                .get_relation(issuer, store)
                .await?
                .ok_or_else(|| Error::new(ErrorCode::RelationNotFound))?;
            let before = relation.status;
            let Some(after) = operator_clears_block(before) else {
                // No block (cleared already, or never set): nothing to do.
                return Ok(Decision::new(Changes::new(), relation));
            };
            relation.status = after;
            relation.updated_at = now;
            let entry = HistoryEntry::by_system(
                issuer,
                now,
                "redeemable_store",
                store.as_str(),
                "block_cleared_by_operator",
                json!({"status": {"before": before, "after": after}}),
            );
            let mut changes = Changes::new();
            change_relation(&mut changes, &mut relation, &entry)?;
            changes.write(
                operator
                    .audit(
                        now,
                        "relation_block_cleared",
                        format!("relation:{issuer}:{store}"),
                        json!({"status": {"before": before, "after": after}}),
                    )
                    .write()?,
            );
            Ok(Decision::new(changes, relation))
        })
        .await?;
    Ok(Json(RelationStatusView {
        issuer: issuer.to_string(),
        store: store.to_string(),
        status: name_of(&relation.status),
    }))
}

// ------------------------------------------------------------------ announcements

#[derive(Debug, Deserialize, ToSchema)]
pub struct AnnouncementInput {
    #[schema(min_length = 1, max_length = 100)]
    pub title: String,
    #[schema(min_length = 1, max_length = 2000)]
    pub body: String,
    /// The merchants it is for (1–100 IDs, each once); absent for every merchant.
    #[schema(value_type = Option<MerchantIdSet>)]
    pub merchants: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnnouncementView {
    pub announcement_id: String,
    pub title: String,
    pub body: String,
    /// The merchants it is for; absent: every merchant.
    pub merchants: Option<Vec<String>>,
    pub published_at: DateTime<Utc>,
    pub published_by: String,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnnouncementList {
    pub items: Vec<AnnouncementView>,
}

fn announcement_view(record: &AnnouncementRecord) -> AnnouncementView {
    AnnouncementView {
        announcement_id: record.id.clone(),
        title: record.title.clone(),
        body: record.body.clone(),
        merchants: match &record.audience {
            Audience::All => None,
            Audience::Merchants(ids) => Some(ids.iter().map(ToString::to_string).collect()),
        },
        published_at: record.published_at,
        published_by: record.published_by.to_string(),
        withdrawn_at: record.withdrawn_at,
    }
}

fn announcement_id(value: &str) -> Result<String, Problem> {
    let valid = (1..=40).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    match valid {
        true => Ok(value.to_owned()),
        false => {
            Err(Error::invalid_field("announcement_id", "1 to 40 letters, digits, - or _").into())
        }
    }
}

/// Publish an announcement to the message centre of every merchant, or of chosen ones. The
/// same ID again replaces its text and audience (and publishes it again if it was
/// withdrawn); unchanged, it answers as it is.
#[utoipa::path(put, path = "/operator/announcements/{announcement_id}", tag = "operator", security(("bearer" = [])),
    params(("announcement_id" = String, Path, description = "The operator's ID for it", pattern = "^[A-Za-z0-9_-]{1,40}$")),
    request_body = AnnouncementInput,
    responses((status = 201, description = "Published", body = AnnouncementView),
        (status = 200, description = "Replaced, or unchanged", body = AnnouncementView),
        (status = 400, description = "VALIDATION_FAILED: announcement_id, title, body, merchants", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY; RIGHT_MISSING: announcements (modify)", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "CONCURRENT_CHANGE", body = ProblemDetails, content_type = PROBLEM)))]
async fn put_announcement(
    State(services): State<Services>,
    operator: CurrentOperator,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AnnouncementInput>,
) -> Result<(StatusCode, Json<AnnouncementView>), Problem> {
    operator.may(OperatorArea::Announcements, Access::Modify)?;
    let id = announcement_id(&id)?;
    let (title, body, audience) =
        check_announcement(&input.title, &input.body, input.merchants.as_deref())?;
    let table = &services.table;
    let (operator, id, title, body, audience) = (&operator, &id, &title, &body, &audience);
    let (record, created) = services
        .engine()
        .run(None, 200, |now| async move {
            let existing = table.get_announcement(id).await?;
            let mut changes = Changes::new();
            let (record, created) = match existing {
                Some(record)
                    if &record.title == title
                        && &record.body == body
                        && &record.audience == audience
                        && record.withdrawn_at.is_none() =>
                {
                    return Ok(Decision::new(changes, (record, false)));
                }
                Some(mut record) => {
                    record.title = title.clone();
                    record.body = body.clone();
                    record.audience = audience.clone();
                    record.withdrawn_at = None;
                    changes.update(&mut record)?;
                    (record, false)
                }
                None => {
                    let mut record = AnnouncementRecord {
                        id: id.clone(),
                        title: title.clone(),
                        body: body.clone(),
                        audience: audience.clone(),
                        published_at: now,
                        published_by: operator.account.clone(),
                        withdrawn_at: None,
                        version: 0,
                    };
                    changes.create(&mut record, ErrorCode::ConcurrentChange)?;
                    (record, true)
                }
            };
            changes.write(
                operator
                    .audit(
                        now,
                        "announcement_published",
                        format!("announcement:{id}"),
                        json!({"title": title, "audience": audience}),
                    )
                    .write()?,
            );
            Ok(Decision::new(changes, (record, created)))
        })
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(announcement_view(&record))))
}

/// Withdraw an announcement from the message centres (withdrawing again changes nothing).
#[utoipa::path(delete, path = "/operator/announcements/{announcement_id}", tag = "operator", security(("bearer" = [])),
    params(("announcement_id" = String, Path, description = "The announcement's ID", pattern = "^[A-Za-z0-9_-]{1,40}$")),
    responses((status = 204, description = "Withdrawn"),
        (status = 400, description = "VALIDATION_FAILED: announcement_id", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY; RIGHT_MISSING: announcements (modify)", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "ANNOUNCEMENT_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM)))]
async fn withdraw_announcement(
    State(services): State<Services>,
    operator: CurrentOperator,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    operator.may(OperatorArea::Announcements, Access::Modify)?;
    let id = announcement_id(&id)?;
    let table = &services.table;
    let (operator, id) = (&operator, &id);
    services
        .engine()
        .run(None, 204, |now| async move {
            let mut record = table
                .get_announcement(id)
                .await?
                .ok_or_else(|| Error::new(ErrorCode::AnnouncementNotFound))?;
            let mut changes = Changes::new();
            if record.withdrawn_at.is_none() {
                record.withdrawn_at = Some(now);
                changes.update(&mut record)?;
                changes.write(
                    operator
                        .audit(
                            now,
                            "announcement_withdrawn",
                            format!("announcement:{id}"),
                            json!({}),
                        )
                        .write()?,
                );
            }
            Ok(Decision::new(changes, ()))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The latest 50 announcements, newest first, withdrawn ones included.
#[utoipa::path(get, path = "/operator/announcements", tag = "operator", security(("bearer" = [])),
    responses((status = 200, body = AnnouncementList),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY; RIGHT_MISSING: announcements (query)", body = ProblemDetails, content_type = PROBLEM)))]
async fn list_announcements(
    State(services): State<Services>,
    operator: CurrentOperator,
) -> Result<Json<AnnouncementList>, Problem> {
    operator.may(OperatorArea::Announcements, Access::Query)?;
    let records = services.table.latest_announcements(50).await?;
    Ok(Json(AnnouncementList {
        items: records.iter().map(announcement_view).collect(),
    }))
}

// ------------------------------------------------------------------ documents

/// How long an upload link stays valid.
const UPLOAD_LINK_LIFETIME: std::time::Duration = std::time::Duration::from_secs(15 * 60);

#[derive(Debug, Deserialize, ToSchema)]
pub struct DocumentInput {
    #[schema(min_length = 1, max_length = 100)]
    pub title: String,
    /// `application/pdf`, an xlsx or a docx.
    #[schema(
        pattern = "^(application/pdf|application/vnd\\.openxmlformats-officedocument\\.(spreadsheetml\\.sheet|wordprocessingml\\.document))$"
    )]
    pub content_type: String,
    /// The file's size in bytes (at most 20 MiB): the upload link is for exactly this.
    #[schema(minimum = 1, maximum = 20971520)]
    pub size: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    pub document_id: String,
    pub title: String,
    pub content_type: String,
    pub size: u64,
    pub published_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentUpload {
    pub document: DocumentView,
    /// PUT the file here with its content type (until `expires_at`), then publish it.
    pub upload_url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentList {
    pub items: Vec<DocumentView>,
}

fn document_view(record: &DocumentRecord) -> DocumentView {
    DocumentView {
        document_id: record.id.clone(),
        title: record.title.clone(),
        content_type: record.kind.content_type().to_owned(),
        size: record.size,
        published_at: record.published_at,
        withdrawn_at: record.withdrawn_at,
        updated_by: record.updated_by.to_string(),
        updated_at: record.updated_at,
    }
}

fn document_id(value: &str) -> Result<String, Problem> {
    announcement_id(value).map_err(|_| {
        Problem(Error::invalid_field(
            "document_id",
            "1 to 40 letters, digits, - or _",
        ))
    })
}

/// Describe a document of the documents area (§3-4) and get the link to upload its file;
/// merchants see it once it is published. The same title, type and size again keeps the
/// document as it is (a fresh link if it is not published yet); another replaces it, to be
/// uploaded and published again.
#[utoipa::path(put, path = "/operator/documents/{document_id}", tag = "operator", security(("bearer" = [])),
    params(("document_id" = String, Path, description = "The operator's ID for it", pattern = "^[A-Za-z0-9_-]{1,40}$")),
    request_body = DocumentInput,
    responses((status = 200, description = "The document and its upload link", body = DocumentUpload),
        (status = 400, description = "VALIDATION_FAILED: document_id, title, content_type, size", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY; RIGHT_MISSING: announcements (modify)", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "CONCURRENT_CHANGE", body = ProblemDetails, content_type = PROBLEM)))]
async fn put_document(
    State(services): State<Services>,
    operator: CurrentOperator,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DocumentInput>,
) -> Result<Json<DocumentUpload>, Problem> {
    operator.may(OperatorArea::Announcements, Access::Modify)?;
    let id = document_id(&id)?;
    let (title, kind) = check_document(&input.title, &input.content_type, input.size)?;
    let table = &services.table;
    let (operator, id, title, size) = (&operator, &id, &title, input.size);
    let record = services
        .engine()
        .run(None, 200, |now| async move {
            let existing = table.get_document(id).await?;
            let mut changes = Changes::new();
            let record = match existing {
                Some(record)
                    if &record.title == title
                        && record.kind == kind
                        && record.size == size
                        && record.withdrawn_at.is_none() =>
                {
                    return Ok(Decision::new(changes, record));
                }
                Some(mut record) => {
                    record.title = title.clone();
                    record.kind = kind;
                    record.size = size;
                    record.key = object_keys::document(id, record.version + 1, kind.extension());
                    record.published_at = None;
                    record.withdrawn_at = None;
                    record.updated_by = operator.account.clone();
                    record.updated_at = now;
                    changes.update(&mut record)?;
                    record
                }
                None => {
                    let mut record = DocumentRecord {
                        id: id.clone(),
                        title: title.clone(),
                        kind,
                        size,
                        key: object_keys::document(id, 1, kind.extension()),
                        published_at: None,
                        withdrawn_at: None,
                        updated_by: operator.account.clone(),
                        updated_at: now,
                        version: 0,
                    };
                    changes.create(&mut record, ErrorCode::ConcurrentChange)?;
                    record
                }
            };
            changes.write(
                operator
                    .audit(
                        now,
                        "document_described",
                        format!("document:{id}"),
                        json!({"title": title, "content_type": kind.content_type(), "size": size}),
                    )
                    .write()?,
            );
            Ok(Decision::new(changes, record))
        })
        .await?;
    let upload_url = services
        .assets()?
        .presign_upload(
            &record.key,
            record.kind.content_type(),
            record.size,
            UPLOAD_LINK_LIFETIME,
        )
        .await?;
    Ok(Json(DocumentUpload {
        document: document_view(&record),
        upload_url,
        expires_at: services.clock.now()
            + chrono::Duration::seconds(UPLOAD_LINK_LIFETIME.as_secs() as i64),
    }))
}

/// Publish a document whose file was uploaded: the object must be there, of the declared
/// size and type. Publishing again changes nothing.
#[utoipa::path(put, path = "/operator/documents/{document_id}/published", tag = "operator", security(("bearer" = [])),
    params(("document_id" = String, Path, description = "The document's ID", pattern = "^[A-Za-z0-9_-]{1,40}$")),
    responses((status = 200, body = DocumentView),
        (status = 400, description = "VALIDATION_FAILED: document_id; file (not uploaded, or not the declared size or type)", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY; RIGHT_MISSING: announcements (modify)", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "DOCUMENT_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM)))]
async fn publish_document(
    State(services): State<Services>,
    operator: CurrentOperator,
    Path(id): Path<String>,
) -> Result<Json<DocumentView>, Problem> {
    operator.may(OperatorArea::Announcements, Access::Modify)?;
    let id = document_id(&id)?;
    let table = &services.table;
    let assets = services.assets()?;
    let (operator, id) = (&operator, &id);
    let record = services
        .engine()
        .run(None, 200, |now| async move {
            let mut record = table
                .get_document(id)
                .await?
                .filter(|d| d.withdrawn_at.is_none())
                .ok_or_else(|| Error::new(ErrorCode::DocumentNotFound))?;
            if record.published_at.is_some() {
                return Ok(Decision::new(Changes::new(), record));
            }
            let facts = assets.facts(&record.key).await?;
            let uploaded = facts.is_some_and(|f| {
                f.size == record.size && f.content_type == record.kind.content_type()
            });
            if !uploaded {
                return Err(Error::invalid_field(
                    "file",
                    "not uploaded, or not the declared size and type",
                ));
            }
            record.published_at = Some(now);
            let mut changes = Changes::new();
            changes.update(&mut record)?;
            changes.write(
                operator
                    .audit(
                        now,
                        "document_published",
                        format!("document:{id}"),
                        json!({"key": record.key}),
                    )
                    .write()?,
            );
            Ok(Decision::new(changes, record))
        })
        .await?;
    Ok(Json(document_view(&record)))
}

/// Withdraw a document from the documents area (withdrawing again changes nothing).
#[utoipa::path(delete, path = "/operator/documents/{document_id}", tag = "operator", security(("bearer" = [])),
    params(("document_id" = String, Path, description = "The document's ID", pattern = "^[A-Za-z0-9_-]{1,40}$")),
    responses((status = 204, description = "Withdrawn"),
        (status = 400, description = "VALIDATION_FAILED: document_id", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY; RIGHT_MISSING: announcements (modify)", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "DOCUMENT_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM)))]
async fn withdraw_document(
    State(services): State<Services>,
    operator: CurrentOperator,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    operator.may(OperatorArea::Announcements, Access::Modify)?;
    let id = document_id(&id)?;
    let table = &services.table;
    let (operator, id) = (&operator, &id);
    services
        .engine()
        .run(None, 204, |now| async move {
            let mut record = table
                .get_document(id)
                .await?
                .ok_or_else(|| Error::new(ErrorCode::DocumentNotFound))?;
            let mut changes = Changes::new();
            if record.withdrawn_at.is_none() {
                record.withdrawn_at = Some(now);
                changes.update(&mut record)?;
                changes.write(
                    operator
                        .audit(
                            now,
                            "document_withdrawn",
                            format!("document:{id}"),
                            json!({}),
                        )
                        .write()?,
                );
            }
            Ok(Decision::new(changes, ()))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every document of the documents area, published or not, by title.
#[utoipa::path(get, path = "/operator/documents", tag = "operator", security(("bearer" = [])),
    responses((status = 200, body = DocumentList),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY; RIGHT_MISSING: announcements (query)", body = ProblemDetails, content_type = PROBLEM)))]
async fn list_documents(
    State(services): State<Services>,
    operator: CurrentOperator,
) -> Result<Json<DocumentList>, Problem> {
    operator.may(OperatorArea::Announcements, Access::Query)?;
    let records = services.table.list_documents().await?;
    Ok(Json(DocumentList {
        items: records.iter().map(document_view).collect(),
    }))
}

pub fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(sign_in))
        .routes(routes!(sign_out))
        .routes(routes!(job_runs))
        .routes(routes!(audit))
        .routes(routes!(put_merchant))
        .routes(routes!(put_parent))
        .routes(routes!(put_contract))
        .routes(routes!(put_rate))
        .routes(routes!(mark_paid))
        .routes(routes!(put_remittance))
        .routes(routes!(clear_block))
        .routes(routes!(list_announcements))
        .routes(routes!(put_announcement, withdraw_announcement))
        .routes(routes!(list_documents))
        .routes(routes!(put_document, withdraw_document))
        .routes(routes!(publish_document))
        .routes(routes!(print_run::print_run))
        .routes(routes!(print_run::set_print_run_status))
}

pub fn app(services: Services) -> Router {
    tessera_platform::http::function_app(routes(), services)
}

/// A contract's delivery methods: 1 to 5 names, each once.
pub struct DeliveryMethodSet;

impl utoipa::PartialSchema for DeliveryMethodSet {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        ArrayBuilder::new()
            .items(ObjectBuilder::new().schema_type(Type::String).pattern(Some(
                "^(ibon|paper_by_platform|paper_by_merchant|electronic_immediate|electronic_deferred)$",
            )))
            .min_items(Some(1))
            .max_items(Some(5))
            .unique_items(true)
            .into()
    }
}

impl utoipa::ToSchema for DeliveryMethodSet {}

/// An announcement's merchants: 1 to 100 merchant IDs, each once.
pub struct MerchantIdSet;

impl utoipa::PartialSchema for MerchantIdSet {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::ArrayBuilder;
        ArrayBuilder::new()
            .items(<tessera_platform::formats::MerchantIdText as utoipa::PartialSchema>::schema())
            .min_items(Some(1))
            .max_items(Some(100))
            .unique_items(true)
            .into()
    }
}

impl utoipa::ToSchema for MerchantIdSet {}
