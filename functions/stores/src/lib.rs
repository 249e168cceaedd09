//! Redeemable stores and joint issuers (§7-1): the issuer searches merchants, adds one as a
//! redeemable store, unlinks or re-opens it; the store sees its joint issuers and can unlink
//! them, after which the issuer cannot re-open. Both sides see the relation's history.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use tessera_domain::access::{Access, Actor, AreaGuard, FunctionArea};
use tessera_domain::relations::{issuer_opens, issuer_unlinks, store_unlinks, RelationStatus};
use tessera_domain::values::MerchantId;
use tessera_domain::{Error, ErrorCode};
use tessera_platform::auth::CurrentActor;
use tessera_platform::change::{Changes, Decision};
use tessera_platform::idempotency::Keyed;
use tessera_platform::services::{Resource, Services};
use tessera_platform::store::history::HistoryEntry;
use tessera_platform::store::products::PRODUCT_ENTITY;
use tessera_platform::store::relations::{
    change_relation, RelationRecord, ISSUER_ENTITY, STORE_ENTITY,
};
use tessera_platform::{ApiJson, ApiQuery, Problem, ProblemDetails};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The rights check of every relation route (redeemable stores are an operation setting).
const RIGHTS: AreaGuard =
    AreaGuard::new(FunctionArea::OperationSettings, ErrorCode::RelationNotFound);

