// The signed-in session: its token (kept for this tab only), the API client that sends it,
// and what the account may do (GET /sessions/current), from which menus are drawn.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from "react";
import { call, createApi, idempotencyKey, type Api, type Schemas } from "./api/client";

export type CurrentSession = Schemas["CurrentSessionView"];

interface Session {
  api: Api;
  token: string | null;
  current: CurrentSession | undefined;
  signIn: (merchantId: string, account: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
  switchTo: (merchantId: string) => Promise<void>;
  /** Whether the account holds the right; the API still decides every request. */
  may: (area: string, access: "query" | "modify") => boolean;
}

const SessionContext = createContext<Session | null>(null);
const TOKEN = "tessera.token";

export function SessionProvider({ apiUrl, children }: { apiUrl: string; children: ReactNode }) {
  const queryClient = useQueryClient();
  const [token, setTokenState] = useState<string | null>(() => sessionStorage.getItem(TOKEN));
  const tokenRef = useRef(token);
  const setToken = useCallback(
    (next: string | null) => {
      tokenRef.current = next;
      if (next) sessionStorage.setItem(TOKEN, next);
      else sessionStorage.removeItem(TOKEN);
      setTokenState(next);
      queryClient.clear();
    },
    [queryClient],
  );
  const api = useMemo(
    () =>
      createApi(
        apiUrl,
        () => tokenRef.current,
        () => {
          if (tokenRef.current) setToken(null);
        },
      ),
    [apiUrl, setToken],
  );
  const current = useQuery({
    queryKey: ["session", token],
    enabled: token !== null,
    queryFn: () => call(api.GET("/sessions/current")),
    staleTime: 60_000,
  });

  const value = useMemo<Session>(
    () => ({
      api,
      token,
      current: current.data,
      signIn: async (merchant_id, account, password) => {
        const session = await call(api.POST("/sessions", { body: { merchant_id, account, password } }));
        setToken(session.token);
      },
      signOut: async () => {
        try {
          await call(api.DELETE("/sessions/current"));
        } finally {
          setToken(null);
        }
      },
      switchTo: async (merchant_id) => {
        const session = await call(
          api.POST("/sessions/current/switch", {
            body: { merchant_id },
            params: { header: { "Idempotency-Key": idempotencyKey() } },
          }),
        );
        setToken(session.token);
      },
      may: (area, access) => {
        const rights = current.data?.rights as Record<string, { query: boolean; modify: boolean }> | undefined;
        const held = rights?.[area];
        return held ? (access === "query" ? held.query || held.modify : held.modify) : false;
      },
    }),
    [api, token, current.data, setToken],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside SessionProvider");
  return value;
}
