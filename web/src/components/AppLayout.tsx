// The frame around every screen: the manual's menus (only those the account may open),
// the acting merchant with the switch for a parent, the language switch and sign-out.
import { Button, Dropdown, Layout, Menu, Space, Typography, message } from "antd";
import type { ReactNode } from "react";
import { useLocation, useNavigate } from "react-router";
import { ApiError } from "../api/client";
import { useI18n } from "../i18n";
import { SCREENS, mayOpen } from "../screens";
import { useSession } from "../session";

export default function AppLayout({ children }: { children: ReactNode }) {
  const { t, language, setLanguage, problemText } = useI18n();
  const { current, may, signOut, switchTo } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const [toast, holder] = message.useMessage();
  // The menus are the screens this account may open, in the manual's order.
  const items = SCREENS.filter((screen) => current && mayOpen(screen, current, may)).map((screen) => ({
    key: screen.path,
    label: t(screen.label),
  }));
  const selected = SCREENS.map((screen) => screen.path)
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
