//! The platform operator (§1, §9): a principal of its own, never a merchant account, with
//! rights per area of the operator's work. Its rules are pure; who did what is recorded by
//! the platform with each change.

use crate::access::Access;
use crate::error::{Error, ErrorCode};
use crate::values::MerchantId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The areas of the operator's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorArea {
    /// Merchants, their admin accounts, parent/child links, contracts and fee rates.
    Merchants,
    /// Bills: marking them paid.
    Billing,
    /// Redeemable-store relations: clearing a store's block.
    Relations,
    /// The scheduled jobs' runs.
    Jobs,
    /// Announcements to merchants' message centres.
    Announcements,
    /// The platform's print run of paper tickets (printed, shipped).
    PrintRun,
}

impl OperatorArea {
    pub const ALL: [OperatorArea; 6] = [
        OperatorArea::Merchants,
        OperatorArea::Billing,
        OperatorArea::Relations,
        OperatorArea::Jobs,
        OperatorArea::Announcements,
        OperatorArea::PrintRun,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OperatorArea::Merchants => "merchants",
            OperatorArea::Billing => "billing",
            OperatorArea::Relations => "relations",
            OperatorArea::Jobs => "jobs",
            OperatorArea::Announcements => "announcements",
            OperatorArea::PrintRun => "print_run",
        }
    }
}

/// What an operator account may do in each area (modify implies query).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorRights(pub BTreeMap<OperatorArea, Access>);

impl OperatorRights {
    /// Every area, modify.
    pub fn all() -> OperatorRights {
        OperatorRights(
            OperatorArea::ALL
                .iter()
                .map(|area| (*area, Access::Modify))
                .collect(),
        )
    }

    /// Every area, query only.
    pub fn read_only() -> OperatorRights {
        OperatorRights(
            OperatorArea::ALL
                .iter()
                .map(|area| (*area, Access::Query))
                .collect(),
        )
    }

    /// RIGHT_MISSING, naming the area and the access, unless the rights allow it.
    pub fn check(&self, area: OperatorArea, access: Access) -> Result<(), Error> {
        let allowed = matches!(
            (self.0.get(&area), access),
            (Some(Access::Modify), _) | (Some(Access::Query), Access::Query)
        );
        if allowed {
            return Ok(());
        }
        let wanted = match access {
            Access::Query => "query",
            Access::Modify => "modify",
        };
        Err(Error::new(ErrorCode::RightMissing)
            .with_detail(format!("operator right: {} ({wanted})", area.name())))
    }
}

/// Parent/child links are one level deep (§1): a parent is not itself a child, a child has
/// no children, and nobody is its own parent. `child_has_children`, `parent_has_parent` and
/// `child_current_parent` are what is stored now.
pub fn check_parent_link(
    child: &MerchantId,
    parent: &MerchantId,
    child_has_children: bool,
    parent_has_parent: bool,
    child_current_parent: Option<&MerchantId>,
) -> Result<(), Error> {
    let invalid = |why: &str| Err(Error::new(ErrorCode::ParentLinkInvalid).with_detail(why));
    if child == parent {
        return invalid("a merchant cannot be its own parent");
    }
    if child_has_children {
        return invalid("the child is itself a parent");
    }
    if parent_has_parent {
        return invalid("the parent is itself a child");
    }
    match child_current_parent {
        Some(current) if current != parent => invalid("the child already has another parent"),
        _ => Ok(()),
    }
}

/// Who an announcement is for (§3-4 message centre).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "to", content = "merchants")]
pub enum Audience {
    All,
    Merchants(Vec<MerchantId>),
}

impl Audience {
    pub fn includes(&self, merchant: &MerchantId) -> bool {
        match self {
            Audience::All => true,
            Audience::Merchants(merchants) => merchants.contains(merchant),
        }
    }
}

pub const TITLE_MAX: usize = 100;
pub const BODY_MAX: usize = 2000;
pub const AUDIENCE_MAX: usize = 100;

/// What the operator publishes: checked title and body, and an audience of all merchants
/// or of 1 to [`AUDIENCE_MAX`] chosen ones (each once).
pub fn check_announcement(
    title: &str,
    body: &str,
    audience: Option<&[String]>,
) -> Result<(String, String, Audience), Error> {
    let mut violations = Vec::new();
    let title = title.trim();
    if title.is_empty() || title.chars().count() > TITLE_MAX {
        violations.push(crate::error::Violation::field(
            "title",
            format!("1 to {TITLE_MAX} characters"),
        ));
    }
    let body = body.trim();
    if body.is_empty() || body.chars().count() > BODY_MAX {
        violations.push(crate::error::Violation::field(
            "body",
            format!("1 to {BODY_MAX} characters"),
        ));
    }
    let audience = match audience {
        None => Audience::All,
        Some(ids) => {
            let mut merchants: Vec<MerchantId> = Vec::new();
            for id in ids {
                match MerchantId::parse("merchants", id) {
                    Ok(id) if !merchants.contains(&id) => merchants.push(id),
                    _ => {
                        violations.push(crate::error::Violation::field(
                            "merchants",
                            "merchant IDs, each once",
                        ));
                        break;
                    }
                }
            }
            if merchants.is_empty() || merchants.len() > AUDIENCE_MAX {
                violations.push(crate::error::Violation::field(
                    "merchants",
                    format!("1 to {AUDIENCE_MAX} merchants, or none for all"),
                ));
            }
            Audience::Merchants(merchants)
        }
    };
    if !violations.is_empty() {
        return Err(Error::invalid(violations));
    }
    Ok((title.to_owned(), body.to_owned(), audience))
}

