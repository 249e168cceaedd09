// The manual's names of ticket statuses and delivery methods (the API speaks in codes).
import type { Language } from "./i18n";

const STATUS: Record<string, [string, string]> = {
  unused: ["未使用", "Unused"],
  unused_escrow_expired: ["未使用且價金保管逾期", "Unused, escrow expired"],
  used: ["已使用", "Used"],
  redeeming: ["核銷中", "Redeeming"],
  redeemed: ["已核銷", "Redeemed"],
  redeemed_after_expiry: ["逾期兌回", "Redeemed after expiry"],
  pending_return: ["待退貨", "Return pending"],
  returning: ["退貨中", "Returning"],
  returned: ["已退貨", "Returned"],
  returned_escrow_expired: ["已退貨且價金保管逾期", "Returned, escrow expired"],
  expired: ["已逾期", "Expired"],
};

export const DELIVERY_METHODS: Record<string, [string, string]> = {
  electronic_immediate: ["電子票券（立即發送）", "Electronic, sent at once"],
  electronic_deferred: ["電子票券（延後發送）", "Electronic, valid from a later day"],
  paper_by_merchant: ["紙本票券（廠商自印）", "Paper, printed by the merchant"],
  paper_by_platform: ["紙本票券（平台印製）", "Paper, printed by the platform"],
  ibon: ["超商票券（ibon）", "Convenience store (ibon)"],
};

function pick(table: Record<string, [string, string]>, code: string, language: Language): string {
  const names = table[code];
  return names ? names[language === "en" ? 1 : 0] : code;
}

export const statusName = (code: string, language: Language) => pick(STATUS, code, language);
export const deliveryMethodName = (code: string, language: Language) => pick(DELIVERY_METHODS, code, language);

/** The function areas of the rights screen (§四), in the manual's words. */
export const AREAS: Record<string, [string, string]> = {
  operation_settings: ["操作設定", "Operation settings"],
  profile: ["廠商基本資料", "Merchant profile"],
  login_history: ["登入歷程", "Login history"],
  products: ["商品管理", "Products"],
  issuance: ["票券發行", "Issuance"],
  issued_orders: ["已發行訂單", "Issued orders"],
  paper_printing: ["紙本票券列印", "Paper printing"],
  redemption: ["票券核銷", "Redemption"],
  cancel_redemption: ["取消核銷", "Cancel redemption"],
  return: ["票券退貨", "Return"],
  cancel_return: ["取消退貨", "Cancel return"],
  reports: ["報表查詢", "Reports"],
  transfers: ["轉贈紀錄", "Transfer records"],
  sms_log: ["簡訊發送紀錄", "SMS log"],
  branches: ["票券分店與綁定子帳號", "Branches and bindings"],
  billing: ["帳單報表", "Bills"],
  installment_orders: ["分期核銷訂單", "Installment orders"],
  order_return: ["訂單退貨", "Order return"],
  order_cancel_return: ["訂單取消退貨", "Order cancel return"],
};

export const areaName = (code: string, language: Language) => pick(AREAS, code, language);