/// The stack's resources this function is given besides the table (its template
/// environment names exactly these; `tessera-dev` checks both agree).
pub const NEEDS: &[Resource] = &[];

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RelationView {
    /// The other merchant: the store in the issuer's list, the issuer in the store's list.
    pub merchant_id: String,
    pub name: String,
    /// `open`, `unlinked_by_issuer` or `unlinked_by_store`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RelationList {
    pub items: Vec<RelationView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MerchantHit {
    pub merchant_id: String,
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MerchantHits {
    pub items: Vec<MerchantHit>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// A merchant ID (exact) or the start of a merchant's name; 1–40 characters.
    #[param(min_length = 1, max_length = 40)]
    pub q: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddStore {
    #[schema(value_type = tessera_platform::formats::MerchantIdText)]
    pub merchant_id: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetStatus {
    /// `open` or `unlinked`.
    pub status: StatusInput,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusInput {
    Open,
    Unlinked,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RelationHistoryView {
    pub at: DateTime<Utc>,
    /// The merchant whose account acted.
    pub by_merchant: String,
    pub by_account: String,
    pub action: String,
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RelationHistoryList {
    pub items: Vec<RelationHistoryView>,
}

fn status_name(status: RelationStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

async fn names(
    services: &Services,
    ids: impl Iterator<Item = MerchantId>,
) -> Result<HashMap<MerchantId, String>, Problem> {
    let ids: Vec<MerchantId> = ids.collect();
    let merchants = services.table.get_merchants(&ids).await?;
    Ok(merchants
        .into_iter()
        .map(|m| (m.merchant_id, m.name))
        .collect())
}

fn view(
    relation: &RelationRecord,
    other: &MerchantId,
    names: &HashMap<MerchantId, String>,
) -> RelationView {
    RelationView {
        merchant_id: other.to_string(),
        name: names.get(other).cloned().unwrap_or_default(),
        status: status_name(relation.status),
        created_at: relation.created_at,
        updated_at: relation.updated_at,
    }
}

fn entry(
    actor: &Actor,
    at: DateTime<Utc>,
    action: &str,
    before: Option<RelationStatus>,
    after: RelationStatus,
) -> HistoryEntry {
    // Entity and id are set per side by the store.
    HistoryEntry::by(
        actor,
        at,
        "",
        "",
        action,
        json!({"acting_merchant": actor.acting_as, "before": before.map(status_name), "after": status_name(after)}),
    )
}

fn parse_other(field: &str, value: &str) -> Result<MerchantId, Problem> {
    MerchantId::parse(field, value).map_err(|_| Problem::new(ErrorCode::RelationNotFound))
}

const ERRORS: &str =
    "UNAUTHENTICATED, SESSION_EXPIRED (401); RIGHT_MISSING: operation_settings (403)";

/// Search merchants to add as a redeemable store: by exact merchant ID or name prefix.
#[utoipa::path(get, path = "/merchants/search", tag = "stores", security(("bearer" = [])), params(SearchQuery),
    responses((status = 200, body = MerchantHits),
        (status = 400, description = "VALIDATION_FAILED: q", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = ERRORS, body = ProblemDetails, content_type = "application/problem+json")))]
async fn search(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<MerchantHits>, Problem> {
    let actor = &current.actor;
    RIGHTS.check_own(actor, Access::Query)?;
    let q = query.q.trim();
    if q.is_empty() || q.chars().count() > 40 {
        return Err(Error::invalid_field("q", "1 to 40 characters").into());
    }
    let mut hits = Vec::new();
    if let Ok(id) = MerchantId::parse("q", q) {
        if let Some(merchant) = services.table.get_merchant(&id).await? {
            hits.push(merchant);
        }
    }
    for merchant in services.table.search_merchants_by_name(q, 20).await? {
        if !hits
            .iter()
            .any(|hit| hit.merchant_id == merchant.merchant_id)
        {
            hits.push(merchant);
        }
    }
    let items = hits
        .into_iter()
        .filter(|merchant| merchant.merchant_id != actor.acting_as)
        .map(|merchant| MerchantHit {
            merchant_id: merchant.merchant_id.to_string(),
            name: merchant.name,
        })
        .collect();
    Ok(Json(MerchantHits { items }))
}

/// The issuer's redeemable stores.
#[utoipa::path(get, path = "/redeemable-stores", tag = "stores", security(("bearer" = [])),
    responses((status = 200, body = RelationList), (status = 403, description = ERRORS, body = ProblemDetails, content_type = "application/problem+json")))]
async fn list_stores(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<Json<RelationList>, Problem> {
    RIGHTS.check_own(&current.actor, Access::Query)?;
    let relations = services.table.list_stores(&current.actor.acting_as).await?;
    let names = names(&services, relations.iter().map(|r| r.store.clone())).await?;
    Ok(Json(RelationList {
        items: relations
            .iter()
            .map(|r| view(r, &r.store, &names))
            .collect(),
    }))
}

/// Add a merchant as a redeemable store (the relation starts open).
#[utoipa::path(post, path = "/redeemable-stores", tag = "stores", security(("bearer" = [])), request_body = AddStore,
    responses((status = 201, body = RelationView),
        (status = 400, description = "VALIDATION_FAILED: merchant_id; RELATION_WITH_SELF", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "MERCHANT_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "RELATION_EXISTS", body = ProblemDetails, content_type = "application/problem+json")))]
async fn add_store(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    ApiJson(input): ApiJson<AddStore>,
) -> Result<(StatusCode, Json<RelationView>), Problem> {
    let actor = &current.actor;
    RIGHTS.check_own(actor, Access::Modify)?;
    let store = MerchantId::parse("merchant_id", &input.merchant_id)?;
    if store == actor.acting_as {
        return Err(Problem::new(ErrorCode::RelationWithSelf));
    }
    let merchant = services
        .table
        .get_merchant(&store)
        .await?
        .ok_or_else(|| Problem::new(ErrorCode::MerchantNotFound))?;
    let names = HashMap::from([(store.clone(), merchant.name)]);
    let (store, names) = (&store, &names);
    let added = services
        .engine()
        .run(keyed.as_ref(), 201, |now| async move {
            let mut relation = RelationRecord {
                issuer: actor.acting_as.clone(),
                store: store.clone(),
                status: RelationStatus::Open,
                created_at: now,
                updated_at: now,
                version: 0,
            };
            let mut changes = Changes::new();
            let by = entry(actor, now, "added", None, RelationStatus::Open);
            change_relation(&mut changes, &mut relation, &by)?;
            Ok(Decision::new(changes, view(&relation, store, names)))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(added)))
}

/// Unlink a redeemable store, or re-open it (refused once the store has unlinked you).
#[utoipa::path(put, path = "/redeemable-stores/{store_id}/status", tag = "stores", security(("bearer" = [])),
    params(("store_id" = String, Path, description = "The store's merchant ID")), request_body = SetStatus,
    responses((status = 200, body = RelationView),
        (status = 403, description = ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "RELATION_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "RELATION_ALREADY_OPEN, RELATION_NOT_OPEN, RELATION_BLOCKED_BY_STORE, CONCURRENT_CHANGE", body = ProblemDetails, content_type = "application/problem+json")))]
async fn set_store_status(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    Path(store_id): Path<String>,
    ApiJson(input): ApiJson<SetStatus>,
) -> Result<Json<RelationView>, Problem> {
    let actor = &current.actor;
    RIGHTS.check_own(actor, Access::Modify)?;
    let store = parse_other("store_id", &store_id)?;
    let relation = services
        .table
        .get_relation(&actor.acting_as, &store)
        .await?
        .ok_or_else(|| Problem::new(ErrorCode::RelationNotFound))?;
    let after = match input.status {
        StatusInput::Open => issuer_opens(relation.status)?,
        StatusInput::Unlinked => issuer_unlinks(relation.status)?,
    };
    let by = ProductGrantRemover::Issuer(actor);
    if after.is_open() {
        // A removal an earlier unlink left unfinished is finished first: re-opening grants
        // no product by itself.
        revoke_product_grants(&services, &actor.acting_as, &store, by).await?;
    }
    let names = names(&services, std::iter::once(store.clone())).await?;
    let (services_ref, store_ref, names_ref, input) = (&services, &store, &names, &input);
    let changed = services
        .engine()
        .run(keyed.as_ref(), 200, |now| async move {
            let mut relation = services_ref
                .table
                .get_relation(&actor.acting_as, store_ref)
                .await?
                .ok_or_else(|| Error::new(ErrorCode::RelationNotFound))?;
            let before = relation.status;
            let (after, action) = match input.status {
                StatusInput::Open => (issuer_opens(before)?, "reopened"),
                StatusInput::Unlinked => (issuer_unlinks(before)?, "unlinked_by_issuer"),
            };
            relation.status = after;
            relation.updated_at = now;
            let mut changes = Changes::new();
            let by = entry(actor, now, action, Some(before), after);
            change_relation(&mut changes, &mut relation, &by)?;
            Ok(Decision::new(
                changes,
                view(&relation, store_ref, names_ref),
            ))
        })
        .await?;
    if !after.is_open() {
        revoke_product_grants(&services, &actor.acting_as, &store, by).await?;
    }
    Ok(Json(changed))
}

/// The store's joint issuers: merchants that made it a redeemable store.
#[utoipa::path(get, path = "/joint-issuers", tag = "stores", security(("bearer" = [])),
    responses((status = 200, body = RelationList), (status = 403, description = ERRORS, body = ProblemDetails, content_type = "application/problem+json")))]
async fn list_issuers(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<Json<RelationList>, Problem> {
    RIGHTS.check_own(&current.actor, Access::Query)?;
    let relations = services
        .table
        .list_joint_issuers(&current.actor.acting_as)
        .await?;
    let names = names(&services, relations.iter().map(|r| r.issuer.clone())).await?;
    Ok(Json(RelationList {
        items: relations
            .iter()
            .map(|r| view(r, &r.issuer, &names))
            .collect(),
    }))
}

/// Unlink a joint issuer. The issuer can no longer re-open the relation afterwards.
#[utoipa::path(post, path = "/joint-issuers/{issuer_id}/unlink", tag = "stores", security(("bearer" = [])),
    params(("issuer_id" = String, Path, description = "The issuer's merchant ID")),
    responses((status = 200, body = RelationView),
        (status = 403, description = ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "RELATION_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "RELATION_NOT_OPEN, CONCURRENT_CHANGE", body = ProblemDetails, content_type = "application/problem+json")))]
async fn unlink_issuer(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    Path(issuer_id): Path<String>,
) -> Result<Json<RelationView>, Problem> {
    let actor = &current.actor;
    RIGHTS.check_own(actor, Access::Modify)?;
    let issuer = parse_other("issuer_id", &issuer_id)?;
    let names = names(&services, std::iter::once(issuer.clone())).await?;
    let (services_ref, issuer_ref, names_ref) = (&services, &issuer, &names);
    let changed = services
        .engine()
        .run(keyed.as_ref(), 200, |now| async move {
            let mut relation = services_ref
                .table
                .get_relation(issuer_ref, &actor.acting_as)
                .await?
                .ok_or_else(|| Error::new(ErrorCode::RelationNotFound))?;
            let before = relation.status;
            relation.status = store_unlinks(before)?;
            relation.updated_at = now;
            let mut changes = Changes::new();
            let by = entry(
                actor,
                now,
                "unlinked_by_store",
                Some(before),
                relation.status,
            );
            change_relation(&mut changes, &mut relation, &by)?;
            Ok(Decision::new(
                changes,
                view(&relation, issuer_ref, names_ref),
            ))
        })
        .await?;
    revoke_product_grants(
        &services,
        &issuer,
        &actor.acting_as,
        ProductGrantRemover::Store,
    )
    .await?;
    Ok(Json(changed))
}

/// Products taken off in one transaction (each product and its history entry).
const PRODUCTS_PER_TRANSACTION: usize = 45;

/// Who ended the relation, for the products' history.
#[derive(Clone, Copy)]
enum ProductGrantRemover<'a> {
    Issuer(&'a Actor),
    /// The store's accounts are not the issuer's: the platform records it.
    Store,
}

/// Takes `store` off the redeemable-store list of every product of `issuer` that lists it
/// (spec §3, manual §7-1): an ended relation keeps no product grants, so re-opening it grants
/// nothing until the issuer grants products again one by one. Through the change engine,
/// each product with a history entry, in transactions of up to
/// [`PRODUCTS_PER_TRANSACTION`]; a product changed meanwhile is read again. Safe to repeat.
async fn revoke_product_grants(
    services: &Services,
    issuer: &MerchantId,
    store: &MerchantId,
    by: ProductGrantRemover<'_>,
) -> Result<usize, Error> {
    let listing: Vec<_> = services
        .table
        .all_products(issuer)
        .await?
        .into_iter()
        .filter(|p| p.spec.lists.redeemable_stores.contains(store))
        .map(|p| p.product_id)
        .collect();
    let engine = services.engine();
    let mut revoked = 0;
    for chunk in listing.chunks(PRODUCTS_PER_TRANSACTION) {
        revoked += engine
            .run(None, 200, |now| async move {
                let mut changes = Changes::new();
                let mut count = 0_usize;
                for mut product in services.table.get_products(issuer, chunk).await? {
                    if !product.spec.lists.redeemable_stores.contains(store) {
                        continue;
                    }
                    product.spec.lists.redeemable_stores.retain(|s| s != store);
                    product.updated_at = now;
                    let version = changes.update(&mut product)?;
                    let what = json!({"redeemable_stores": {"removed": [store]}, "reason": "the relation with the store ended"});
                    let id = product.product_id.as_str();
                    let entry = match by {
                        ProductGrantRemover::Issuer(actor) => HistoryEntry::new(
                            issuer,
                            &actor.account,
                            now,
                            PRODUCT_ENTITY,
                            id,
                            "redeemable_store_removed",
                            what,
                        ),
                        ProductGrantRemover::Store => HistoryEntry::by_system(
                            issuer,
                            now,
                            PRODUCT_ENTITY,
                            id,
                            "redeemable_store_removed",
                            what,
                        ),
                    };
                    changes.history(&entry, version)?;
                    count += 1;
                }
                Ok(Decision::new(changes, count))
            })
            .await?;
    }
    Ok(revoked)
}

async fn history(
    services: &Services,
    actor: &Actor,
    entity: &str,
    other: &MerchantId,
) -> Result<Json<RelationHistoryList>, Problem> {
    let entries = services
        .table
        .list_history(&actor.acting_as, entity, other.as_str())
        .await?;
    if entries.is_empty() {
        return Err(Problem::new(ErrorCode::RelationNotFound));
    }
    Ok(Json(RelationHistoryList {
        items: entries
            .into_iter()
            .map(|e| RelationHistoryView {
                at: e.at,
                by_merchant: e.changes["acting_merchant"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                by_account: e.by_account.to_string(),
                action: e.action,
                changes: e.changes,
            })
            .collect(),
    }))
}

/// History of the relation with a redeemable store (both sides' changes).
#[utoipa::path(get, path = "/redeemable-stores/{store_id}/history", tag = "stores", security(("bearer" = [])),
    params(("store_id" = String, Path, description = "The store's merchant ID")),
    responses((status = 200, body = RelationHistoryList), (status = 403, description = ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "RELATION_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json")))]
async fn store_history(
    State(services): State<Services>,
    current: CurrentActor,
    Path(store_id): Path<String>,
) -> Result<Json<RelationHistoryList>, Problem> {
    RIGHTS.check_own(&current.actor, Access::Query)?;
    let store = parse_other("store_id", &store_id)?;
    services
        .table
        .get_relation(&current.actor.acting_as, &store)
        .await?
        .ok_or_else(|| Problem::new(ErrorCode::RelationNotFound))?;
    history(&services, &current.actor, STORE_ENTITY, &store).await
}

/// History of the relation with a joint issuer (both sides' changes).
#[utoipa::path(get, path = "/joint-issuers/{issuer_id}/history", tag = "stores", security(("bearer" = [])),
    params(("issuer_id" = String, Path, description = "The issuer's merchant ID")),
    responses((status = 200, body = RelationHistoryList), (status = 403, description = ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "RELATION_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json")))]
async fn issuer_history(
    State(services): State<Services>,
    current: CurrentActor,
    Path(issuer_id): Path<String>,
) -> Result<Json<RelationHistoryList>, Problem> {
    RIGHTS.check_own(&current.actor, Access::Query)?;
    let issuer = parse_other("issuer_id", &issuer_id)?;
    services
        .table
        .get_relation(&issuer, &current.actor.acting_as)
        .await?
        .ok_or_else(|| Problem::new(ErrorCode::RelationNotFound))?;
    history(&services, &current.actor, ISSUER_ENTITY, &issuer).await
}

pub fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(list_stores, add_store))
        .routes(routes!(set_store_status))
        .routes(routes!(store_history))
        .routes(routes!(list_issuers))
        .routes(routes!(unlink_issuer))
        .routes(routes!(issuer_history))
}

pub fn app(services: Services) -> Router {
    tessera_platform::http::function_app(routes(), services)
}