/// The kinds of file the documents area holds (§3-4: manuals and application forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Pdf,
    Xlsx,
    Docx,
}

impl DocumentKind {
    pub fn parse(content_type: &str) -> Result<DocumentKind, Error> {
        match content_type {
            "application/pdf" => Ok(DocumentKind::Pdf),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => {
                Ok(DocumentKind::Xlsx)
            }
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
                Ok(DocumentKind::Docx)
            }
            _ => Err(Error::invalid_field(
                "content_type",
                "application/pdf, an xlsx or a docx",
            )),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "application/pdf",
            DocumentKind::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            DocumentKind::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "pdf",
            DocumentKind::Xlsx => "xlsx",
            DocumentKind::Docx => "docx",
        }
    }
}

/// A document may be at most 20 MiB.
pub const DOCUMENT_MAX_BYTES: u64 = 20 * 1024 * 1024;

/// A document's title, kind and size, checked.
pub fn check_document(
    title: &str,
    content_type: &str,
    size: u64,
) -> Result<(String, DocumentKind), Error> {
    let mut violations = Vec::new();
    let title = title.trim();
    if title.is_empty() || title.chars().count() > TITLE_MAX {
        violations.push(crate::error::Violation::field(
            "title",
            format!("1 to {TITLE_MAX} characters"),
        ));
    }
    let kind = DocumentKind::parse(content_type);
    if let Err(error) = &kind {
        violations.extend(error.violations.iter().cloned());
    }
    if size == 0 || size > DOCUMENT_MAX_BYTES {
        violations.push(crate::error::Violation::field(
            "size",
            format!("1 to {DOCUMENT_MAX_BYTES} bytes"),
        ));
    }
    match kind {
        Ok(kind) if violations.is_empty() => Ok((title.to_owned(), kind)),
        _ => Err(Error::invalid(violations)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str) -> MerchantId {
        MerchantId::parse("m", id).unwrap()
    }

    #[test]
    fn rights_are_per_area_and_modify_implies_query() {
        let viewer = OperatorRights::read_only();
        assert!(viewer.check(OperatorArea::Jobs, Access::Query).is_ok());
        let refused = viewer
            .check(OperatorArea::Billing, Access::Modify)
            .unwrap_err();
        assert_eq!(refused.code, ErrorCode::RightMissing);
        assert!(
            refused.to_string().contains("billing (modify)"),
            "{refused}"
        );
        let admin = OperatorRights::all();
        assert!(admin.check(OperatorArea::Merchants, Access::Query).is_ok());
        assert!(OperatorRights::default()
            .check(OperatorArea::Jobs, Access::Query)
            .is_err());
    }

    #[test]
    fn announcements_have_a_title_a_body_and_an_audience() {
        let (title, body, audience) = check_announcement(" 系統維護 ", "今晚維護", None).unwrap();
        assert_eq!((title.as_str(), body.as_str()), ("系統維護", "今晚維護"));
        assert!(audience.includes(&m("ANYONE01")));
        let chosen = ["DEMO0001".to_owned()];
        let (_, _, audience) = check_announcement("t", "b", Some(&chosen)).unwrap();
        assert!(audience.includes(&m("DEMO0001")) && !audience.includes(&m("DEMO0002")));
        let refused = check_announcement("", &"長".repeat(BODY_MAX + 1), Some(&[])).unwrap_err();
        let fields: Vec<_> = refused
            .violations
            .iter()
            .filter_map(|v| v.field.as_deref())
            .collect();
        assert_eq!(fields, ["title", "body", "merchants"]);
        let twice = ["DEMO0001".to_owned(), "DEMO0001".to_owned()];
        assert!(check_announcement("t", "b", Some(&twice)).is_err());
    }

    #[test]
    fn documents_are_pdf_xlsx_or_docx_within_the_size_limit() {
        let (title, kind) = check_document(" 操作手冊 ", "application/pdf", 1024).unwrap();
        assert_eq!((title.as_str(), kind.extension()), ("操作手冊", "pdf"));
        let refused = check_document("", "text/html", DOCUMENT_MAX_BYTES + 1).unwrap_err();
        let fields: Vec<_> = refused
            .violations
            .iter()
            .filter_map(|v| v.field.as_deref())
            .collect();
        assert_eq!(fields, ["title", "content_type", "size"]);
    }

    #[test]
    fn links_are_one_level_deep_and_a_child_has_one_parent() {
        let (a, b, c) = (m("PARENT01"), m("CHILD001"), m("OTHER001"));
        assert!(check_parent_link(&b, &a, false, false, None).is_ok());
        assert!(
            check_parent_link(&b, &a, false, false, Some(&a)).is_ok(),
            "again"
        );
        for refused in [
            check_parent_link(&a, &a, false, false, None),
            check_parent_link(&b, &a, true, false, None),
            check_parent_link(&b, &a, false, true, None),
            check_parent_link(&b, &a, false, false, Some(&c)),
        ] {
            assert_eq!(refused.unwrap_err().code, ErrorCode::ParentLinkInvalid);
        }
    }
}
