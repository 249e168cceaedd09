// A day at a merchant, in the console only (the API is used only to create what the
// console has no screen for yet: a product, and the paid orders an integrator would send).
import { expect, test, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import {
  ADMIN_PASSWORD,
  STAFF_PASSWORD,
  apiPost,
  apiToken,
  checkScreen,
  redemptionCode,
  signIn,
  ticketLinks,
} from "./support";

const run = Date.now().toString(36).toUpperCase();
const buyers = [`e2e-${run.toLowerCase()}-a@example.com`, `e2e-${run.toLowerCase()}-b@example.com`];
let codes: string[] = [];

test.describe.configure({ mode: "serial" });

test.beforeAll(async ({ request }) => {
  const admin = await apiToken(request, "admin", ADMIN_PASSWORD);
  const product = await apiPost(request, admin, "/products", {
    name: `瀏覽器測試商品 ${run}`,
    kind: "goods_voucher",
    term_days: 90,
    face_value: "500",
  });
  for (const [i, email] of buyers.entries()) {
    await apiPost(request, admin, "/orders", {
      trade_no: `E2E${run}${i}`.slice(0, 20),
      product_id: product.product_id,
      amount: "500",
      quantity: 1,
      cardholder_name: "王小明",
      cardholder_mobile: "0912345678",
      cardholder_email: email,
      paid_at: new Date(Date.now() - 60_000).toISOString(),
    });
  }
});

test("the admin signs in and sees the home dashboard", async ({ page }) => {
  await page.goto("/");
  await checkScreen(page, "01-sign-in");
  await page.getByLabel("特店代號").fill("DEMO0001");
  await page.getByLabel("帳號").fill("admin");
  await page.getByLabel("密碼").fill("wrong-password");
  await page.getByRole("button", { name: "登入" }).click();
  await expect(page.getByTestId("signin-error")).toBeVisible();
  await signIn(page, "admin", ADMIN_PASSWORD);
  await expect(page.getByText("近 90 天票券狀態")).toBeVisible();
  await checkScreen(page, "02-home");
});

test("the admin issues a batch from the uploaded file and watches it finish", async ({ page }, testInfo) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await page.getByRole("menuitem", { name: "票券發行" }).click();
  await expect(page.getByRole("cell", { name: `E2E${run}0` })).toBeVisible();
  const downloading = page.waitForEvent("download");
  await page.getByRole("button", { name: "匯出未發行訂單" }).click();
  const file = testInfo.outputPath("unissued-orders.xlsx");
  await (await downloading).saveAs(file);

  await page.locator("input[type=file]").setInputFiles(file);
  await expect(page.getByTestId("preview-summary")).toContainText("錯誤: 0");
  await checkScreen(page, "03-issuance-preview");
  await page.getByRole("button", { name: "確認發行" }).click();
  await expect(page.getByTestId("batch-status")).toHaveAttribute("data-status", "done", { timeout: 60_000 });
  await checkScreen(page, "04-issuance-done");

  // The buyers got their tickets by mail: each link's page shows the code to present.
  for (const buyer of buyers) {
    const [link] = await ticketLinks(page.request, buyer);
    codes.push(await redemptionCode(page, link));
  }
  expect(codes).toHaveLength(2);
});

async function lookUp(page: Page, code: string) {
  await page.getByLabel("核銷碼").fill(code);
  await page.getByLabel("核銷碼").press("Enter");
  await expect(page.getByTestId("ticket-card")).toBeVisible();
}

