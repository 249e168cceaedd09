// Routes, each screen loaded on first visit (the first screen's script stays small).
import { ConfigProvider, Spin, type ThemeConfig } from "antd";
import enUS from "antd/locale/en_US";
import zhTW from "antd/locale/zh_TW";
import { lazy, Suspense, type ReactNode } from "react";
import { BrowserRouter, Navigate, Route, Routes } from "react-router";
import { useI18n } from "./i18n";
import { SignIn } from "./pages/SignIn";
import { SCREENS, mayOpen, type Screen } from "./screens";
import { useSession } from "./session";

// The frame (menus, header) loads after sign-in: a visitor's first screen is sign-in alone.
const AppLayout = lazy(() => import("./components/AppLayout"));

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

/** A screen, or the home page when the account may not open it. */
function Guard({ screen, children }: { screen: Screen; children: ReactNode }) {
  const { may, current } = useSession();
  if (!current) return <Spin />;
  return mayOpen(screen, current, may) ? <>{children}</> : <Navigate to="/" replace />;
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
                  {SCREENS.map((screen) => (
                    <Route
                      key={screen.path}
                      path={screen.path}
                      element={
                        <Guard screen={screen}>
                          <screen.screen />
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
