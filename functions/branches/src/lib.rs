//! Branches and sub-account binding (§7-1): create (code unique, immutable), edit,
//! enable/disable, history; bind, re-bind and bulk unbind sub-accounts.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use tessera_domain::access::{
    require_branch, require_head_office, Access, Actor, AreaGuard, FunctionArea, Role,
};
use tessera_domain::branches::{parse_account_list, BranchDetails};
use tessera_domain::values::{AccountName, BranchCode, MerchantId};
use tessera_domain::{Error, ErrorCode, Violation};
use tessera_platform::auth::CurrentActor;
use tessera_platform::change::{Changes, Decision};
use tessera_platform::idempotency::Keyed;
use tessera_platform::owner::OwnerQuery;
use tessera_platform::services::{Resource, Services};
use tessera_platform::store::accounts::AccountRecord;
use tessera_platform::store::branches::BranchRecord;
use tessera_platform::store::history::{HistoryEntry, HistoryList};
use tessera_platform::{ApiJson, ApiQuery, Problem, ProblemDetails};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

const ENTITY: &str = "branch";

/// The stack's resources this function is given besides the table (its template
/// environment names exactly these; `tessera-dev` checks both agree).
pub const NEEDS: &[Resource] = &[];

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BranchView {
    pub code: String,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub enabled: bool,
    /// Sub-accounts bound to this branch.
    pub bound_accounts: usize,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BranchList {
    pub items: Vec<BranchView>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateBranch {
    /// Unique within the merchant and never changed.
    #[schema(value_type = tessera_platform::formats::BranchCodeText)]
    pub code: String,
    /// 1 to 30 characters, no control characters.
    #[schema(
        pattern = "^(?=[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f])[^\\x00-\\x1f\\x7f-\\x9f]{1,30}$"
    )]
    pub name: String,
    /// At most 100 characters.
    #[serde(default)]
    #[schema(pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]{0,100}$")]
    pub address: String,
    /// At most 20 digits, spaces and + - ( ) #.
    #[serde(default)]
    #[schema(pattern = "^[0-9 +()#-]{0,20}$")]
    pub phone: String,
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

/// Fields to change; omitted ones keep their value. The code cannot change.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EditBranch {
    #[schema(
        pattern = "^(?=[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f])[^\\x00-\\x1f\\x7f-\\x9f]{1,30}$"
    )]
    pub name: Option<String>,
    #[schema(pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]{0,100}$")]
    pub address: Option<String>,
    #[schema(pattern = "^[0-9 +()#-]{0,20}$")]
    pub phone: Option<String>,
    pub enabled: Option<bool>,
    /// Present only to be refused with a clear error.
    #[schema(ignore)]
    pub code: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BindAccounts {
    #[schema(value_type = tessera_platform::formats::BranchCodeText)]
    pub branch_code: String,
    /// Sub-accounts to bind (or re-bind, if bound elsewhere) to the branch: 1 to 40.
    #[schema(min_items = 1, max_items = 40, value_type = Vec<tessera_platform::formats::LoginNameText>)]
    pub accounts: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UnbindAccounts {
    /// 1 to 40 sub-accounts.
    #[schema(min_items = 1, max_items = 40, value_type = Vec<tessera_platform::formats::LoginNameText>)]
    pub accounts: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BindingView {
    pub account: String,
    pub remark: String,
    pub branch_code: String,
    pub branch_name: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BindingList {
    pub items: Vec<BindingView>,
}

/// The rights check of every branch route.
const RIGHTS: AreaGuard = AreaGuard::new(FunctionArea::Branches, ErrorCode::BranchNotFound);

fn view(branch: &BranchRecord, accounts: &[AccountRecord]) -> BranchView {
    BranchView {
        code: branch.code.to_string(),
        name: branch.name.clone(),
        address: branch.address.clone(),
        phone: branch.phone.clone(),
        enabled: branch.enabled,
        bound_accounts: accounts
            .iter()
            .filter(|a| a.deleted_at.is_none() && a.branch.as_ref() == Some(&branch.code))
            .count(),
        created_at: branch.created_at,
    }
}

fn history(
    actor: &Actor,
    owner: &MerchantId,
    at: DateTime<Utc>,
    entity: &str,
    id: &str,
    action: &str,
    changes: serde_json::Value,
) -> HistoryEntry {
    HistoryEntry::new(owner, &actor.account, at, entity, id, action, changes)
}

async fn existing_branch(
    services: &Services,
    owner: &MerchantId,
    code: &str,
) -> Result<BranchRecord, Problem> {
    let code =
        BranchCode::parse("code", code).map_err(|_| Problem::new(ErrorCode::BranchNotFound))?;
    services
        .table
        .get_branch(owner, &code)
        .await?
        .ok_or_else(|| Problem::new(ErrorCode::BranchNotFound))
}

const QUERY_ERRORS: &str = "UNAUTHENTICATED, SESSION_EXPIRED (401); RIGHT_MISSING: query right of branches; OTHER_BRANCH (403)";
const MODIFY_ERRORS: &str = "UNAUTHENTICATED, SESSION_EXPIRED (401); RIGHT_MISSING: modify right of branches; SWITCH_REQUIRED; OTHER_BRANCH (403)";

/// Whether a branch shows to the actor: a branch-bound account sees only its own (§3).
fn visible(actor: &Actor, code: &BranchCode) -> bool {
    require_branch(actor, code).is_ok()
}

/// List the branches with how many sub-accounts each has bound.
#[utoipa::path(get, path = "/branches", tag = "branches", security(("bearer" = [])), params(OwnerQuery),
    responses((status = 200, body = BranchList),
        (status = 403, description = QUERY_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "BRANCH_NOT_FOUND: merchant_id is not this merchant or a child", body = ProblemDetails, content_type = "application/problem+json")))]
async fn list(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<OwnerQuery>,
) -> Result<Json<BranchList>, Problem> {
    let actor = &current.actor;
    let owner = query.owner(actor)?;
    RIGHTS.check(actor, &owner, Access::Query)?;
    let (branches, accounts) = tokio::join!(
        services.table.list_branches(&owner),
        services.table.list_accounts(&owner)
    );
    let (branches, accounts) = (branches?, accounts?);
    let items = branches
        .iter()
        .filter(|b| visible(actor, &b.code))
        .map(|b| view(b, &accounts))
        .collect();
    Ok(Json(BranchList { items }))
}

/// Create a branch (head office only). Its code is unique within the merchant and never changes.
#[utoipa::path(post, path = "/branches", tag = "branches", security(("bearer" = [])), params(OwnerQuery), request_body = CreateBranch,
    responses((status = 201, body = BranchView),
        (status = 400, description = "VALIDATION_FAILED: code, name, address, phone", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = MODIFY_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "BRANCH_CODE_TAKEN", body = ProblemDetails, content_type = "application/problem+json")))]
