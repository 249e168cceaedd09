// The frame around every screen: the manual's menus (only those the account may open),
// the acting merchant with the switch for a parent, the language switch and sign-out.
import { Button, Dropdown, Layout, Menu, Space, Typography, message } from "antd";
import type { ReactNode } from "react";
import { useLocation, useNavigate } from "react-router";
import { ApiError } from "../api/client";
import { useI18n, type MessageKey } from "../i18n";
import { useSession } from "../session";

interface MenuEntry {
  path: string;
  label: MessageKey;
  /** The area whose query right opens it; none: every account. */
  area?: string;
  /** Shown when the account may query any of these areas. */
  anyOf?: string[];
  adminOnly?: boolean;
}

const MENU: MenuEntry[] = [
  { path: "/", label: "nav.home" },
  { path: "/till", label: "nav.till", anyOf: ["redemption", "return"] },
  { path: "/issuance", label: "nav.issuance", area: "issuance" },
  { path: "/issued-orders", label: "nav.issued_orders", area: "issued_orders" },
  { path: "/installment", label: "nav.installment", area: "installment_orders" },
  { path: "/printing", label: "nav.printing", area: "paper_printing" },
  { path: "/reports/tickets", label: "nav.reports", area: "reports" },
  { path: "/reports/circulation", label: "nav.circulation", area: "reports" },
  {
    path: "/reports/other",
    label: "nav.other_reports",
    anyOf: ["reports", "issued_orders", "transfers", "sms_log", "paper_printing", "billing", "installment_orders"],
  },
  { path: "/products", label: "nav.products", area: "products" },
  { path: "/branches", label: "nav.branches", area: "branches" },
  { path: "/stores", label: "nav.stores", area: "operation_settings" },
  { path: "/callbacks", label: "nav.callbacks", area: "operation_settings" },
  { path: "/sub-accounts", label: "nav.sub_accounts", adminOnly: true },
  { path: "/settings", label: "nav.settings", anyOf: ["profile", "operation_settings", "login_history"] },
  { path: "/messages", label: "nav.messages" },
  { path: "/bills", label: "nav.bills", area: "billing" },
  { path: "/login-history", label: "nav.login_history", area: "login_history" },
  { path: "/password", label: "nav.password" },
];

export default function AppLayout({ children }: { children: ReactNode }) {
  const { t, language, setLanguage, problemText } = useI18n();
  const { current, may, signOut, switchTo } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const [toast, holder] = message.useMessage();
  const items = MENU.filter((entry) =>
    entry.adminOnly
      ? current?.role === "admin"
      : entry.anyOf
        ? entry.anyOf.some((area) => may(area, "query"))
        : !entry.area || may(entry.area, "query"),
  ).map((entry) => ({ key: entry.path, label: t(entry.label) }));
  const selected = MENU.map((m) => m.path)
    .filter((path) => (path === "/" ? location.pathname === "/" : location.pathname.startsWith(path)))
    .slice(-1);
  const merchants = current ? [current.merchant_id, ...current.children] : [];

  return (
    <Layout style={{ minHeight: "100vh" }}>
      {holder}
      <Layout.Sider breakpoint="md" collapsedWidth={0} theme="light" width={220}>
        <div style={{ padding: "16px 20px", fontWeight: 600 }}>Tessera {t("app.title")}</div>
        <nav aria-label={t("app.title")}>
          <Menu mode="inline" items={items} selectedKeys={selected} onClick={({ key }) => navigate(key)} />
        </nav>
      </Layout.Sider>
      <Layout>
        <Layout.Header
          style={{
            background: "#fff",
            display: "flex",
            justifyContent: "flex-end",
            alignItems: "center",
            gap: 12,
            padding: "0 16px",
            flexWrap: "wrap",
            height: "auto",
            minHeight: 64,
          }}
        >
          <Space wrap>
            <Typography.Text data-testid="who">
              {current?.merchant_id} / {current?.account}
              {" · "}
              {t("header.branch")}: {current?.branch ?? t("header.head_office")}
            </Typography.Text>
            {merchants.length > 1 && (
              <Dropdown
                trigger={["click"]}
                menu={{
                  selectable: true,
                  selectedKeys: current ? [current.acting_as] : [],
                  items: merchants.map((m) => ({ key: m, label: m })),
                  onClick: ({ key }) =>
                    void switchTo(key).catch((e: unknown) =>
                      toast.error(e instanceof ApiError ? problemText(e.problem) : String(e)),
                    ),
                }}
              >
                <Button aria-label={t("header.switch")}>
                  {t("header.acting_as")}: {current?.acting_as} ▾
                </Button>
              </Dropdown>
            )}
            <Button onClick={() => setLanguage(language === "en" ? "zh-TW" : "en")}>{t("lang.switch")}</Button>
            <Button onClick={() => void signOut()}>{t("header.signout")}</Button>
          </Space>
        </Layout.Header>
        <Layout.Content style={{ padding: 16 }}>
          <main>{children}</main>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
