//! Sub-accounts and their rights (§4-1), and changing one's own password (§4-2).
//! Managing accounts is the admin's; every change writes a history entry.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use tessera_domain::access::{
    require_admin, Access, Actor, AreaRights, FunctionArea, Rights, Role,
};
use tessera_domain::merchant::RedemptionMode;
use tessera_domain::values::{AccountName, NewPassword, Remark};
use tessera_domain::{Error, ErrorCode};
use tessera_platform::auth::CurrentActor;
use tessera_platform::change::{Changes, Decision};
use tessera_platform::idempotency::Keyed;
use tessera_platform::services::{Resource, Services};
use tessera_platform::store::accounts::{AccountRecord, HistoryEntry};
use tessera_platform::store::history::HistoryList;
use tessera_platform::{password, ApiJson, ApiQuery, Problem, ProblemDetails};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

const ENTITY: &str = "account";

/// The stack's resources this function is given besides the table (its template
/// environment names exactly these; `tessera-dev` checks both agree).
pub const NEEDS: &[Resource] = &[];

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AreaRightsView {
    pub query: bool,
    pub modify: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubAccountView {
    pub account: String,
    pub remark: String,
    /// Every function area with its query and modify rights.
    pub rights: BTreeMap<String, AreaRightsView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubAccountList {
    pub items: Vec<SubAccountView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `true` lists deleted sub-accounts instead of active ones.
    #[serde(default)]
    pub deleted: bool,
}

/// Rights by function area code, e.g. `{"products": {"query": true, "modify": false}}`.
pub type RightsInput = BTreeMap<FunctionArea, AreaRights>;

/// [`RightsInput`] as the document states it: one optional member per function area, each
/// with its query and modify flags, and nothing else.
pub struct RightsSchema;

impl utoipa::PartialSchema for RightsSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
        let flags = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("query", ObjectBuilder::new().schema_type(Type::Boolean))
            .property("modify", ObjectBuilder::new().schema_type(Type::Boolean))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .build();
        FunctionArea::ALL
            .iter()
            .fold(
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .description(Some("Rights by function area: query and modify flags."))
                    .additional_properties(Some(AdditionalProperties::FreeForm(false))),
                |object, area| object.property(area.code(), flags.clone()),
            )
            .into()
    }
}

impl utoipa::ToSchema for RightsSchema {}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateSubAccount {
    #[schema(value_type = tessera_platform::formats::SubAccountIdText)]
    pub account: String,
    #[schema(value_type = tessera_platform::formats::SubAccountPasswordText)]
    pub password: String,
    /// At most 20 characters.
    #[serde(default)]
    #[schema(pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]{0,20}$")]
    pub remark: String,
    #[serde(default)]
    #[schema(value_type = RightsSchema)]
    pub rights: RightsInput,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChange {
    #[schema(value_type = tessera_platform::formats::SubAccountPasswordText)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RemarkChange {
    /// At most 20 characters.
    #[schema(pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]{0,20}$")]
    pub remark: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RightsChange {
    #[schema(value_type = RightsSchema)]
    pub rights: RightsInput,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OwnPasswordChange {
    #[schema(format = Password)]
    pub current_password: String,
    /// An admin's follows the admin rule, a sub-account's the sub-account rule; this
    /// pattern is the one both accept.
    #[schema(value_type = tessera_platform::formats::SubAccountPasswordText)]
    pub new_password: String,
}

fn rights_from(input: &RightsInput) -> Rights {
    input
        .iter()
        .fold(Rights::none(), |rights, (area, granted)| {
            let rights = if granted.query {
                rights.grant(*area, Access::Query)
            } else {
                rights
            };
            if granted.modify {
                rights.grant(*area, Access::Modify)
            } else {
                rights
            }
        })
}

/// The rights of the areas the merchant's mode offers (§八: installment merchants see the
/// installment areas instead of the ticket's).
fn rights_view(rights: &Rights, mode: RedemptionMode) -> BTreeMap<String, AreaRightsView> {
    rights
        .table()
        .into_iter()
        .filter(|(area, _)| area.offered_in(mode))
        .map(|(area, r)| {
            (
                area.code().to_owned(),
                AreaRightsView {
                    query: r.query,
                    modify: r.modify,
                },
            )
        })
        .collect()
}

fn view(record: &AccountRecord, mode: RedemptionMode) -> SubAccountView {
    SubAccountView {
        account: record.account.to_string(),
        remark: record
            .remark
            .as_ref()
            .map(|r| r.to_string())
            .unwrap_or_default(),
        rights: rights_view(&record.rights, mode),
        branch: record.branch.as_ref().map(|b| b.to_string()),
        created_at: record.created_at,
        deleted_at: record.deleted_at,
    }
}

fn history(
    actor: &Actor,
    at: DateTime<Utc>,
    account: &AccountName,
    action: &str,
    changes: serde_json::Value,
) -> HistoryEntry {
    HistoryEntry::by(actor, at, ENTITY, account.as_str(), action, changes)
}

async fn hash(password: NewPassword) -> Result<String, Problem> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| Problem::internal(&e))?
        .map_err(|e| Problem::internal(&e))
}

/// A live sub-account of the merchant the session acts as; anything else is not found.
async fn live_sub_account(
    services: &Services,
    actor: &Actor,
    account: &str,
) -> Result<AccountRecord, Problem> {
    let name = AccountName::parse_login("account", account)
        .map_err(|_| Problem::new(ErrorCode::AccountNotFound))?;
    services
        .table
        .get_account(&actor.acting_as, &name)
        .await?
        .filter(|a| a.role == Role::SubAccount && a.deleted_at.is_none())
        .ok_or_else(|| Problem::new(ErrorCode::AccountNotFound))
}

/// The sub-account a request changes, with what every change of one needs.
struct SubAccountRequest<'a> {
    services: &'a Services,
    actor: &'a Actor,
    keyed: &'a Keyed,
    account: &'a str,
}

