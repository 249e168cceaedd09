// The typed API client: paths and schemas generated from the OpenAPI document
// (scripts/gen-api.mjs), so a request the API would not accept does not compile.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Problem = Schemas["ProblemDetails"];
export type Api = ReturnType<typeof createClient<paths>>;

/** An error answer of the API (problem+json), or a network failure made to look like one. */
export class ApiError extends Error {
  constructor(
    readonly problem: Problem,
    readonly status: number,
  ) {
    super(problem.detail ?? problem.title);
  }
}

export function createApi(baseUrl: string, token: () => string | null, onUnauthorized: () => void): Api {
  const api = createClient<paths>({ baseUrl });
  const auth: Middleware = {
    onRequest({ request }) {
      const current = token();
      if (current) request.headers.set("Authorization", `Bearer ${current}`);
      return request;
    },
    onResponse({ response }) {
      if (response.status === 401) onUnauthorized();
      return response;
    },
  };
  api.use(auth);
  return api;
}

/** A fresh Idempotency-Key: a retry of the same action reuses it, a new action gets a new one. */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}

function networkProblem(reason: unknown): Problem {
  return {
    type: "about:blank",
    code: "NETWORK_ERROR",
    status: 0,
    title: "The API could not be reached.",
    title_zh_tw: "無法連線到伺服器，請檢查網路後再試一次。",
    detail: reason instanceof Error ? reason.message : String(reason),
  };
}

/** The body of a successful answer, or an ApiError carrying the problem. */
export async function call<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await request;
  } catch (reason) {
    throw new ApiError(networkProblem(reason), 0);
  }
  const { data, error, response } = result;
  if (error !== undefined || !response.ok) {
    const problem = (error as Problem | undefined) ?? networkProblem(`HTTP ${response.status}`);
    throw new ApiError(problem, response.status);
  }
  return data as T;
}
