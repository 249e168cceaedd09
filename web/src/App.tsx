// Routes, each screen loaded on first visit (the first screen's script stays small).
import { ConfigProvider, Spin, type ThemeConfig } from "antd";
import enUS from "antd/locale/en_US";
import zhTW from "antd/locale/zh_TW";
import { lazy, Suspense, type ReactNode } from "react";
import { BrowserRouter, Navigate, Route, Routes } from "react-router";
import { AppLayout } from "./components/AppLayout";
import { useI18n } from "./i18n";
import { SignIn } from "./pages/SignIn";
import { useSession } from "./session";

const Home = lazy(() => import("./pages/Home"));
const Till = lazy(() => import("./pages/Till"));
const Issuance = lazy(() => import("./pages/Issuance"));
const Reports = lazy(() => import("./pages/Reports"));
const Products = lazy(() => import("./pages/Products"));
const Bills = lazy(() => import("./pages/Bills"));
const LoginHistory = lazy(() => import("./pages/LoginHistory"));
const Password = lazy(() => import("./pages/Password"));

/** Ant Design's defaults, darkened where its secondary and empty-state text falls below
 * WCAG AA contrast (the browser tests run axe-core on every main screen). */
const THEME: ThemeConfig = {
  token: {
    colorPrimary: "#0b6e4f",
    colorLink: "#0b6e4f",
    colorError: "#c21f30",
    colorTextSecondary: "rgba(0, 0, 0, 0.68)",
    colorTextTertiary: "rgba(0, 0, 0, 0.62)",
    colorTextDescription: "rgba(0, 0, 0, 0.68)",
    colorTextDisabled: "rgba(0, 0, 0, 0.56)",
    colorTextPlaceholder: "rgba(0, 0, 0, 0.56)",
  },
  components: {
    Menu: { itemSelectedColor: "#064630", itemSelectedBg: "#e3f1ec" },
  },
};

/** A screen, or the home page when the account lacks the right it needs. */
function Guard({ area, children }: { area?: string; children: ReactNode }) {
  const { may, current } = useSession();
  if (!current) return <Spin />;
  if (area && !may(area, "query")) return <Navigate to="/" replace />;
  return <>{children}</>;
}

export function App() {
  const { language } = useI18n();
  const { token, current } = useSession();
  return (
    <ConfigProvider locale={language === "en" ? enUS : zhTW} theme={THEME} button={{ autoInsertSpace: false }}>
      <BrowserRouter>
        {token === null ? (
          <SignIn />
        ) : !current ? (
          <Spin fullscreen />
        ) : (
          <AppLayout>
            <Suspense fallback={<Spin />}>
              <Routes>
                <Route path="/" element={<Home />} />
                <Route path="/till" element={<Guard area="redemption"><Till /></Guard>} />
                <Route path="/issuance" element={<Guard area="issuance"><Issuance /></Guard>} />
                <Route path="/reports/tickets" element={<Guard area="reports"><Reports /></Guard>} />
                <Route path="/products" element={<Guard area="products"><Products /></Guard>} />
                <Route path="/bills" element={<Guard area="billing"><Bills /></Guard>} />
                <Route path="/login-history" element={<Guard area="login_history"><LoginHistory /></Guard>} />
                <Route path="/password" element={<Password />} />
                <Route path="*" element={<Navigate to="/" replace />} />
              </Routes>
            </Suspense>
          </AppLayout>
        )}
      </BrowserRouter>
    </ConfigProvider>
  );
}