/// Applies one change to a live sub-account through the change engine: reads it, lets
/// `change` edit it and describe the change for history, and commits both at the next
/// version (read and decided again on a race). Answers `answer` of the changed account,
/// which a repeated request under the same key is answered again.
async fn change_sub_account<A: Serialize + DeserializeOwned>(
    request: SubAccountRequest<'_>,
    status: StatusCode,
    action: &str,
    change: impl Fn(&mut AccountRecord) -> serde_json::Value,
    answer: impl Fn(&AccountRecord) -> A,
) -> Result<A, Problem> {
    let SubAccountRequest {
        services,
        actor,
        keyed,
        account,
    } = request;
    let (change, answer) = (&change, &answer);
    let answered = services
        .engine()
        .run(keyed.as_ref(), status.as_u16(), |now| async move {
            let mut record = live_sub_account(services, actor, account)
                .await
                .map_err(|p| p.0)?;
            let described = change(&mut record);
            let mut changes = Changes::new();
            let version = changes.update(&mut record)?;
            let entry = history(actor, now, &record.account, action, described);
            changes.history(&entry, version)?;
            Ok(Decision::new(changes, answer(&record)))
        })
        .await?;
    Ok(answered)
}

const ADMIN_ERRORS: &str = "UNAUTHENTICATED, SESSION_EXPIRED (401); ADMIN_ONLY (403)";

/// List the sub-accounts (or the deleted ones).
#[utoipa::path(get, path = "/sub-accounts", tag = "accounts", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = SubAccountList),
        (status = 403, description = ADMIN_ERRORS, body = ProblemDetails, content_type = "application/problem+json")))]
async fn list(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<SubAccountList>, Problem> {
    require_admin(&current.actor)?;
    let (accounts, mode) = tokio::try_join!(
        services.table.list_accounts(&current.actor.acting_as),
        services.table.redemption_mode(&current.actor.acting_as)
    )?;
    let items = accounts
        .iter()
        .filter(|a| a.role == Role::SubAccount && a.deleted_at.is_some() == query.deleted)
        .map(|a| view(a, mode))
        .collect();
    Ok(Json(SubAccountList { items }))
}

/// Create a sub-account.
#[utoipa::path(post, path = "/sub-accounts", tag = "accounts", security(("bearer" = [])), request_body = CreateSubAccount,
    responses((status = 201, body = SubAccountView),
        (status = 400, description = "VALIDATION_FAILED: account, password, remark or rights", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = ADMIN_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "ACCOUNT_EXISTS (deleted IDs are not reused)", body = ProblemDetails, content_type = "application/problem+json")))]
