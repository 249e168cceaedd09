// Routes, each screen loaded on first visit (the first screen's script stays small).
import { ConfigProvider, Spin, type ThemeConfig } from "antd";
import enUS from "antd/locale/en_US";
import zhTW from "antd/locale/zh_TW";
import { lazy, Suspense, type ComponentType, type ReactNode } from "react";
import { BrowserRouter, Navigate, Route, Routes } from "react-router";
import { useI18n } from "./i18n";
import { SignIn } from "./pages/SignIn";
import { useSession } from "./session";

// The frame (menus, header) loads after sign-in: a visitor's first screen is sign-in alone.
const AppLayout = lazy(() => import("./components/AppLayout"));
const Home = lazy(() => import("./pages/Home"));
const Till = lazy(() => import("./pages/Till"));
const Issuance = lazy(() => import("./pages/Issuance"));
const Reports = lazy(() => import("./pages/Reports"));
const Products = lazy(() => import("./pages/Products"));
const Bills = lazy(() => import("./pages/Bills"));
const LoginHistory = lazy(() => import("./pages/LoginHistory"));
const Password = lazy(() => import("./pages/Password"));
const OtherReports = lazy(() => import("./pages/OtherReports"));
const Circulation = lazy(() => import("./pages/Circulation"));
const SubAccounts = lazy(() => import("./pages/SubAccounts"));
const Branches = lazy(() => import("./pages/Branches"));
const Settings = lazy(() => import("./pages/Settings"));
const Messages = lazy(() => import("./pages/Messages"));
const Stores = lazy(() => import("./pages/Stores"));
const IssuedOrders = lazy(() => import("./pages/IssuedOrders"));
const Installment = lazy(() => import("./pages/Installment"));
const Callbacks = lazy(() => import("./pages/Callbacks"));
const Printing = lazy(() => import("./pages/Printing"));

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

const REPORT_AREAS = [
  "reports",
  "issued_orders",
  "transfers",
  "sms_log",
  "paper_printing",
  "billing",
  "installment_orders",
];

/** Every screen but home, with what opens it (the menus in AppLayout say the same). */
const SCREENS: { path: string; screen: ComponentType; area?: string; anyOf?: string[]; adminOnly?: boolean }[] = [
  { path: "/till", screen: Till, anyOf: ["redemption", "return"] },
  { path: "/issuance", screen: Issuance, area: "issuance" },
  { path: "/issued-orders", screen: IssuedOrders, area: "issued_orders" },
  { path: "/installment", screen: Installment, area: "installment_orders" },
  { path: "/printing", screen: Printing, area: "paper_printing" },
  { path: "/reports/tickets", screen: Reports, area: "reports" },
  { path: "/reports/circulation", screen: Circulation, area: "reports" },
  { path: "/reports/other", screen: OtherReports, anyOf: REPORT_AREAS },
  { path: "/products", screen: Products, area: "products" },
  { path: "/branches", screen: Branches, area: "branches" },
  { path: "/stores", screen: Stores, area: "operation_settings" },
  { path: "/callbacks", screen: Callbacks, area: "operation_settings" },
  { path: "/sub-accounts", screen: SubAccounts, adminOnly: true },
  { path: "/settings", screen: Settings, anyOf: ["profile", "operation_settings", "login_history"] },
  { path: "/bills", screen: Bills, area: "billing" },
  { path: "/login-history", screen: LoginHistory, area: "login_history" },
  { path: "/messages", screen: Messages },
  { path: "/password", screen: Password },
];

/** A screen, or the home page when the account lacks the right it needs. */
function Guard({
  area,
  anyOf,
  adminOnly,
  children,
}: {
  area?: string;
  anyOf?: string[];
  adminOnly?: boolean;
  children: ReactNode;
}) {
  const { may, current } = useSession();
  if (!current) return <Spin />;
  if (area && !may(area, "query")) return <Navigate to="/" replace />;
  if (anyOf && !anyOf.some((a) => may(a, "query"))) return <Navigate to="/" replace />;
  if (adminOnly && current.role !== "admin") return <Navigate to="/" replace />;
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
          <Suspense fallback={<Spin fullscreen />}>
            <AppLayout>
              <Suspense fallback={<Spin />}>
                <Routes>
                  <Route path="/" element={<Home />} />
                  {SCREENS.map(({ path, screen: Screen, ...guard }) => (
                    <Route
                      key={path}
                      path={path}
                      element={
                        <Guard {...guard}>
                          <Screen />
                        </Guard>
                      }
                    />
                  ))}
                  <Route path="*" element={<Navigate to="/" replace />} />
                </Routes>
              </Suspense>
            </AppLayout>
          </Suspense>
        )}
      </BrowserRouter>
    </ConfigProvider>
  );
}
