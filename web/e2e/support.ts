// What the browser tests need besides the browser: the API (to set up what the console
// cannot do yet), the mail the local AWS accepted, accessibility checks and screenshots.
import AxeBuilder from "@axe-core/playwright";
import { expect, type APIRequestContext, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";

export const API = process.env.TESSERA_API_URL ?? "http://localhost:3000";
const AWS = process.env.AWS_ENDPOINT_URL ?? "http://127.0.0.1:4566";
export const ARTIFACTS = process.env.TESSERA_ARTIFACTS ?? "artifacts";
export const MERCHANT = "DEMO0001";
export const ADMIN_PASSWORD = "Demo#2026";
export const STAFF_PASSWORD = "Tessera2026";

export async function apiToken(
  request: APIRequestContext,
  account: string,
  password: string,
  merchant = MERCHANT,
): Promise<string> {
  const response = await request.post(`${API}/sessions`, { data: { merchant_id: merchant, account, password } });
  expect(response.status(), await response.text()).toBe(201);
  return (await response.json()).token as string;
}

export async function apiPost(request: APIRequestContext, token: string, path: string, data: unknown) {
  const response = await request.post(`${API}${path}`, {
    data,
    headers: { authorization: `Bearer ${token}`, "idempotency-key": crypto.randomUUID() },
  });
  expect(response.ok(), `${path}: ${await response.text()}`).toBeTruthy();
  return response.json();
}

/** The ticket links mailed to `address` (moto's SES keeps every message it accepted). */
export async function ticketLinks(request: APIRequestContext, address: string): Promise<string[]> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const response = await request.get(`${AWS}/moto-api/data.json`);
    const text = await response.text();
    try {
      const data = JSON.parse(text);
      const messages: { destinations: { ToAddresses: string[] }; body: string }[] = data?.ses?.Message ?? [];
      const links = messages
        .filter((m) => m.destinations?.ToAddresses?.includes(address))
        .flatMap((m) => m.body.match(/https?:\/\/[^\s"'<>]+\/t\/[A-Za-z0-9_-]+/g) ?? []);
      if (links.length > 0) return [...new Set(links)];
    } catch {
      // The emulator's dump races with its writes: read it again.
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`no ticket mail reached ${address}`);
}

/** The redemption code a consumer shows at the till: read off their ticket page. */
export async function redemptionCode(page: Page, link: string): Promise<string> {
  await page.goto(link);
  const code = (await page.locator(".code").first().innerText()).trim();
  expect(code).not.toBe("");
  return code;
}

export async function signIn(page: Page, account: string, password: string, merchant = MERCHANT) {
  await page.goto("/");
  await page.getByLabel("特店代號").fill(merchant);
  await page.getByLabel("帳號").fill(account);
  await page.getByLabel("密碼").fill(password);
  await page.getByRole("button", { name: "登入" }).click();
  await expect(page.getByTestId("who")).toContainText(`${merchant} / ${account}`);
}

export async function signOut(page: Page) {
  await page.getByRole("button", { name: "登出" }).click();
  await expect(page.getByRole("button", { name: "登入" })).toBeVisible();
}

/** A screenshot for the artifacts, and axe-core's check: no serious or critical violation. */
export async function checkScreen(page: Page, name: string) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(
    serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`),
    `accessibility of ${name}`,
  ).toEqual([]);
}
