// Every screen with its menu label and who may open it: the routes (App) and the menus
// (AppLayout) both read this one table. Each screen's script loads on first visit.
import { lazy, type ComponentType } from "react";
import type { MessageKey } from "./i18n";
import type { CurrentSession } from "./session";

export interface Screen {
  path: string;
  label: MessageKey;
  screen: ComponentType;
  /** The area whose query right opens it. */
  area?: string;
  /** Opened by the query right of any of these areas. */
  anyOf?: string[];
  adminOnly?: boolean;
}

const REPORT_AREAS = [
  "reports",
  "issued_orders",
  "transfers",
  "sms_log",
  "paper_printing",
  "billing",
  "installment_orders",
];

export const SCREENS: Screen[] = [
  { path: "/", label: "nav.home", screen: lazy(() => import("./pages/Home")) },
  { path: "/till", label: "nav.till", screen: lazy(() => import("./pages/Till")), anyOf: ["redemption", "return"] },
  { path: "/issuance", label: "nav.issuance", screen: lazy(() => import("./pages/Issuance")), area: "issuance" },
  {
    path: "/issued-orders",
    label: "nav.issued_orders",
    screen: lazy(() => import("./pages/IssuedOrders")),
    area: "issued_orders",
  },
  {
    path: "/installment",
    label: "nav.installment",
    screen: lazy(() => import("./pages/Installment")),
    area: "installment_orders",
  },
  { path: "/printing", label: "nav.printing", screen: lazy(() => import("./pages/Printing")), area: "paper_printing" },
  { path: "/reports/tickets", label: "nav.reports", screen: lazy(() => import("./pages/Reports")), area: "reports" },
  {
    path: "/reports/circulation",
    label: "nav.circulation",
    screen: lazy(() => import("./pages/Circulation")),
    area: "reports",
  },
  {
    path: "/reports/other",
    label: "nav.other_reports",
    screen: lazy(() => import("./pages/OtherReports")),
    anyOf: REPORT_AREAS,
  },
  { path: "/products", label: "nav.products", screen: lazy(() => import("./pages/Products")), area: "products" },
  { path: "/branches", label: "nav.branches", screen: lazy(() => import("./pages/Branches")), area: "branches" },
  { path: "/stores", label: "nav.stores", screen: lazy(() => import("./pages/Stores")), area: "operation_settings" },
  {
    path: "/callbacks",
    label: "nav.callbacks",
    screen: lazy(() => import("./pages/Callbacks")),
    area: "operation_settings",
  },
  {
    path: "/sub-accounts",
    label: "nav.sub_accounts",
    screen: lazy(() => import("./pages/SubAccounts")),
    adminOnly: true,
  },
  {
    path: "/settings",
    label: "nav.settings",
    screen: lazy(() => import("./pages/Settings")),
    anyOf: ["profile", "operation_settings", "login_history"],
  },
  { path: "/messages", label: "nav.messages", screen: lazy(() => import("./pages/Messages")) },
  { path: "/bills", label: "nav.bills", screen: lazy(() => import("./pages/Bills")), area: "billing" },
  {
    path: "/login-history",
    label: "nav.login_history",
    screen: lazy(() => import("./pages/LoginHistory")),
    area: "login_history",
  },
  { path: "/password", label: "nav.password", screen: lazy(() => import("./pages/Password")) },
];

/** Whether the signed-in account may open the screen (the API still decides every request). */
export function mayOpen(
  screen: Screen,
  current: CurrentSession,
  may: (area: string, access: "query" | "modify") => boolean,
): boolean {
  if (screen.adminOnly) return current.role === "admin";
  if (screen.anyOf) return screen.anyOf.some((area) => may(area, "query"));
  return !screen.area || may(screen.area, "query");
}
