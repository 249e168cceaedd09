//! Who may do what (§1, §2, §4-1): function areas with a *query* and a *modify* right,
//! the admin who holds every right, parent merchants that read but do not write their
//! children's data until they switch, and tenancy — another merchant's objects do not
//! exist for the caller. Every handler asks [`authorize`]; nothing checks access elsewhere.

use crate::error::{Error, ErrorCode};
use crate::values::{AccountName, BranchCode, MerchantId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

macro_rules! function_areas {
    ($( $variant:ident = ($code:literal, $zh:literal), )+) => {
        /// The manual's menus, each with its own query and modify right (§4-1).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum FunctionArea { $( $variant, )+ }

        impl FunctionArea {
            pub const ALL: &'static [FunctionArea] = &[ $( FunctionArea::$variant, )+ ];

            pub const fn code(self) -> &'static str {
                match self { $( FunctionArea::$variant => $code, )+ }
            }

            pub const fn name_zh_tw(self) -> &'static str {
                match self { $( FunctionArea::$variant => $zh, )+ }
            }

            pub fn parse(code: &str) -> Option<FunctionArea> {
                FunctionArea::ALL.iter().copied().find(|area| area.code() == code)
            }
        }
    };
}

function_areas! {
    OperationSettings = ("operation_settings", "操作設定"),
    Profile = ("profile", "廠商基本資料"),
    LoginHistory = ("login_history", "登入歷程"),
    Products = ("products", "商品管理"),
    Issuance = ("issuance", "票券發行"),
    IssuedOrders = ("issued_orders", "已發行訂單"),
    PaperPrinting = ("paper_printing", "紙本票券列印"),
    Redemption = ("redemption", "票券核銷"),
    CancelRedemption = ("cancel_redemption", "取消核銷"),
    Return = ("return", "票券退貨"),
    CancelReturn = ("cancel_return", "取消退貨"),
    Reports = ("reports", "報表查詢"),
    Transfers = ("transfers", "轉贈紀錄"),
    SmsLog = ("sms_log", "簡訊發送紀錄"),
    Branches = ("branches", "票券分店與綁定子帳號"),
    Billing = ("billing", "帳單報表"),
    InstallmentOrders = ("installment_orders", "分期核銷訂單"),
    OrderReturn = ("order_return", "訂單退貨"),
    OrderCancelReturn = ("order_cancel_return", "訂單取消退貨"),
}

impl FunctionArea {
    /// Whether the area is on the menus of a merchant in `mode` (§四 rights, §八): the
    /// ticket's operations, issued orders, printing, transfers and the SMS log for
    /// redeem-after-use; installment orders, order return and its cancel for installment;
    /// the rest (settings, products, paid orders, reports, branches, bills) for both.
    pub fn offered_in(self, mode: crate::merchant::RedemptionMode) -> bool {
        use crate::merchant::RedemptionMode::{Installment, RedeemAfterUse};
        match self {
            FunctionArea::IssuedOrders
            | FunctionArea::PaperPrinting
            | FunctionArea::Redemption
            | FunctionArea::CancelRedemption
            | FunctionArea::Return
            | FunctionArea::CancelReturn
            | FunctionArea::Transfers
            | FunctionArea::SmsLog => mode == RedeemAfterUse,
            FunctionArea::InstallmentOrders
            | FunctionArea::OrderReturn
            | FunctionArea::OrderCancelReturn => mode == Installment,
            FunctionArea::OperationSettings
            | FunctionArea::Profile
            | FunctionArea::LoginHistory
            | FunctionArea::Products
            | FunctionArea::Issuance
            | FunctionArea::Reports
            | FunctionArea::Branches
            | FunctionArea::Billing => true,
        }
    }
}

/// The two rights of each area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Query,
    Modify,
}

/// A sub-account's rights: for each area, whether it may query and whether it may modify.
/// Modifying implies querying (a screen that can be changed can be seen).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rights(BTreeMap<FunctionArea, AreaRights>);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaRights {
    #[serde(default)]
    pub query: bool,
    #[serde(default)]
    pub modify: bool,
}

impl Rights {
    pub fn none() -> Self {
        Rights::default()
    }

    pub fn grant(mut self, area: FunctionArea, access: Access) -> Self {
        let entry = self.0.entry(area).or_default();
        match access {
            Access::Query => entry.query = true,
            Access::Modify => {
                entry.query = true;
                entry.modify = true;
            }
        }
        self
    }

