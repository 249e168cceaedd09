//! Products (§7-3 A): create ("list"), query by date range, view, edit (everything until the
//! first issuance, afterwards only the store and branch lists), bulk delist/relist, copy,
//! history. A parent may query a child's products but must switch to change them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashSet;
use tessera_domain::access::{Access, Actor, AreaGuard, FunctionArea};
use tessera_domain::merchant::{validate_image_upload, TicketImage};
use tessera_domain::products::{
    check_edit, check_query_range, ProductId, ProductLists, ProductSpec, TicketKind,
};
use tessera_domain::values::{BranchCode, MerchantId};
use tessera_domain::{calendar, Error, ErrorCode, Violation};
use tessera_platform::auth::CurrentActor;
use tessera_platform::change::{Changes, Decision};
use tessera_platform::idempotency::Keyed;
use tessera_platform::owner::OwnerQuery;
use tessera_platform::services::{Resource, Services};
use tessera_platform::store::history::{HistoryEntry, HistoryList};
use tessera_platform::store::products::ProductRecord;
use tessera_platform::{ApiJson, ApiQuery, Problem, ProblemDetails};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

const ENTITY: &str = tessera_platform::store::products::PRODUCT_ENTITY;

/// What a merchant sends to create or edit a product (and what copy returns).
/// The stack's resources this function is given besides the table (its template
/// environment names exactly these; `tessera-dev` checks both agree).
pub const NEEDS: &[Resource] = &[Resource::Assets];

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductInput {
    pub name: String,
    /// `goods_voucher` (escrow term) or `gift_voucher` (validity term).
    #[schema(value_type = String, pattern = "^(goods_voucher|gift_voucher)$")]
    pub kind: TicketKind,
    /// Escrow period (goods) or validity (gift), days after issuance.
    #[schema(minimum = 1, maximum = 3650)]
    pub term_days: u32,
    /// Whole NT$ from 1 to 1,000,000, as a string or number, e.g. "120"; answered as a
    /// string.
    #[schema(value_type = String, pattern = "^([1-9][0-9]{0,5}|1000000)$")]
    #[serde(serialize_with = "rust_decimal::serde::str::serialize")]
    pub face_value: Decimal,
    #[serde(default)]
    pub usage_notes: String,
    /// Merchant IDs of open redeemable stores allowed to redeem this product.
    #[serde(default)]
    pub redeemable_stores: Vec<String>,
    /// Branch codes that may redeem; empty = any.
    #[serde(default)]
    pub redeem_branches: Vec<String>,
    /// Branch codes that may return; empty = any.
    #[serde(default)]
    pub return_branches: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductView {
    pub product_id: String,
    #[serde(flatten)]
    pub input: ProductInput,
    pub listed: bool,
    /// When the first ticket was issued (then only the three lists can change).
    pub first_issued_at: Option<DateTime<Utc>>,
    /// The picture's key in the assets bucket, and a download link valid for 15 minutes.
    pub image_key: Option<String>,
    pub image_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductList {
    pub items: Vec<ProductView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// First creation date, Taipei (YYYY-MM-DD).
    #[param(format = Date)]
    pub from: String,
    /// Last creation date, Taipei (YYYY-MM-DD); at most a year after `from`.
    #[param(format = Date)]
    pub to: String,
    /// A child merchant's products (after switching), or the session's own.
    #[param(pattern = "^[A-Za-z0-9]{4,20}$")]
    pub merchant_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProductIds {
    /// 1 to 40 product numbers.
    #[schema(min_items = 1, max_items = 40)]
    pub product_ids: Vec<String>,
}

/// The rights check of every product route.
const RIGHTS: AreaGuard = AreaGuard::new(FunctionArea::Products, ErrorCode::ProductNotFound);

fn input_of(spec: &ProductSpec) -> ProductInput {
    ProductInput {
        name: spec.name.clone(),
        kind: spec.kind,
        term_days: spec.term_days,
        face_value: spec.face_value,
        usage_notes: spec.usage_notes.clone(),
        redeemable_stores: spec
            .lists
            .redeemable_stores
            .iter()
            .map(ToString::to_string)
            .collect(),
        redeem_branches: spec
            .lists
            .redeem_branches
            .iter()
            .map(ToString::to_string)
            .collect(),
        return_branches: spec
            .lists
            .return_branches
            .iter()
            .map(ToString::to_string)
            .collect(),
    }
}

fn view(product: &ProductRecord) -> ProductView {
    ProductView {
        product_id: product.product_id.to_string(),
        input: input_of(&product.spec),
        listed: product.listed,
        first_issued_at: product.first_issued_at,
        image_key: product.image_key.clone(),
        image_url: None,
        created_at: product.created_at,
        updated_at: product.updated_at,
    }
}

/// How long a product picture's download link works.
const IMAGE_LINK_LIFETIME: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The view with a download link for the picture, when there is one (presigning is a local
/// signature, no round trip).
async fn linked(services: &Services, product: &ProductRecord) -> Result<ProductView, Error> {
    let mut view = view(product);
    if let Some(key) = &product.image_key {
        view.image_url = Some(
            services
                .assets()?
                .presign_download(key, IMAGE_LINK_LIFETIME)
                .await?,
        );
    }
    Ok(view)
}

fn image_prefix(owner: &MerchantId, product_id: &str) -> String {
    tessera_platform::store::object_keys::product_images(owner, product_id)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ImageUploadRequest {
    /// `image/png` or `image/jpeg`.
    #[schema(pattern = "^image/(png|jpeg)$")]
    pub content_type: String,
    /// Bytes, at most 1 MiB.
    #[schema(minimum = 1, maximum = 1048576)]
    pub size: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImageUpload {
    /// PUT the file here with this content type and exactly `size` bytes.
    pub upload_url: String,
    /// Then confirm with this key (PUT /products/{product_id}/image).
    pub key: String,
    pub expires_at: DateTime<Utc>,
}

/// Ask for a presigned URL to upload the product's picture (PNG or JPEG, ≤ 1 MiB).
#[utoipa::path(post, path = "/products/{product_id}/image-uploads", tag = "products", security(("bearer" = [])),
    params(("product_id" = String, Path, description = "Product number")), request_body = ImageUploadRequest,
    responses((status = 201, body = ImageUpload),
        (status = 400, description = "VALIDATION_FAILED: content_type, size", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = MODIFY_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "PRODUCT_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "PRODUCT_ISSUED_LOCKED", body = ProblemDetails, content_type = "application/problem+json")))]
async fn request_image_upload(
    State(services): State<Services>,
    current: CurrentActor,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ImageUploadRequest>,
) -> Result<(StatusCode, Json<ImageUpload>), Problem> {
    let actor = &current.actor;
    let owner = actor.acting_as.clone();
    RIGHTS.check(actor, &owner, Access::Modify)?;
    let product = existing(&services, &owner, &id).await?;
    require_image_editable(&product)?;
    let kind = validate_image_upload(TicketImage::Product, &input.content_type, input.size)?;
    let key = format!(
        "{}{}.{}",
        image_prefix(&owner, &id),
        uuid::Uuid::new_v4().simple(),
        kind.extension()
    );
    let upload_url = services
        .assets()?
        .presign_upload(&key, kind.content_type(), input.size, IMAGE_LINK_LIFETIME)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ImageUpload {
            upload_url,
            key,
            expires_at: services.clock.now()
                + chrono::Duration::seconds(IMAGE_LINK_LIFETIME.as_secs() as i64),
        }),
    ))
}

/// The picture is part of what a ticket holder was sold: it is locked with the other terms
/// once tickets are issued.
fn require_image_editable(product: &ProductRecord) -> Result<(), Error> {
    if product.first_issued_at.is_some() {
        return Err(Error {
            code: ErrorCode::ProductIssuedLocked,
            detail: Some(
                "tickets were issued for this product; its picture can no longer change".into(),
            ),
            violations: vec![Violation::field("image", "locked once tickets are issued")],
        });
    }
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConfirmProductImage {
    /// The key handed out with the upload URL.
    pub key: String,
}

/// Use an uploaded file as the product's picture; the object is checked again (this
/// product's upload, size, really a PNG/JPEG).
#[utoipa::path(put, path = "/products/{product_id}/image", tag = "products", security(("bearer" = [])),
    params(("product_id" = String, Path, description = "Product number")), request_body = ConfirmProductImage,
    responses((status = 200, body = ProductView),
        (status = 400, description = "VALIDATION_FAILED: key", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = MODIFY_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "PRODUCT_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "PRODUCT_ISSUED_LOCKED; CONCURRENT_CHANGE", body = ProblemDetails, content_type = "application/problem+json")))]
async fn set_image(
    State(services): State<Services>,
    current: CurrentActor,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ConfirmProductImage>,
) -> Result<Json<ProductView>, Problem> {
    let actor = &current.actor;
    let owner = actor.acting_as.clone();
    RIGHTS.check(actor, &owner, Access::Modify)?;
    require_image_editable(&existing(&services, &owner, &id).await?)?;
    tessera_platform::assets::verify_image_upload(
        services.assets()?,
        &input.key,
        &image_prefix(&owner, &id),
        TicketImage::Product,
    )
    .await?;
    let key = &input.key;
    let product = change_product(&services, actor, &owner, &id, "image_changed", |product| {
        require_image_editable(product)?;
        let before = product.image_key.replace(key.clone());
        Ok(json!({"before": before, "after": key}))
    })
    .await?;
    Ok(Json(linked(&services, &product).await?))
}

/// Changes one stored product through the change engine: `apply` is given it as stored
/// (read again on a lost race) and answers the history entry's changes.
async fn change_product(
    services: &Services,
    actor: &Actor,
    owner: &MerchantId,
    id: &str,
    action: &str,
    apply: impl Fn(&mut ProductRecord) -> Result<serde_json::Value, Error> + Sync,
) -> Result<ProductRecord, Problem> {
    let apply = &apply;
    let product = services
        .engine()
        .run(None, 200, |now| async move {
            let mut product = existing(services, owner, id).await.map_err(|p| p.0)?;
            let changed = apply(&mut product)?;
            product.updated_at = now;
            let mut changes = Changes::new();
            let version = changes.update(&mut product)?;
            changes.history(
                &history(actor, owner, now, &product.product_id, action, changed),
                version,
            )?;
            Ok(Decision::new(changes, product))
        })
        .await?;
    Ok(product)
}

fn history(
    actor: &Actor,
    owner: &MerchantId,
    at: DateTime<Utc>,
    id: &ProductId,
    action: &str,
    changes: serde_json::Value,
) -> HistoryEntry {
    HistoryEntry::new(
        owner,
        &actor.account,
        at,
        ENTITY,
        id.as_str(),
        action,
        changes,
    )
}

/// Parses a request into a spec: field rules in the domain, then the lists against what
/// exists — stores must be open redeemable stores, branches must be the merchant's.
async fn spec_from(
    services: &Services,
    owner: &MerchantId,
    input: ProductInput,
) -> Result<ProductSpec, Problem> {
    let mut violations = Vec::new();
    let mut parse_list = |field: &str,
                          values: &[String],
                          parse: &dyn Fn(&str, &str) -> Result<String, Error>|
     -> Vec<String> {
        values
            .iter()
            .enumerate()
            .filter_map(
                |(index, value)| match parse(&format!("{field}[{index}]"), value) {
                    Ok(parsed) => Some(parsed),
                    Err(error) => {
                        violations.extend(error.violations);
                        None
                    }
                },
            )
            .collect()
    };
    let stores: Vec<String> = parse_list("redeemable_stores", &input.redeemable_stores, &|f, v| {
        MerchantId::parse(f, v).map(|m| m.to_string())
    });
    let redeem: Vec<String> = parse_list("redeem_branches", &input.redeem_branches, &|f, v| {
        BranchCode::parse(f, v).map(|b| b.to_string())
    });
    let returns: Vec<String> = parse_list("return_branches", &input.return_branches, &|f, v| {
        BranchCode::parse(f, v).map(|b| b.to_string())
    });
    if !violations.is_empty() {
        return Err(Error::invalid(violations).into());
    }
    let lists = ProductLists {
        redeemable_stores: stores
            .iter()
            .filter_map(|s| MerchantId::parse("", s).ok())
            .collect(),
        redeem_branches: redeem
            .iter()
            .filter_map(|b| BranchCode::parse("", b).ok())
            .collect(),
        return_branches: returns
            .iter()
            .filter_map(|b| BranchCode::parse("", b).ok())
            .collect(),
    };
    let spec = ProductSpec {
        name: input.name,
        kind: input.kind,
        term_days: input.term_days,
        face_value: input.face_value,
        usage_notes: input.usage_notes,
        lists,
    }
    .validate()?;
    check_lists_exist(services, owner, &spec.lists).await?;
    Ok(spec)
}

async fn check_lists_exist(
    services: &Services,
    owner: &MerchantId,
    lists: &ProductLists,
) -> Result<(), Problem> {
    let (relations, branches) = tokio::join!(
        services.table.list_stores(owner),
        services.table.list_branches(owner)
    );
    let open: HashSet<MerchantId> = relations?
        .into_iter()
        .filter(|r| r.status.is_open())
        .map(|r| r.store)
        .collect();
    let codes: HashSet<BranchCode> = branches?.into_iter().map(|b| b.code).collect();
    let mut violations = Vec::new();
    for (index, store) in lists.redeemable_stores.iter().enumerate() {
        if !open.contains(store) {
            violations.push(Violation::field(
                format!("redeemable_stores[{index}]"),
                format!("{store} is not an open redeemable store"),
            ));
        }
    }
    for (field, list) in [
        ("redeem_branches", &lists.redeem_branches),
        ("return_branches", &lists.return_branches),
    ] {
        for (index, code) in list.iter().enumerate() {
            if !codes.contains(code) {
                violations.push(Violation::field(
                    format!("{field}[{index}]"),
                    format!("{code} is not a branch of this merchant"),
                ));
            }
        }
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(violations).into())
    }
}

async fn existing(
    services: &Services,
    owner: &MerchantId,
    id: &str,
) -> Result<ProductRecord, Problem> {
    // A number no product can have names none: the same answer as an unknown one.
    let id =
        ProductId::parse("product_id", id).map_err(|_| Problem::new(ErrorCode::ProductNotFound))?;
    services
        .table
        .get_product(owner, &id)
        .await?
        .ok_or_else(|| Problem::new(ErrorCode::ProductNotFound))
}

fn new_product_id() -> ProductId {
    let random = uuid::Uuid::new_v4();
    let mut bytes = [0u8; 10];
    bytes.copy_from_slice(&random.as_bytes()[..10]);
    ProductId::generate(bytes)
}

const QUERY_ERRORS: &str = "UNAUTHENTICATED (401); RIGHT_MISSING: query right of products (403)";
const MODIFY_ERRORS: &str =
    "UNAUTHENTICATED (401); RIGHT_MISSING: modify right of products; SWITCH_REQUIRED (403)";

/// Products created between two Taipei dates (at most a year apart).
#[utoipa::path(get, path = "/products", tag = "products", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = ProductList),
        (status = 400, description = "VALIDATION_FAILED: from, to (at most one year)", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = QUERY_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "PRODUCT_NOT_FOUND: merchant_id is not this merchant or a child", body = ProblemDetails, content_type = "application/problem+json")))]
async fn list(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ProductList>, Problem> {
    let actor = &current.actor;
    let owner = OwnerQuery {
        merchant_id: query.merchant_id.clone(),
    }
    .owner(actor)?;
    RIGHTS.check(actor, &owner, Access::Query)?;
    let date = |field: &str, text: &str| {
        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_err(|_| Error::invalid_field(field, "a date as YYYY-MM-DD"))
    };
    let (from, to) = (date("from", &query.from)?, date("to", &query.to)?);
    check_query_range(from, to)?;
    let products = services
        .table
        .list_products(
            &owner,
            calendar::start_of_day(from),
            calendar::end_of_day_exclusive(to),
        )
        .await?;
    let mut items = Vec::with_capacity(products.len());
    for product in &products {
        items.push(linked(&services, product).await?);
    }
    Ok(Json(ProductList { items }))
}

/// Create ("list") a product.
#[utoipa::path(post, path = "/products", tag = "products", security(("bearer" = [])), params(OwnerQuery), request_body = ProductInput,
    responses((status = 201, body = ProductView),
        (status = 400, description = "VALIDATION_FAILED: name, term_days, face_value, usage_notes, lists (unknown or unlinked entries)", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = MODIFY_ERRORS, body = ProblemDetails, content_type = "application/problem+json")))]
async fn create(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    ApiQuery(query): ApiQuery<OwnerQuery>,
    ApiJson(input): ApiJson<ProductInput>,
) -> Result<(StatusCode, Json<ProductView>), Problem> {
    let actor = &current.actor;
    let owner = query.owner(actor)?;
    RIGHTS.check(actor, &owner, Access::Modify)?;
    let spec = spec_from(&services, &owner, input).await?;
    let template = ProductRecord {
        merchant_id: owner.clone(),
        product_id: new_product_id(),
        spec,
        listed: true,
        first_issued_at: None,
        image_key: None,
        created_at: services.clock.now(),
        updated_at: services.clock.now(),
        version: 0,
    };
    let (template, owner) = (&template, &owner);
    let view = services
        .engine()
        .run(keyed.as_ref(), 201, |now| async move {
            let mut product = template.clone();
            product.created_at = now;
            product.updated_at = now;
            let mut changes = Changes::new();
            // A new random number: taken only if 64 random bits collide.
            let version = changes.create(&mut product, ErrorCode::ConcurrentChange)?;
            changes.history(
                &history(
                    actor,
                    owner,
                    now,
                    &product.product_id,
                    "created",
                    json!(input_of(&product.spec)),
                ),
                version,
            )?;
            Ok(Decision::new(changes, view(&product)))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// One product.
#[utoipa::path(get, path = "/products/{product_id}", tag = "products", security(("bearer" = [])),
    params(("product_id" = String, Path, description = "Product number"), OwnerQuery),
    responses((status = 200, body = ProductView),
        (status = 403, description = QUERY_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "PRODUCT_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json")))]
async fn get_one(
    State(services): State<Services>,
    current: CurrentActor,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<OwnerQuery>,
) -> Result<Json<ProductView>, Problem> {
    let owner = query.owner(&current.actor)?;
    RIGHTS.check(&current.actor, &owner, Access::Query)?;
    Ok(Json(
        linked(&services, &existing(&services, &owner, &id).await?).await?,
    ))
}

/// Replace a product's data. Once tickets were issued, only the three lists may differ.
#[utoipa::path(put, path = "/products/{product_id}", tag = "products", security(("bearer" = [])),
    params(("product_id" = String, Path, description = "Product number"), OwnerQuery), request_body = ProductInput,
    responses((status = 200, body = ProductView),
        (status = 400, description = "VALIDATION_FAILED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = MODIFY_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "PRODUCT_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "PRODUCT_ISSUED_LOCKED naming the locked fields; CONCURRENT_CHANGE", body = ProblemDetails, content_type = "application/problem+json")))]
async fn edit(
    State(services): State<Services>,
    current: CurrentActor,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<OwnerQuery>,
    ApiJson(input): ApiJson<ProductInput>,
) -> Result<Json<ProductView>, Problem> {
    let actor = &current.actor;
    let owner = query.owner(actor)?;
    RIGHTS.check(actor, &owner, Access::Modify)?;
    // Another merchant's (or no) product is "not found" before its input is judged.
    existing(&services, &owner, &id).await?;
    let spec = spec_from(&services, &owner, input).await?;
    let product = change_product(&services, actor, &owner, &id, "edited", |product| {
        check_edit(product.first_issued_at.is_some(), &product.spec, &spec)?;
        let before = input_of(&product.spec);
        product.spec = spec.clone();
        Ok(json!({"before": before, "after": input_of(&product.spec)}))
    })
    .await?;
    Ok(Json(view(&product)))
}

/// Delist or relist products together (all or nothing); delisted products cannot be issued.
async fn set_listed(
    services: &Services,
    actor: &Actor,
    owner: &MerchantId,
    ids: &[String],
    listed: bool,
) -> Result<(), Problem> {
    if ids.is_empty() || ids.len() > 40 {
        return Err(Error::invalid_field("product_ids", "1 to 40 product numbers").into());
    }
    let mut seen = HashSet::new();
    if let Some(index) = ids.iter().position(|id| !seen.insert(id.as_str())) {
        return Err(Error::invalid_field(format!("product_ids[{index}]"), "listed twice").into());
    }
    let known: Vec<ProductId> = ids
        .iter()
        .filter_map(|id| ProductId::parse("product_ids", id).ok())
        .collect();
    let known = &known;
    let action = if listed { "relisted" } else { "delisted" };
    services
        .engine()
        .run(None, 204, |now| async move {
            let mut found: std::collections::HashMap<ProductId, ProductRecord> = services
                .table
                .get_products(owner, known)
                .await?
                .into_iter()
                .map(|p| (p.product_id.clone(), p))
                .collect();
            let violations: Vec<Violation> = ids
                .iter()
                .enumerate()
                .filter(|(_, id)| !found.contains_key(id.as_str()))
                .map(|(index, id)| {
                    Violation::field(
                        format!("product_ids[{index}]"),
                        format!("{id} is not a product of this merchant"),
                    )
                })
                .collect();
            if !violations.is_empty() {
                return Err(Error::invalid(violations));
            }
            let mut changes = Changes::new();
            for id in ids {
                let Some(mut product) = found.remove(id.as_str()) else {
                    continue;
                };
                if product.listed == listed {
                    continue;
                }
                product.listed = listed;
                product.updated_at = now;
                let version = changes.update(&mut product)?;
                changes.history(
                    &history(
                        actor,
                        owner,
                        now,
                        &product.product_id,
                        action,
                        json!({"listed": listed}),
                    ),
                    version,
                )?;
            }
            Ok(Decision::new(changes, ()))
        })
        .await?;
    Ok(())
}

/// Delist products in bulk: they can no longer be issued.
#[utoipa::path(post, path = "/products/delist", tag = "products", security(("bearer" = [])), params(OwnerQuery), request_body = ProductIds,
    responses((status = 204, description = "Delisted"),
        (status = 400, description = "VALIDATION_FAILED: product_ids[i]", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = MODIFY_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "PRODUCT_NOT_FOUND: one of the products is not the merchant's (nothing changes)", body = ProblemDetails, content_type = "application/problem+json")))]
