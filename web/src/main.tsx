import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { loadConfig } from "./config";
import { I18nProvider } from "./i18n";
import { SessionProvider } from "./session";

const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } },
});

const root = createRoot(document.getElementById("root")!);

loadConfig()
  .then((config) =>
    root.render(
      <StrictMode>
        <QueryClientProvider client={queryClient}>
          <I18nProvider>
            <SessionProvider apiUrl={config.api_url}>
              <App />
            </SessionProvider>
          </I18nProvider>
        </QueryClientProvider>
      </StrictMode>,
    ),
  )
  .catch((error: unknown) => {
    root.render(
      <main style={{ padding: 24, fontFamily: "sans-serif" }}>
        <h1>Tessera</h1>
        <p role="alert">The console cannot start: {String(error)}. Its config.json must name the API (api_url).</p>
      </main>,
    );
  });
