// Where the API is, read at run time from /config.json beside the console: one build
// serves every stack (the deploy script writes the stack's API address there).
export interface ConsoleConfig {
  api_url: string;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch("/config.json", { cache: "no-store" });
  if (!response.ok) {
    throw new Error(`config.json: HTTP ${response.status}`);
  }
  const config = (await response.json()) as Partial<ConsoleConfig>;
  if (typeof config.api_url !== "string" || config.api_url === "") {
    throw new Error("config.json has no api_url");
  }
  return { api_url: config.api_url.replace(/\/$/, "") };
}
