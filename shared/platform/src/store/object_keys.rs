//! The one place where S3 object keys are spelled, beside the table's keys: every object a
//! merchant owns lives under `merchants/{merchant}/`, the prefix the template's S3 policies
//! grant (`${Bucket.Arn}/merchants/*`), so no key can reach another merchant's objects and
//! no function can write outside the prefix.

use tessera_domain::values::MerchantId;

/// The prefix of everything a merchant owns in a bucket (the template's policies grant it).
pub const MERCHANTS_PREFIX: &str = "merchants/";

/// Where an uploaded issuance spreadsheet is kept (uploads bucket).
pub fn issuance_upload(merchant: &MerchantId, upload_id: &str) -> String {
    format!("{MERCHANTS_PREFIX}{merchant}/issuance/{upload_id}.xlsx")
}

/// Where a confirmed batch's plan is kept (uploads bucket); `nonce` keeps two
/// confirmations of one upload from overwriting each other's plan.
pub fn issuance_plan(merchant: &MerchantId, upload_id: &str, nonce: &str) -> String {
    format!("{MERCHANTS_PREFIX}{merchant}/issuance/{upload_id}.plan-{nonce}.json")
}

/// What the latest preview of an upload found (uploads bucket), for its confirmation.
pub fn issuance_preview(merchant: &MerchantId, upload_id: &str) -> String {
    format!("{MERCHANTS_PREFIX}{merchant}/issuance/{upload_id}.preview.json")
}

/// The prefix of a product's pictures (assets bucket).
pub fn product_images(merchant: &MerchantId, product_id: &str) -> String {
    format!("{MERCHANTS_PREFIX}{merchant}/products/{product_id}/")
}

/// The prefix of a ticket page's logo or banner (assets bucket); `image` is its name.
pub fn ticket_page_images(merchant: &MerchantId, image: &str) -> String {
    format!("{MERCHANTS_PREFIX}{merchant}/{image}/")
}

/// Where part `index` (from 0) of a report export is kept (exports bucket), as written by
/// one delivery of the export's message (`writer`, unique to it): a delivery that loses the
/// race to save its part leaves a file no record names (gone with the bucket's lifecycle
/// rule) instead of overwriting the winner's.
pub fn report_export_part(
    merchant: &MerchantId,
    export_id: &str,
    index: usize,
    writer: &str,
) -> String {
    format!(
        "{MERCHANTS_PREFIX}{merchant}/exports/{export_id}/part{}-{writer}.xlsx",
        index + 1
    )
}

/// The platform's documents for merchants (assets bucket; the operator writes them, every
/// merchant function may read them): `documents/{id}/v{version}.{ext}`.
pub const DOCUMENTS_PREFIX: &str = "documents/";

pub fn document(document_id: &str, version: u64, extension: &str) -> String {
    format!("{DOCUMENTS_PREFIX}{document_id}/v{version}.{extension}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_under_its_merchants_prefix() {
        let m = MerchantId::parse("m", "DEMO0001").unwrap();
        let own = format!("{MERCHANTS_PREFIX}DEMO0001/");
        for key in [
            issuance_upload(&m, "u1"),
            issuance_plan(&m, "u1", "n"),
            issuance_preview(&m, "u1"),
            product_images(&m, "P1"),
            ticket_page_images(&m, "logo"),
            report_export_part(&m, "e1", 0, "w1"),
        ] {
            assert!(key.starts_with(&own), "{key}");
        }
    }
}