test("a cashier bound to a branch redeems a code, and a second redemption is refused", async ({ page, browser }) => {
  await signIn(page, "cashier01", STAFF_PASSWORD);
  await expect(page.getByTestId("who")).toContainText("TPE01");
  // The cashier's menus are its rights: no issuance, no bills.
  await expect(page.getByRole("menuitem", { name: "票券發行" })).toHaveCount(0);
  await expect(page.getByRole("menuitem", { name: "帳單報表" })).toHaveCount(0);
  await page.getByRole("menuitem", { name: "票券核銷 / 退貨" }).click();

  // A second till has the same ticket open.
  const otherTill = await (await browser.newContext({ baseURL: test.info().project.use.baseURL })).newPage();
  await signIn(otherTill, "admin", ADMIN_PASSWORD);
  await otherTill.getByRole("menuitem", { name: "票券核銷 / 退貨" }).click();
  await lookUp(otherTill, codes[0]);

  await lookUp(page, codes[0]);
  await expect(page.getByTestId("ticket-status")).toHaveText("未使用");
  await checkScreen(page, "05-till-ticket");
  await page.getByRole("button", { name: "核銷", exact: true }).click();
  await expect(page.getByTestId("till-result")).toHaveText("核銷成功");
  await checkScreen(page, "06-till-redeemed");

  await otherTill.getByRole("button", { name: "核銷", exact: true }).click();
  await expect(otherTill.getByTestId("till-result")).toHaveText("無法完成");
  await expect(otherTill.getByTestId("till-refusal")).toHaveAttribute("data-code", "TICKET_ALREADY_REDEEMED");
  await checkScreen(otherTill, "07-till-refused");

  // Looked up again, the ticket says it is used and offers the cancel within the window.
  await page.getByRole("button", { name: "下一張" }).click();
  await lookUp(page, codes[0]);
  await expect(page.getByTestId("ticket-status")).toHaveText("已使用");
  await expect(page.getByRole("button", { name: "核銷", exact: true })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "取消核銷" })).toBeVisible();
});

test("head office returns a ticket with a fee", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await page.getByRole("menuitem", { name: "票券核銷 / 退貨" }).click();
  await lookUp(page, codes[1]);
  await page.getByRole("button", { name: "退貨", exact: true }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("原因").fill("顧客不需要了");
  await dialog.getByLabel("退貨手續費（元）").fill("50");
  await checkScreen(page, "08-till-return");
  await dialog.getByRole("button", { name: "確認" }).click();
  await expect(page.getByTestId("till-result")).toHaveText("退貨成功");
  await lookUp(page, codes[1]);
  await expect(page.getByTestId("ticket-status")).toHaveText("待退貨");
});

test("the ticket report is exported and the downloaded file opens", async ({ page }, testInfo) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  await page.getByRole("menuitem", { name: "票券報表" }).click();
  await page.getByRole("button", { name: "查詢" }).click();
  await expect(page.locator(".ant-table-row").first()).toBeVisible();
  await checkScreen(page, "09-ticket-report");
  await page.getByRole("button", { name: "匯出 Excel" }).click();
  await expect(page.getByTestId("export-status")).toHaveAttribute("data-status", "done", { timeout: 60_000 });
  const downloading = page.waitForEvent("download");
  await page.getByTestId("export-download").click();
  const file = testInfo.outputPath("ticket-report.xlsx");
  await (await downloading).saveAs(file);
  expect(readFileSync(file).subarray(0, 2).toString()).toBe("PK");
  // Opened by a third-party reader (openpyxl, which the local stack installs): the header
  // row in the manual's words, and the tickets of this run with their statuses.
  const python = process.env.TESSERA_PYTHON ?? "../localstack/.local/venv/bin/python";
  const text = execFileSync(python, [
    "-c",
    "import sys, openpyxl\nws = openpyxl.load_workbook(sys.argv[1], read_only=True).active\nfor row in ws.iter_rows(values_only=True): print('\\t'.join('' if v is None else str(v) for v in row))",
    file,
  ]).toString();
  expect(text).toContain("票券序號");
  expect(text).toContain(`瀏覽器測試商品 ${run}`);
  expect(text).toContain("已使用");
  expect(text).toContain("待退貨");
});

test("the other main screens open for the admin and pass the accessibility check", async ({ page }) => {
  await signIn(page, "admin", ADMIN_PASSWORD);
  for (const [menu, name] of [
    ["商品管理", "10-products"],
    ["帳單報表", "11-bills"],
    ["登入歷程", "12-login-history"],
  ] as const) {
    await page.getByRole("menuitem", { name: menu }).click();
    await expect(page.getByRole("heading", { name: menu })).toBeVisible();
    await checkScreen(page, name);
  }
  // The English switch.
  await page.getByRole("button", { name: "English" }).click();
  await expect(page.getByRole("menuitem", { name: "Redeem / return" })).toBeVisible();
  await page.getByRole("button", { name: "中文" }).click();
});