async fn create(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    ApiJson(request): ApiJson<CreateSubAccount>,
) -> Result<(StatusCode, Json<SubAccountView>), Problem> {
    let actor = &current.actor;
    require_admin(actor)?;
    let mut violations = Vec::new();
    let account = AccountName::parse_sub_account("account", &request.account)
        .map_err(|e| violations.extend(e.violations))
        .ok();
    let password = NewPassword::parse_sub_account("password", &request.password)
        .map_err(|e| violations.extend(e.violations))
        .ok();
    let remark = Remark::parse("remark", &request.remark)
        .map_err(|e| violations.extend(e.violations))
        .ok();
    let (Some(account), Some(password), Some(remark)) = (account, password, remark) else {
        return Err(Error::invalid(violations).into());
    };
    let now = services.clock.now();
    let rights = rights_from(&request.rights);
    let mode = services.table.redemption_mode(&actor.acting_as).await?;
    let template = AccountRecord {
        merchant_id: actor.acting_as.clone(),
        account: account.clone(),
        role: Role::SubAccount,
        password_hash: hash(password).await?,
        rights: rights.clone(),
        remark: Some(remark.clone()),
        branch: None,
        created_at: now,
        deleted_at: None,
        version: 0,
    };
    let described =
        json!({ "remark": remark, "rights": rights_view(&rights, mode), "password": "set" });
    let (template, described) = (&template, &described);
    let created = services
        .engine()
        .run(keyed.as_ref(), 201, |now| async move {
            let mut record = template.clone();
            record.created_at = now;
            let mut changes = Changes::new();
            // An existing ID, deleted ones included, is taken: deleted IDs are not reused.
            let version = changes.create(&mut record, ErrorCode::AccountExists)?;
            let entry = history(actor, now, &record.account, "created", described.clone());
            changes.history(&entry, version)?;
            Ok(Decision::new(changes, view(&record, mode)))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Delete a sub-account. It is kept (listed as deleted) for history; its sessions stop working.
#[utoipa::path(delete, path = "/sub-accounts/{account}", tag = "accounts", security(("bearer" = [])),
    params(("account" = String, Path, description = "Sub-account ID", pattern = "^[A-Za-z0-9._@-]{1,20}$")),
    responses((status = 204, description = "Deleted"),
        (status = 403, description = ADMIN_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "ACCOUNT_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "CONCURRENT_CHANGE", body = ProblemDetails, content_type = "application/problem+json")))]
async fn delete(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    Path(account): Path<String>,
) -> Result<StatusCode, Problem> {
    require_admin(&current.actor)?;
    let now = services.clock.now();
    change_sub_account(
        SubAccountRequest {
            services: &services,
            actor: &current.actor,
            keyed: &keyed,
            account: &account,
        },
        StatusCode::NO_CONTENT,
        "deleted",
        |record| {
            record.deleted_at = Some(now);
            json!({})
        },
        |_| (),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a sub-account's password (the admin does this when staff forget theirs).
#[utoipa::path(put, path = "/sub-accounts/{account}/password", tag = "accounts", security(("bearer" = [])),
    params(("account" = String, Path, description = "Sub-account ID", pattern = "^[A-Za-z0-9._@-]{1,20}$")), request_body = PasswordChange,
    responses((status = 204, description = "Changed"),
        (status = 400, description = "VALIDATION_FAILED: password", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = ADMIN_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "ACCOUNT_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json")))]
async fn set_password(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    Path(account): Path<String>,
    ApiJson(request): ApiJson<PasswordChange>,
) -> Result<StatusCode, Problem> {
    require_admin(&current.actor)?;
    let password = NewPassword::parse_sub_account("password", &request.password)?;
    let password_hash = hash(password).await?;
    change_sub_account(
        SubAccountRequest {
            services: &services,
            actor: &current.actor,
            keyed: &keyed,
            account: &account,
        },
        StatusCode::NO_CONTENT,
        "password_changed",
        |record| {
            record.password_hash.clone_from(&password_hash);
            json!({ "password": "changed" })
        },
        |_| (),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Edit a sub-account's remark (at most 20 characters).
#[utoipa::path(put, path = "/sub-accounts/{account}/remark", tag = "accounts", security(("bearer" = [])),
    params(("account" = String, Path, description = "Sub-account ID", pattern = "^[A-Za-z0-9._@-]{1,20}$")), request_body = RemarkChange,
    responses((status = 200, body = SubAccountView),
        (status = 400, description = "VALIDATION_FAILED: remark", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = ADMIN_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "ACCOUNT_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json")))]
async fn set_remark(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    Path(account): Path<String>,
    ApiJson(request): ApiJson<RemarkChange>,
) -> Result<Json<SubAccountView>, Problem> {
    require_admin(&current.actor)?;
    let remark = Remark::parse("remark", &request.remark)?;
    let mode = services
        .table
        .redemption_mode(&current.actor.acting_as)
        .await?;
    let changed = change_sub_account(
        SubAccountRequest {
            services: &services,
            actor: &current.actor,
            keyed: &keyed,
            account: &account,
        },
        StatusCode::OK,
        "remark_changed",
        |record| {
            let before = record.remark.replace(remark.clone());
            json!({ "before": before, "after": remark })
        },
        |record| view(record, mode),
    )
    .await?;
    Ok(Json(changed))
}

/// Replace a sub-account's rights (query and modify per function area).
#[utoipa::path(put, path = "/sub-accounts/{account}/rights", tag = "accounts", security(("bearer" = [])),
    params(("account" = String, Path, description = "Sub-account ID", pattern = "^[A-Za-z0-9._@-]{1,20}$")), request_body = RightsChange,
    responses((status = 200, body = SubAccountView),
        (status = 400, description = "VALIDATION_FAILED: unknown function area", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = ADMIN_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "ACCOUNT_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json")))]
async fn set_rights(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    Path(account): Path<String>,
    ApiJson(request): ApiJson<RightsChange>,
) -> Result<Json<SubAccountView>, Problem> {
    require_admin(&current.actor)?;
    let rights = rights_from(&request.rights);
    let mode = services
        .table
        .redemption_mode(&current.actor.acting_as)
        .await?;
    let changed = change_sub_account(
        SubAccountRequest {
            services: &services,
            actor: &current.actor,
            keyed: &keyed,
            account: &account,
        },
        StatusCode::OK,
        "rights_changed",
        |record| {
            let before = rights_view(&record.rights, mode);
            record.rights.clone_from(&rights);
            json!({ "before": before, "after": rights_view(&record.rights, mode) })
        },
        |record| view(record, mode),
    )
    .await?;
    Ok(Json(changed))
}

/// The history of a sub-account, oldest first.
#[utoipa::path(get, path = "/sub-accounts/{account}/history", tag = "accounts", security(("bearer" = [])),
    params(("account" = String, Path, description = "Sub-account ID", pattern = "^[A-Za-z0-9._@-]{1,20}$")),
    responses((status = 200, body = HistoryList),
        (status = 403, description = ADMIN_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "ACCOUNT_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json")))]
async fn account_history(
    State(services): State<Services>,
    current: CurrentActor,
    Path(account): Path<String>,
) -> Result<Json<HistoryList>, Problem> {
    require_admin(&current.actor)?;
    let name = AccountName::parse_login("account", &account)
        .map_err(|_| Problem::new(ErrorCode::AccountNotFound))?;
    let exists = services
        .table
        .get_account(&current.actor.acting_as, &name)
        .await?
        .is_some_and(|a| a.role == Role::SubAccount);
    if !exists {
        return Err(Problem::new(ErrorCode::AccountNotFound));
    }
    let entries = services
        .table
        .list_history(&current.actor.acting_as, ENTITY, name.as_str())
        .await?;
    Ok(Json(HistoryList::from(entries)))
}

/// Change the signed-in account's own password (admin rule §4-2, sub-account rule §4-1).
#[utoipa::path(put, path = "/account/password", tag = "accounts", security(("bearer" = [])), request_body = OwnPasswordChange,
    responses((status = 204, description = "Changed"),
        (status = 400, description = "VALIDATION_FAILED: new_password; CURRENT_PASSWORD_WRONG", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = "application/problem+json")))]