    pub fn allows(&self, area: FunctionArea, access: Access) -> bool {
        self.0.get(&area).is_some_and(|rights| match access {
            Access::Query => rights.query || rights.modify,
            Access::Modify => rights.modify,
        })
    }

    /// Every area with its two rights, in the order of [`FunctionArea::ALL`].
    pub fn table(&self) -> Vec<(FunctionArea, AreaRights)> {
        FunctionArea::ALL
            .iter()
            .map(|area| {
                let rights = self.0.get(area).copied().unwrap_or_default();
                (
                    *area,
                    AreaRights {
                        query: rights.query || rights.modify,
                        modify: rights.modify,
                    },
                )
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The merchant's 管理者 account: every right.
    Admin,
    /// A 子帳號: only the rights it was given.
    SubAccount,
}

/// The signed-in caller, as the authorizer established it for this request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The merchant the account belongs to.
    pub merchant: MerchantId,
    pub account: AccountName,
    pub role: Role,
    pub rights: Rights,
    /// The merchant the session currently acts as: its own, or a child it switched into.
    pub acting_as: MerchantId,
    /// Children of `merchant`, if it is a parent merchant.
    pub children: Vec<MerchantId>,
    /// The branch the account is bound to; `None` acts for head office.
    pub branch: Option<BranchCode>,
    /// Whether that branch is enabled (always true for head office).
    #[serde(default = "enabled")]
    pub branch_enabled: bool,
}

fn enabled() -> bool {
    true
}

/// Where an operation is attributed (§7-1): a bound sub-account's branch, else head office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "branch")]
pub enum Attribution {
    HeadOffice,
    Branch(BranchCode),
}

impl Actor {
    pub fn attribution(&self) -> Attribution {
        match &self.branch {
            Some(code) => Attribution::Branch(code.clone()),
            None => Attribution::HeadOffice,
        }
    }

    fn holds(&self, area: FunctionArea, access: Access) -> bool {
        self.role == Role::Admin || self.rights.allows(area, access)
    }

    /// The areas on the menus of a merchant in `mode`, each with what this account may do
    /// there (an admin holds every right): what a console shows, enables or hides. The
    /// operations still authorize every request themselves.
    pub fn menu_rights(
        &self,
        mode: crate::merchant::RedemptionMode,
    ) -> Vec<(FunctionArea, AreaRights)> {
        FunctionArea::ALL
            .iter()
            .copied()
            .filter(|area| area.offered_in(mode))
            .map(|area| {
                (
                    area,
                    AreaRights {
                        query: self.holds(area, Access::Query),
                        modify: self.holds(area, Access::Modify),
                    },
                )
            })
            .collect()
    }

    fn is_acting_as_parent(&self) -> bool {
        self.acting_as == self.merchant && !self.children.is_empty()
    }
}

/// May `actor` use `area` with `access` on data owned by `owner`?
///
/// - Another tenant's data answers `not_found` (404, so IDs cannot be probed).
/// - A parent acting as itself may query a child's data but not modify it
///   (`SWITCH_REQUIRED`): it must switch into the child first (§1).
/// - A sub-account lacking the right gets `RIGHT_MISSING` naming the right.
pub fn authorize(
    actor: &Actor,
    owner: &MerchantId,
    area: FunctionArea,
    access: Access,
    not_found: ErrorCode,
) -> Result<(), Error> {
    let own = *owner == actor.acting_as;
    let child_of_parent = actor.is_acting_as_parent() && actor.children.contains(owner);
    if !own && !child_of_parent {
        return Err(Error::new(not_found));
    }
    if !actor.holds(area, access) {
        return Err(missing_right(area, access));
    }
    if child_of_parent && access == Access::Modify {
        return Err(Error::new(ErrorCode::SwitchRequired).with_detail(format!(
            "switch into merchant {owner} before changing its data"
        )));
    }
    Ok(())
}

/// A function's rights check, in one place: the function area its routes belong to, and
/// what a merchant the caller may not see answers ("not found", never "forbidden").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AreaGuard {
    pub area: FunctionArea,
    pub not_found: ErrorCode,
}

impl AreaGuard {
    pub const fn new(area: FunctionArea, not_found: ErrorCode) -> AreaGuard {
        AreaGuard { area, not_found }
    }

    /// The caller may `access` this area of `owner`'s data ([`authorize`]).
    pub fn check(self, actor: &Actor, owner: &MerchantId, access: Access) -> Result<(), Error> {
        authorize(actor, owner, self.area, access, self.not_found)
    }