async fn create(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    ApiQuery(query): ApiQuery<OwnerQuery>,
    ApiJson(request): ApiJson<CreateBranch>,
) -> Result<(StatusCode, Json<BranchView>), Problem> {
    let actor = &current.actor;
    let owner = query.owner(actor)?;
    RIGHTS.check(actor, &owner, Access::Modify)?;
    require_head_office(actor)?;
    let code = BranchCode::parse("code", &request.code);
    let details = BranchDetails::parse(&request.name, &request.address, &request.phone);
    let (code, details) = match (code, details) {
        (Ok(code), Ok(details)) => (code, details),
        (code, details) => {
            let violations = [code.err(), details.err()]
                .into_iter()
                .flatten()
                .flat_map(|e| e.violations)
                .collect();
            return Err(Error::invalid(violations).into());
        }
    };
    let template = BranchRecord {
        merchant_id: owner.clone(),
        code: code.clone(),
        name: details.name,
        address: details.address,
        phone: details.phone,
        enabled: request.enabled,
        created_at: services.clock.now(),
        version: 0,
    };
    let (template, owner) = (&template, &owner);
    let view = services.engine()
        .run(keyed.as_ref(), 201, |now| async move {
            let mut branch = template.clone();
            branch.created_at = now;
            let mut changes = Changes::new();
            let version = changes.create(&mut branch, ErrorCode::BranchCodeTaken)?;
            let created = json!({"name": branch.name, "address": branch.address, "phone": branch.phone, "enabled": branch.enabled});
            changes.history(
                &history(actor, owner, now, ENTITY, branch.code.as_str(), "created", created),
                version,
            )?;
            Ok(Decision::new(changes, view(&branch, &[])))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Edit a branch's name, address, phone, or enable/disable it. The code cannot change.
#[utoipa::path(patch, path = "/branches/{code}", tag = "branches", security(("bearer" = [])),
    params(("code" = String, Path, description = "Branch code"), OwnerQuery), request_body = EditBranch,
    responses((status = 200, body = BranchView),
        (status = 400, description = "VALIDATION_FAILED: name, address, phone, or code (immutable)", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = MODIFY_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "BRANCH_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "CONCURRENT_CHANGE", body = ProblemDetails, content_type = "application/problem+json")))]
async fn edit(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    Path(code): Path<String>,
    ApiQuery(query): ApiQuery<OwnerQuery>,
    ApiJson(request): ApiJson<EditBranch>,
) -> Result<Json<BranchView>, Problem> {
    let actor = &current.actor;
    let owner = query.owner(actor)?;
    RIGHTS.check(actor, &owner, Access::Modify)?;
    if request.code.is_some() {
        return Err(
            Error::invalid_field("code", "a branch code cannot change once created").into(),
        );
    }
    let (services, owner, code, request) = (&services, &owner, &code, &request);
    let view = services.engine()
        .run(keyed.as_ref(), 200, |now| async move {
            let mut branch = existing_branch(services, owner, code).await.map_err(|p| p.0)?;
            require_branch(actor, &branch.code)?;
            let details = BranchDetails::parse(
                request.name.as_deref().unwrap_or(&branch.name),
                request.address.as_deref().unwrap_or(&branch.address),
                request.phone.as_deref().unwrap_or(&branch.phone),
            )?;
            let before = json!({"name": branch.name, "address": branch.address, "phone": branch.phone, "enabled": branch.enabled});
            branch.name = details.name;
            branch.address = details.address;
            branch.phone = details.phone;
            branch.enabled = request.enabled.unwrap_or(branch.enabled);
            let after = json!({"name": branch.name, "address": branch.address, "phone": branch.phone, "enabled": branch.enabled});
            let mut changes = Changes::new();
            let version = changes.update(&mut branch)?;
            let entry = history(
                actor,
                owner,
                now,
                ENTITY,
                branch.code.as_str(),
                "edited",
                json!({"before": before, "after": after}),
            );
            changes.history(&entry, version)?;
            let accounts = services.table.list_accounts(owner).await?;
            Ok(Decision::new(changes, view(&branch, &accounts)))
        })
        .await?;
    Ok(Json(view))
}

/// The branch's history, oldest first.
#[utoipa::path(get, path = "/branches/{code}/history", tag = "branches", security(("bearer" = [])),
    params(("code" = String, Path, description = "Branch code"), OwnerQuery),
    responses((status = 200, body = HistoryList),
        (status = 403, description = QUERY_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "BRANCH_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json")))]
async fn branch_history(
    State(services): State<Services>,
    current: CurrentActor,
    Path(code): Path<String>,
    ApiQuery(query): ApiQuery<OwnerQuery>,
) -> Result<Json<HistoryList>, Problem> {
    let actor = &current.actor;
    let owner = query.owner(actor)?;
    RIGHTS.check(actor, &owner, Access::Query)?;
    let branch = existing_branch(&services, &owner, &code).await?;
    require_branch(actor, &branch.code)?;
    let entries = services
        .table
        .list_history(&owner, ENTITY, branch.code.as_str())
        .await?;
    Ok(Json(HistoryList::from(entries)))
}

/// The bound sub-accounts with their branch (a bound account sees its own branch's only).
#[utoipa::path(get, path = "/branch-bindings", tag = "branches", security(("bearer" = [])), params(OwnerQuery),
    responses((status = 200, body = BindingList),
        (status = 403, description = QUERY_ERRORS, body = ProblemDetails, content_type = "application/problem+json")))]
async fn list_bindings(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<OwnerQuery>,
) -> Result<Json<BindingList>, Problem> {
    let actor = &current.actor;
    let owner = query.owner(actor)?;
    RIGHTS.check(actor, &owner, Access::Query)?;
    let (branches, accounts) = tokio::join!(
        services.table.list_branches(&owner),
        services.table.list_accounts(&owner)
    );
    let names: HashMap<BranchCode, String> =
        branches?.into_iter().map(|b| (b.code, b.name)).collect();
    let items = accounts?
        .into_iter()
        .filter(|a| a.deleted_at.is_none())
        .filter_map(|a| {
            let code = a.branch?;
            visible(actor, &code).then(|| BindingView {
                account: a.account.to_string(),
                remark: a.remark.map(|r| r.to_string()).unwrap_or_default(),
                branch_name: names.get(&code).cloned().unwrap_or_default(),
                branch_code: code.to_string(),
            })
        })
        .collect();
    Ok(Json(BindingList { items }))
}

/// Loads the live sub-accounts named in a request, naming each one that is not; a bound
/// actor may only move accounts that are unbound or bound to its own branch.
async fn sub_accounts(
    services: &Services,
    actor: &Actor,
    owner: &MerchantId,
    names: &[AccountName],
) -> Result<Vec<AccountRecord>, Problem> {
    let accounts = services.table.list_accounts(owner).await?;
    let mut found = Vec::with_capacity(names.len());
    let mut violations = Vec::new();
    for (index, name) in names.iter().enumerate() {
        match accounts
            .iter()
            .find(|a| &a.account == name && a.role == Role::SubAccount && a.deleted_at.is_none())
        {
            Some(account) => found.push(account.clone()),
            None => violations.push(Violation::field(
                format!("accounts[{index}]"),
                format!("{name} is not a sub-account of this merchant"),
            )),
        }
    }
    if !violations.is_empty() {
        return Err(Error::invalid(violations).into());
    }
    for account in &found {
        if let Some(current) = &account.branch {
            require_branch(actor, current)?;
        }
    }
    Ok(found)
}

/// Re-binds the named accounts (to `branch`, or to none) through the change engine: every
/// account and its history entry in one transaction, all or nothing, read and decided
/// again on a race. `pick` keeps the accounts the request changes.
#[allow(clippy::too_many_arguments)]
async fn save_bindings(
    services: &Services,
    actor: &Actor,
    keyed: &Keyed,
    owner: &MerchantId,
    names: &[AccountName],
    branch: Option<&BranchCode>,
    action: &str,
    pick: fn(&AccountRecord) -> bool,
) -> Result<(), Problem> {
    services
        .engine()
        .run(keyed.as_ref(), 204, |now| async move {
            let accounts = sub_accounts(services, actor, owner, names)
                .await
                .map_err(|p| p.0)?;
            let mut changes = Changes::new();
            for mut account in accounts.into_iter().filter(&pick) {
                let before = account.branch.as_ref().map(|b| b.to_string());
                account.branch = branch.cloned();
                let version = changes.update(&mut account)?;
                let described =
                    json!({"branch": {"before": before, "after": branch.map(|b| b.to_string())}});
                let entry = history(
                    actor,
                    owner,
                    now,
                    "account",
                    account.account.as_str(),
                    action,
                    described,
                );
                changes.history(&entry, version)?;
            }
            Ok(Decision::new(changes, ()))
        })
        .await?;
    Ok(())
}

/// Bind sub-accounts to a branch; accounts bound elsewhere move to it (re-bind).
#[utoipa::path(put, path = "/branch-bindings", tag = "branches", security(("bearer" = [])), params(OwnerQuery), request_body = BindAccounts,
    responses((status = 204, description = "Bound"),
        (status = 400, description = "VALIDATION_FAILED: accounts[i] not a live sub-account, duplicates, more than 40", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = MODIFY_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "BRANCH_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "CONCURRENT_CHANGE", body = ProblemDetails, content_type = "application/problem+json")))]
async fn bind(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    ApiQuery(query): ApiQuery<OwnerQuery>,
    ApiJson(request): ApiJson<BindAccounts>,
) -> Result<StatusCode, Problem> {
    let actor = &current.actor;
    let owner = query.owner(actor)?;
    RIGHTS.check(actor, &owner, Access::Modify)?;
    let names = parse_account_list(&request.accounts)?;
    let branch = existing_branch(&services, &owner, &request.branch_code).await?;
    require_branch(actor, &branch.code)?;
    save_bindings(
        &services,
        actor,
        &keyed,
        &owner,
        &names,
        Some(&branch.code),
        "bound",
        |_| true,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unbind sub-accounts in bulk: they act for head office again.
#[utoipa::path(post, path = "/branch-bindings/unbind", tag = "branches", security(("bearer" = [])), params(OwnerQuery), request_body = UnbindAccounts,
    responses((status = 204, description = "Unbound"),
        (status = 400, description = "VALIDATION_FAILED: accounts[i]", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = MODIFY_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "CONCURRENT_CHANGE", body = ProblemDetails, content_type = "application/problem+json")))]
async fn unbind(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    ApiQuery(query): ApiQuery<OwnerQuery>,
    ApiJson(request): ApiJson<UnbindAccounts>,
) -> Result<StatusCode, Problem> {
    let actor = &current.actor;
    let owner = query.owner(actor)?;
    RIGHTS.check(actor, &owner, Access::Modify)?;
    let names = parse_account_list(&request.accounts)?;
    // Only the bound ones change: unbinding an unbound account is no change.
    save_bindings(
        &services,
        actor,
        &keyed,
        &owner,
        &names,
        None,
        "unbound",
        |a| a.branch.is_some(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(edit))
        .routes(routes!(branch_history))
        .routes(routes!(list_bindings, bind))
        .routes(routes!(unbind))
}

pub fn app(services: Services) -> Router {
    tessera_platform::http::function_app(routes(), services)
}