async fn delist(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<OwnerQuery>,
    ApiJson(input): ApiJson<ProductIds>,
) -> Result<StatusCode, Problem> {
    let owner = query.owner(&current.actor)?;
    RIGHTS.check(&current.actor, &owner, Access::Modify)?;
    set_listed(&services, &current.actor, &owner, &input.product_ids, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Relist products in bulk: they can be issued again.
#[utoipa::path(post, path = "/products/relist", tag = "products", security(("bearer" = [])), params(OwnerQuery), request_body = ProductIds,
    responses((status = 204, description = "Relisted"),
        (status = 400, description = "VALIDATION_FAILED: product_ids[i]", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = MODIFY_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "PRODUCT_NOT_FOUND: one of the products is not the merchant's (nothing changes)", body = ProblemDetails, content_type = "application/problem+json")))]
async fn relist(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<OwnerQuery>,
    ApiJson(input): ApiJson<ProductIds>,
) -> Result<StatusCode, Problem> {
    let owner = query.owner(&current.actor)?;
    RIGHTS.check(&current.actor, &owner, Access::Modify)?;
    set_listed(&services, &current.actor, &owner, &input.product_ids, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A copy of a product's data, to edit and create as a new product (nothing is stored).
#[utoipa::path(get, path = "/products/{product_id}/copy", tag = "products", security(("bearer" = [])),
    params(("product_id" = String, Path, description = "Product number"), OwnerQuery),
    responses((status = 200, body = ProductInput),
        (status = 403, description = QUERY_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "PRODUCT_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json")))]