    /// The caller may `access` this area of the merchant it acts as.
    pub fn check_own(self, actor: &Actor, access: Access) -> Result<(), Error> {
        self.check(actor, &actor.acting_as, access)
    }
}

/// Issuing, redeeming and returning need an enabled branch (§7-1): staff of a disabled
/// branch may still read reports, so this is checked only by the ticket operations.
pub fn require_operational_branch(actor: &Actor) -> Result<(), Error> {
    if actor.branch.is_some() && !actor.branch_enabled {
        return Err(Error::new(ErrorCode::BranchDisabled).with_detail(format!(
            "branch {} is disabled",
            actor
                .branch
                .as_ref()
                .map(|b| b.as_str())
                .unwrap_or_default()
        )));
    }
    Ok(())
}

/// A branch-bound account acts for its own branch only (§3, §7-1): it sees only that branch
/// in branch views and cannot act for another. Head-office accounts act for any branch.
pub fn require_branch(actor: &Actor, branch: &BranchCode) -> Result<(), Error> {
    match &actor.branch {
        Some(own) if own != branch => Err(Error::new(ErrorCode::OtherBranch).with_detail(format!(
            "the account is bound to branch {own} and cannot act for branch {branch}"
        ))),
        _ => Ok(()),
    }
}

/// Operations that are head office's (creating branches, binding staff elsewhere).
pub fn require_head_office(actor: &Actor) -> Result<(), Error> {
    match &actor.branch {
        Some(own) => Err(Error::new(ErrorCode::OtherBranch).with_detail(format!(
            "the account is bound to branch {own}; this is for head office"
        ))),
        None => Ok(()),
    }
}

/// The merchant a request is about: the one named in it, or the one the session acts as.
/// Whether the actor may touch it is [`authorize`]'s decision, not this function's.
pub fn owner(actor: &Actor, requested: Option<MerchantId>) -> MerchantId {
    requested.unwrap_or_else(|| actor.acting_as.clone())
}

/// Operations on the account set itself (sub-accounts, their rights) are the admin's (§4).
pub fn require_admin(actor: &Actor) -> Result<(), Error> {
    match actor.role {
        Role::Admin => Ok(()),
        Role::SubAccount => Err(Error::new(ErrorCode::AdminOnly)),
    }
}

/// Where a session may switch: into one of its merchant's children, or back to its own.
pub fn switch_target(actor: &Actor, target: &MerchantId) -> Result<MerchantId, Error> {
    if *target == actor.merchant || actor.children.contains(target) {
        Ok(target.clone())
    } else {
        Err(Error::new(ErrorCode::MerchantNotFound))
    }
}

fn missing_right(area: FunctionArea, access: Access) -> Error {
    let right = match access {
        Access::Query => "query",
        Access::Modify => "modify",
    };
    Error::new(ErrorCode::RightMissing).with_detail(format!(
        "the account lacks the {right} right of {} ({})",
        area.code(),
        area.name_zh_tw()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merchant(id: &str) -> MerchantId {
        MerchantId::parse("m", id).unwrap()
    }

    fn actor(role: Role, rights: Rights, acting_as: &str, children: &[&str]) -> Actor {
        Actor {
            merchant: merchant("PARENT01"),
            account: AccountName::parse_login("a", "staff01").unwrap(),
            role,
            rights,
            acting_as: merchant(acting_as),
            children: children.iter().map(|c| merchant(c)).collect(),
            branch: None,
            branch_enabled: true,
        }
    }

    const NF: ErrorCode = ErrorCode::ProductNotFound;

    #[test]
    fn menu_rights_are_the_modes_areas_with_the_accounts_rights() {
        use crate::merchant::RedemptionMode::{Installment, RedeemAfterUse};
        let cashier = actor(
            Role::SubAccount,
            Rights::none()
                .grant(FunctionArea::Redemption, Access::Modify)
                .grant(FunctionArea::Reports, Access::Query),
            "PARENT01",
            &[],
        );
        let menu = cashier.menu_rights(RedeemAfterUse);
        let rights = |area| menu.iter().find(|(a, _)| *a == area).map(|(_, r)| *r);
        assert_eq!(
            rights(FunctionArea::Redemption),
            Some(AreaRights {
                query: true,
                modify: true
            })
        );
        assert_eq!(
            rights(FunctionArea::Reports),
            Some(AreaRights {
                query: true,
                modify: false
            })
        );
        assert_eq!(rights(FunctionArea::Products), Some(AreaRights::default()));
        // Areas another mode offers are not on the menu at all.
        assert_eq!(rights(FunctionArea::OrderReturn), None);
        let admin = actor(Role::Admin, Rights::none(), "PARENT01", &[]);
        let menu = admin.menu_rights(Installment);
        assert!(menu.iter().all(|(_, r)| r.query && r.modify));
        assert!(menu.iter().any(|(a, _)| *a == FunctionArea::OrderReturn));
        assert!(!menu.iter().any(|(a, _)| *a == FunctionArea::Redemption));
    }

    #[test]
    fn authorization_table() {
        let reader = Rights::none().grant(FunctionArea::Products, Access::Query);
        let writer = Rights::none().grant(FunctionArea::Products, Access::Modify);
        let own = "PARENT01";
        let child = "CHILD001";
        let stranger = "OTHER001";
        use Access::*;
        let cases: Vec<(Actor, &str, Access, Result<(), ErrorCode>)> = vec![
            // Admin on its own data: everything.
            (
                actor(Role::Admin, Rights::none(), own, &[]),
                own,
                Modify,
                Ok(()),
            ),
            // Sub-account: exactly its rights.
            (
                actor(Role::SubAccount, reader.clone(), own, &[]),
                own,
                Query,
                Ok(()),
            ),
            (
                actor(Role::SubAccount, reader.clone(), own, &[]),
                own,
                Modify,
                Err(ErrorCode::RightMissing),
            ),
            (
                actor(Role::SubAccount, writer.clone(), own, &[]),
                own,
                Query,
                Ok(()),
            ),
            (
                actor(Role::SubAccount, Rights::none(), own, &[]),
                own,
                Query,
                Err(ErrorCode::RightMissing),
            ),
            // Another tenant: not found, whatever the rights.
            (
                actor(Role::Admin, Rights::none(), own, &[child]),
                stranger,
                Query,
                Err(NF),
            ),
            (
                actor(Role::SubAccount, Rights::none(), own, &[]),
                stranger,
                Query,
                Err(NF),
            ),
            // Parent acting as itself: read the child, not write it.
            (
                actor(Role::Admin, Rights::none(), own, &[child]),
                child,
                Query,
                Ok(()),
            ),
            (
                actor(Role::Admin, Rights::none(), own, &[child]),
                child,
                Modify,
                Err(ErrorCode::SwitchRequired),
            ),
            (
                actor(Role::SubAccount, reader.clone(), own, &[child]),
                child,
                Query,
                Ok(()),
            ),
            (
                actor(Role::SubAccount, reader.clone(), own, &[child]),
                child,
                Modify,
                Err(ErrorCode::RightMissing),
            ),
            // Switched into the child: write the child, and the parent is out of reach.
            (
                actor(Role::Admin, Rights::none(), child, &[child]),
                child,
                Modify,
                Ok(()),
            ),
            (
                actor(Role::Admin, Rights::none(), child, &[child]),
                own,
                Query,
                Err(NF),
            ),
        ];
        for (index, (actor, owner, access, expected)) in cases.into_iter().enumerate() {
            let result = authorize(&actor, &merchant(owner), FunctionArea::Products, access, NF)
                .map_err(|e| e.code);
            assert_eq!(result, expected, "case {index}");
        }
    }

    #[test]
    fn missing_right_names_the_right() {
        let sub = actor(Role::SubAccount, Rights::none(), "PARENT01", &[]);
        let error = authorize(
            &sub,
            &merchant("PARENT01"),
            FunctionArea::Return,
            Access::Modify,
            NF,
        )
        .unwrap_err();
        let detail = error.detail.unwrap();
        assert!(
            detail.contains("modify") && detail.contains("return"),
            "{detail}"
        );
    }

    #[test]
    fn only_the_admin_manages_accounts() {
        assert!(require_admin(&actor(Role::Admin, Rights::none(), "PARENT01", &[])).is_ok());
        let all = FunctionArea::ALL
            .iter()
            .fold(Rights::none(), |r, a| r.grant(*a, Access::Modify));
        let error = require_admin(&actor(Role::SubAccount, all, "PARENT01", &[])).unwrap_err();
        assert_eq!(error.code, ErrorCode::AdminOnly);
    }

    #[test]
    fn switching_reaches_children_and_back_only() {
        let parent = actor(Role::Admin, Rights::none(), "PARENT01", &["CHILD001"]);
        assert!(switch_target(&parent, &merchant("CHILD001")).is_ok());
        assert!(switch_target(&parent, &merchant("PARENT01")).is_ok());
        assert_eq!(
            switch_target(&parent, &merchant("OTHER001"))
                .unwrap_err()
                .code,
            ErrorCode::MerchantNotFound
        );
    }

    #[test]
    fn rights_table_lists_every_area_and_modify_implies_query() {
        let rights = Rights::none().grant(FunctionArea::Reports, Access::Modify);
        let table = rights.table();
        assert_eq!(table.len(), FunctionArea::ALL.len());
        let reports = table
            .iter()
            .find(|(area, _)| *area == FunctionArea::Reports)
            .unwrap()
            .1;
        assert!(reports.query && reports.modify);
        assert!(rights.allows(FunctionArea::Reports, Access::Query));
        assert!(!rights.allows(FunctionArea::Billing, Access::Query));
        for area in FunctionArea::ALL {
            assert_eq!(FunctionArea::parse(area.code()), Some(*area));
        }
    }

    #[test]
    fn disabled_branch_staff_cannot_operate_but_head_office_can() {
        let mut sub = actor(Role::SubAccount, Rights::none(), "PARENT01", &[]);
        assert!(require_operational_branch(&sub).is_ok(), "head office");
        sub.branch = Some(BranchCode::parse("b", "TPE01").unwrap());
        assert!(require_operational_branch(&sub).is_ok(), "enabled branch");
        sub.branch_enabled = false;
        let error = require_operational_branch(&sub).unwrap_err();
        assert_eq!(error.code, ErrorCode::BranchDisabled);
        assert!(error.detail.unwrap().contains("TPE01"));
        // Reading is a separate check and still passes.
        let reader = Actor {
            rights: Rights::none().grant(FunctionArea::Reports, Access::Query),
            ..sub
        };
        assert!(authorize(
            &reader,
            &merchant("PARENT01"),
            FunctionArea::Reports,
            Access::Query,
            NF
        )
        .is_ok());
    }

    #[test]
    fn bound_accounts_act_only_for_their_own_branch() {
        let tpe = BranchCode::parse("b", "TPE01").unwrap();
        let khh = BranchCode::parse("b", "KHH01").unwrap();
        let mut staff = actor(Role::SubAccount, Rights::none(), "PARENT01", &[]);
        assert!(
            require_branch(&staff, &khh).is_ok() && require_head_office(&staff).is_ok(),
            "head office"
        );
        staff.branch = Some(tpe.clone());
        assert!(require_branch(&staff, &tpe).is_ok());
        let error = require_branch(&staff, &khh).unwrap_err();
        assert_eq!(error.code, ErrorCode::OtherBranch);
        assert!(error.detail.unwrap().contains("KHH01"));
        assert_eq!(
            require_head_office(&staff).unwrap_err().code,
            ErrorCode::OtherBranch
        );
        assert_eq!(owner(&staff, None), merchant("PARENT01"));
        assert_eq!(
            owner(&staff, Some(merchant("CHILD001"))),
            merchant("CHILD001")
        );
    }

    #[test]
    fn bound_accounts_act_for_their_branch_and_unbound_for_head_office() {
        let mut sub = actor(Role::SubAccount, Rights::none(), "PARENT01", &[]);
        assert_eq!(sub.attribution(), Attribution::HeadOffice);
        sub.branch = Some(BranchCode::parse("b", "TPE01").unwrap());
        assert_eq!(
            sub.attribution(),
            Attribution::Branch(BranchCode::parse("b", "TPE01").unwrap())
        );
    }

    #[test]
    fn each_mode_offers_its_own_operations_and_both_share_the_rest() {
        use crate::merchant::RedemptionMode::{Installment, RedeemAfterUse};
        for area in FunctionArea::ALL {
            assert!(
                area.offered_in(RedeemAfterUse) || area.offered_in(Installment),
                "{area:?}"
            );
        }
        assert!(FunctionArea::Redemption.offered_in(RedeemAfterUse));
        assert!(!FunctionArea::Redemption.offered_in(Installment));
        assert!(FunctionArea::OrderReturn.offered_in(Installment));
        assert!(!FunctionArea::OrderReturn.offered_in(RedeemAfterUse));
        assert!(FunctionArea::Reports.offered_in(Installment));
    }
}