async fn change_own_password(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    ApiJson(request): ApiJson<OwnPasswordChange>,
) -> Result<StatusCode, Problem> {
    let actor = &current.actor;
    let new_password = match actor.role {
        Role::Admin => NewPassword::parse_admin("new_password", &request.new_password)?,
        Role::SubAccount => NewPassword::parse_sub_account("new_password", &request.new_password)?,
    };
    let record = own_account(&services, actor).await?;
    let stored = record.password_hash.clone();
    let current_password = request.current_password.clone();
    let matches = tokio::task::spawn_blocking(move || password::verify(&current_password, &stored))
        .await
        .map_err(|e| Problem::internal(&e))?;
    if !matches {
        return Err(Problem::new(ErrorCode::CurrentPasswordWrong));
    }
    let verified_hash = record.password_hash;
    let (new_hash, verified_hash) = (&hash(new_password).await?, &verified_hash);
    let services = &services;
    services
        .engine()
        .run(keyed.as_ref(), 204, |now| async move {
            let mut record = own_account(services, actor).await.map_err(|p| p.0)?;
            // Changed meanwhile (another session set it): the current password given was
            // checked against the old one, so it proves nothing now.
            if &record.password_hash != verified_hash {
                return Err(Error::new(ErrorCode::CurrentPasswordWrong));
            }
            record.password_hash.clone_from(new_hash);
            let mut changes = Changes::new();
            let version = changes.update(&mut record)?;
            // Recorded under the account's own merchant, whichever it acts as.
            let entry = HistoryEntry::new(
                &actor.merchant,
                &actor.account,
                now,
                ENTITY,
                actor.account.as_str(),
                "password_changed",
                json!({ "password": "changed" }),
            );
            changes.history(&entry, version)?;
            Ok(Decision::new(changes, ()))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account itself (under its own merchant, whichever it acts as).
async fn own_account(services: &Services, actor: &Actor) -> Result<AccountRecord, Problem> {
    services
        .table
        .get_account(&actor.merchant, &actor.account)
        .await?
        .ok_or_else(|| Problem::new(ErrorCode::SessionExpired))
}

pub fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(delete))
        .routes(routes!(set_password))
        .routes(routes!(set_remark))
        .routes(routes!(set_rights))
        .routes(routes!(account_history))
        .routes(routes!(change_own_password))
}

pub fn app(services: Services) -> Router {
    tessera_platform::http::function_app(routes(), services)
}