async fn copy(
    State(services): State<Services>,
    current: CurrentActor,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<OwnerQuery>,
) -> Result<Json<ProductInput>, Problem> {
    let owner = query.owner(&current.actor)?;
    RIGHTS.check(&current.actor, &owner, Access::Query)?;
    Ok(Json(input_of(
        &existing(&services, &owner, &id).await?.spec,
    )))
}

/// The product's history, oldest first.
#[utoipa::path(get, path = "/products/{product_id}/history", tag = "products", security(("bearer" = [])),
    params(("product_id" = String, Path, description = "Product number"), OwnerQuery),
    responses((status = 200, body = HistoryList),
        (status = 403, description = QUERY_ERRORS, body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "PRODUCT_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json")))]
async fn product_history(
    State(services): State<Services>,
    current: CurrentActor,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<OwnerQuery>,
) -> Result<Json<HistoryList>, Problem> {
    let owner = query.owner(&current.actor)?;
    RIGHTS.check(&current.actor, &owner, Access::Query)?;
    let product = existing(&services, &owner, &id).await?;
    let entries = services
        .table
        .list_history(&owner, ENTITY, product.product_id.as_str())
        .await?;
    Ok(Json(HistoryList::from(entries)))
}

pub fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, edit))
        .routes(routes!(delist))
        .routes(routes!(relist))
        .routes(routes!(copy))
        .routes(routes!(product_history))
        .routes(routes!(request_image_upload))
        .routes(routes!(set_image))
}

pub fn app(services: Services) -> Router {
    tessera_platform::http::function_app(routes(), services)
}
