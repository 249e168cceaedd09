// A day at a merchant, in the console only (the API is used only to create what the
// console has no screen for yet: a product, and the paid orders an integrator would send).
import { chromium, expect, test, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { chromiumLaunch } from "../scripts/chromium.mjs";
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
// openpyxl (the local stack installs it): a third-party program editing and reading xlsx.
const python = process.env.TESSERA_PYTHON ?? "../localstack/.local/venv/bin/python";
const buyers = [`e2e-${run.toLowerCase()}-a@example.com`, `e2e-${run.toLowerCase()}-b@example.com`];
let codes: string[] = [];
let qrFrames: string[] = [];
// One signed-in head-office tab for the whole day (sign-in is limited per address, and a
// person keeps one tab open anyway).
let admin: Page;

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

test.afterAll(async () => {
  await admin?.context().close();
});

test("the admin signs in and sees the home dashboard", async ({ browser }) => {
  const page = await (await browser.newContext({ baseURL: test.info().project.use.baseURL })).newPage();
  admin = page;
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

test("the admin issues a batch from the uploaded file and watches it finish", async ({ browser }, testInfo) => {
  const page = admin;
  await open(page, "票券發行");
  await expect(page.getByRole("cell", { name: `E2E${run}0` })).toBeVisible();
  const downloading = page.waitForEvent("download");
  await page.getByRole("button", { name: "匯出未發行訂單" }).click();
  const file = testInfo.outputPath("unissued-orders.xlsx");
  await (await downloading).saveAs(file);

  // First a copy with a bad mobile number in its first row (edited by openpyxl, as a
  // spreadsheet program would): the preview marks that cell and refuses to confirm.
  const bad = testInfo.outputPath("unissued-orders-bad.xlsx");
  execFileSync(python, [
    "-c",
    [
      "import sys, openpyxl",
      "wb = openpyxl.load_workbook(sys.argv[1]); ws = wb.worksheets[0]",
      "header = next(r for r in ws.iter_rows(min_row=1, max_row=10) if any(c.value and '手機' in str(c.value) for c in r))",
      "col = next(c.column for c in header if c.value and '手機' in str(c.value))",
      "ws.cell(row=header[0].row + 1, column=col).value = '12345'",
      "wb.save(sys.argv[2])",
    ].join("\n"),
    file,
    bad,
  ]);
  await page.locator("input[type=file]").setInputFiles(bad);
  await expect(page.getByTestId("preview-summary")).toContainText("錯誤: 1");
  await expect(page.locator(".cell-error")).toContainText("12345");
  await expect(page.getByRole("button", { name: "確認發行" })).toBeDisabled();
  await checkScreen(page, "03a-issuance-row-error");

  await page.locator("input[type=file]").setInputFiles(file);
  await expect(page.getByTestId("preview-summary")).toContainText("錯誤: 0");
  await checkScreen(page, "03-issuance-preview");
  await page.getByRole("button", { name: "確認發行" }).click();
  await expect(page.getByTestId("batch-status")).toHaveAttribute("data-status", "done", { timeout: 60_000 });
  await checkScreen(page, "04-issuance-done");

  // The buyers got their tickets by mail: each link's page (on the consumer's phone, not
  // the admin's tab) shows the code to present.
  const phone = await browser.newPage();
  for (const buyer of buyers) {
    const [link] = await ticketLinks(phone.request, buyer);
    codes.push(await redemptionCode(phone, link));
    // The QR code as a camera would film it: the page's QR, framed by white, as JPEG.
    qrFrames.push(testInfo.outputPath(`qr-${codes.length}.mjpeg`));
    const qr = phone.locator("svg.qr").first();
    await qr.evaluate((svg) => {
      svg.style.padding = "40px";
      svg.style.background = "#fff";
      svg.style.width = "400px";
      svg.style.height = "400px";
    });
    await qr.screenshot({ path: qrFrames[qrFrames.length - 1], type: "jpeg", quality: 95 });
  }
  await phone.close();
  expect(codes).toHaveLength(2);
});

/** A screen from the menu, once its heading shows (each screen's script loads on first use). */
async function open(page: Page, menu: string) {
  await page.getByRole("menuitem", { name: menu }).click();
  await expect(page.getByRole("heading", { name: menu, level: 2 })).toBeVisible();
}

async function lookUp(page: Page, code: string) {
  await page.getByLabel("核銷碼").fill(code);
  await page.getByLabel("核銷碼").press("Enter");
  await expect(page.getByTestId("ticket-card")).toBeVisible();
}

test("a cashier bound to a branch redeems a code, and a second redemption is refused", async ({ page }) => {
  await signIn(page, "cashier01", STAFF_PASSWORD);
  await expect(page.getByTestId("who")).toContainText("TPE01");
  // The cashier's menus are its rights: no issuance, no bills.
  await expect(page.getByRole("menuitem", { name: "票券發行" })).toHaveCount(0);
  await expect(page.getByRole("menuitem", { name: "帳單報表" })).toHaveCount(0);
  await open(page, "票券核銷 / 退貨");

  // A second till (head office) has the same ticket open.
  const otherTill = admin;
  await open(otherTill, "票券核銷 / 退貨");
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

test("the till reads a ticket's QR code through the phone's camera", async ({ baseURL }) => {
  // Chromium's fake camera plays the QR frame the consumer's ticket page showed.
  const camera = await chromium.launch({
    ...chromiumLaunch,
    args: [
      ...chromiumLaunch.args,
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      `--use-file-for-fake-video-capture=${qrFrames[1]}`,
    ],
  });

  const context = await camera.newContext({ baseURL, permissions: ["camera"] });
  const page = await context.newPage();
  await signIn(page, "clerk01", STAFF_PASSWORD);
  await open(page, "票券核銷 / 退貨");
  await page.getByRole("button", { name: "相機掃描" }).click();
  await expect(page.getByTestId("ticket-card")).toBeVisible();
  await expect(page.getByLabel("核銷碼")).toHaveValue(codes[1]);
  await expect(page.getByTestId("ticket-status")).toHaveText("未使用");
  await camera.close();
});

test("head office returns a ticket with a fee", async () => {
  const page = admin;
  await page.getByRole("button", { name: "下一張" }).click();
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

test("the ticket report is exported and the downloaded file opens", async ({}, testInfo) => {
  const page = admin;
  await open(page, "票券報表");
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

test("the admin sets up a product, a branch and a sub-account bound to it, whose menus are its rights", async ({
  browser,
}) => {
  const page = admin;
  await open(page, "商品管理");
  await page.getByRole("button", { name: "新增商品" }).click();
  const productDialog = page.getByRole("dialog");
  await productDialog.getByLabel("商品名稱").fill(`拿鐵兌換券 ${run}`);
  await productDialog.getByLabel("面額").fill("120");
  await productDialog.getByLabel("使用期限（天）").fill("60");
  await checkScreen(page, "13-product-new");
  await productDialog.getByRole("button", { name: "儲存" }).click();
  await expect(productDialog).toBeHidden();
  const row = page.getByRole("row", { name: new RegExp(`拿鐵兌換券 ${run}`) });
  await expect(row).toContainText("上架中");
  await row.getByRole("button", { name: "歷程" }).click();
  await expect(page.getByRole("dialog").getByText("admin")).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(page.getByRole("dialog")).toHaveCount(0);

  const branch = `E2E${run}`.slice(0, 20);
  await open(page, "票券分店");
  await page.getByRole("button", { name: "新增", exact: true }).click();
  const branchDialog = page.getByRole("dialog");
  await branchDialog.getByLabel("分店代號").fill(branch);
  await branchDialog.getByLabel("分店名稱").fill("測試分店");
  await branchDialog.getByRole("button", { name: "儲存" }).click();
  await expect(page.getByRole("cell", { name: branch, exact: true })).toBeVisible();

  const account = `e2e${run.toLowerCase()}`.slice(0, 12);
  await open(page, "子帳號管理");
  await page.getByRole("button", { name: "新增", exact: true }).click();
  const accountDialog = page.getByRole("dialog");
  await accountDialog.getByLabel("子帳號", { exact: true }).fill(account);
  await accountDialog.getByLabel("密碼", { exact: true }).fill("Report2026");
  await accountDialog.getByLabel("報表查詢 查詢").check();
  await accountDialog.getByLabel("票券核銷 異動").check();
  await checkScreen(page, "14-sub-account-new");
  await accountDialog.getByRole("button", { name: "儲存" }).click();
  await expect(page.getByRole("cell", { name: account, exact: true })).toBeVisible();

  await open(page, "票券分店");
  await page.getByRole("tab", { name: "子帳號綁定" }).click();
  await page.getByRole("button", { name: "綁定", exact: true }).click();
  const bindDialog = page.getByRole("dialog");
  // Both lists are searchable: type, then Enter takes the match.
  await bindDialog.getByLabel("分店代號").fill(branch);
  await page.keyboard.press("Enter");
  await bindDialog.getByLabel("子帳號", { exact: true }).fill(account);
  await page.keyboard.press("Enter");
  await bindDialog.getByRole("button", { name: "儲存" }).click();
  await expect(page.getByRole("row", { name: new RegExp(account) })).toContainText(branch);

  const staff = await (await browser.newContext({ baseURL: test.info().project.use.baseURL })).newPage();
  await signIn(staff, account, "Report2026");
  await expect(staff.getByTestId("who")).toContainText(branch);
  await expect(staff.getByRole("menuitem", { name: "票券報表" })).toBeVisible();
  await expect(staff.getByRole("menuitem", { name: "票券核銷 / 退貨" })).toBeVisible();
  await expect(staff.getByRole("menuitem", { name: "商品管理" })).toHaveCount(0);
  await expect(staff.getByRole("menuitem", { name: "子帳號管理" })).toHaveCount(0);
  // An address the menus do not offer leads home; the API refuses it anyway.
  await staff.goto("/sub-accounts");
  await expect(staff.getByRole("heading", { name: "首頁" })).toBeVisible();
  await staff.context().close();
});

test("the other main screens open for the admin and pass the accessibility check", async () => {
  const page = admin;
  for (const [menu, name] of [
    ["商品管理", "10-products"],
    ["帳單報表", "11-bills"],
    ["登入歷程", "12-login-history"],
    ["流通報表", "15-circulation"],
    ["其他報表", "16-other-reports"],
    ["票券分店", "17-branches"],
    ["子帳號管理", "18-sub-accounts"],
    ["變更密碼", "19-password"],
    ["基本資料與設定", "20-settings"],
    ["訊息中心與文件", "21-messages"],
    ["可核銷店家", "22-stores"],
    ["已發行訂單", "23-issued-orders"],
    ["退款結果通知", "25-callbacks"],
    ["紙本票券列印", "26-printing"],
  ] as const) {
    await open(page, menu);
    await checkScreen(page, name);
  }
  // A parent merchant switches into its child and back.
  await page.getByRole("button", { name: "切換特店" }).click();
  await page.getByRole("menuitem", { name: "DEMO0002" }).click();
  await expect(page.getByRole("button", { name: "切換特店" })).toContainText("DEMO0002");
  await page.getByRole("button", { name: "切換特店" }).click();
  await page.getByRole("menuitem", { name: "DEMO0001" }).click();
  await expect(page.getByRole("button", { name: "切換特店" })).toContainText("DEMO0001");
  // The English switch.
  await page.getByRole("button", { name: "English" }).click();
  await expect(page.getByRole("menuitem", { name: "Redeem / return" })).toBeVisible();
  await page.getByRole("button", { name: "中文" }).click();
});

test("the admin changes a contact in the merchant's profile, and it is kept", async () => {
  const page = admin;
  await open(page, "基本資料與設定");
  await page.getByLabel("業務聯絡人 · 姓名").fill(`陳經理 ${run}`);
  await page.getByRole("button", { name: "儲存" }).click();
  await expect(page.getByText("已儲存")).toBeVisible();
  await open(page, "首頁");
  await open(page, "基本資料與設定");
  await expect(page.getByLabel("業務聯絡人 · 姓名")).toHaveValue(`陳經理 ${run}`);
});

test("an issued order is found by its import number, with its tickets and history", async () => {
  const page = admin;
  await open(page, "已發行訂單");
  await page.getByLabel("匯入編號").fill(`E2E${run}1`.slice(0, 20));
  await page.getByLabel("匯入編號").press("Enter");
  await expect(page.getByRole("cell", { name: "待退貨" })).toBeVisible();
  // The returned ticket's own history: issued, then returned by head office's admin.
  await page
    .getByRole("row", { name: /待退貨/ })
    .getByRole("button", { name: "歷程" })
    .click();
  await expect(page.getByRole("dialog")).toContainText("admin · return");
});

test("an installment merchant issues an order in periods and returns it with a fee", async ({ page, request }) => {
  const admin = await apiToken(request, "admin", ADMIN_PASSWORD, "DEMO0004");
  const product = await apiPost(request, admin, "/products", {
    name: `分期課程 ${run}`,
    kind: "goods_voucher",
    term_days: 365,
    face_value: "1200",
  });
  const tradeNo = `I${run}`.slice(0, 20);
  await apiPost(request, admin, "/orders", {
    trade_no: tradeNo,
    product_id: product.product_id,
    amount: "1200",
    quantity: 1,
    cardholder_name: "李小龍",
    cardholder_mobile: "0987654321",
    cardholder_email: `i-${run.toLowerCase()}@example.com`,
    paid_at: new Date(Date.now() - 60_000).toISOString(),
  });
  await signIn(page, "admin", ADMIN_PASSWORD, "DEMO0004");
  // An installment merchant's menus: no till, its installment orders instead.
  await expect(page.getByRole("menuitem", { name: "票券核銷 / 退貨" })).toHaveCount(0);
  await open(page, "分期核銷訂單");
  await page.getByLabel("廠商訂單編號").first().fill(tradeNo);
  await page.getByLabel("期數").fill("3");
  await page.getByRole("button", { name: "確認" }).click();
  await expect(page.getByRole("cell", { name: `${tradeNo}-03` })).toBeVisible();
  await checkScreen(page, "24-installment-order");
  await page.getByRole("button", { name: "訂單退貨" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("原因").fill("課程取消");
  await dialog.getByLabel("退貨手續費（元）").fill("30");
  await dialog.getByRole("button", { name: "確認" }).click();
  await expect(dialog).toBeHidden();
  // Every unused period is returned: the three serials wait for the bank.
  await expect(page.getByRole("row", { name: new RegExp(`${tradeNo}-0[1-3].*待退貨`) })).toHaveCount(3);
});
