// 紙本票券列印 (§7-5): print the merchant's paper tickets (1–30 at a time; the API keeps
// every print, reprints marked), a test page to align the printer, and a ticket's prints.
import { Button, Card, Form, Input, List, Space, Typography } from "antd";
import dayjs from "dayjs";
import { useState } from "react";
import { call, idempotencyKey, type Schemas } from "../api/client";
import { useAction } from "../action";
import { ProblemAlert } from "../components/ProblemAlert";
import { useI18n } from "../i18n";
import { useSession } from "../session";

/** The print-ready pages the API answers, opened in a new tab for the browser's print. */
function openPages(html: string) {
  const url = URL.createObjectURL(new Blob([html], { type: "text/html" }));
  window.open(url, "_blank", "noopener");
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export default function Printing() {
  const { t, language } = useI18n();
  const { api, may } = useSession();
  const zh = language !== "en";
  const action = useAction();
  const [history, setHistory] = useState<Schemas["PrintHistory"] | null>(null);
  const numbers = (text: string) =>
    text
      .split(/[\s,，]+/)
      .map((n) => n.trim())
      .filter(Boolean);
  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      {action.holder}
      <Typography.Title level={2}>{t("nav.printing")}</Typography.Title>
      <ProblemAlert error={action.error} />
      {may("paper_printing", "modify") && (
        <Card title={zh ? "列印票券" : "Print tickets"}>
          <Form
            layout="vertical"
            onFinish={(v: { tickets: string }) =>
              action.run(async () => {
                const html = await call(
                  api.POST("/paper-tickets/print", {
                    body: { ticket_nos: numbers(v.tickets) },
                    params: { header: { "Idempotency-Key": idempotencyKey() } },
                    parseAs: "text",
                  }),
                );
                openPages(html as string);
              })
            }
          >
            <Form.Item
              name="tickets"
              label={zh ? "票號（1–30 張，以空白或逗號分隔）" : "Ticket numbers (1–30, space or comma separated)"}
              rules={[{ required: true }]}
            >
              <Input.TextArea rows={3} />
            </Form.Item>
            <Space wrap>
              <Button type="primary" htmlType="submit" loading={action.busy}>
                {zh ? "列印" : "Print"}
              </Button>
              <Button
                onClick={() =>
                  void action.run(async () =>
                    openPages((await call(api.GET("/paper-tickets/test-print", { parseAs: "text" }))) as string),
                  )
                }
              >
                {zh ? "測試列印" : "Test print"}
              </Button>
            </Space>
          </Form>
        </Card>
      )}
      <Card title={zh ? "列印紀錄" : "Prints of a ticket"}>
        <Input.Search
          aria-label={t("ticket.no")}
          placeholder={t("ticket.no")}
          enterButton={t("common.search")}
          style={{ maxWidth: 420 }}
          onSearch={(ticket_no) =>
            ticket_no.trim() &&
            void action.run(async () =>
              setHistory(
                await call(
                  api.GET("/paper-tickets/{ticket_no}/prints", { params: { path: { ticket_no: ticket_no.trim() } } }),
                ),
              ),
            )
          }
        />
        {history && (
          <List
            style={{ marginTop: 12 }}
            dataSource={history.items}
            locale={{ emptyText: t("common.none") }}
            renderItem={(p) => (
              <List.Item>
                #{p.print} · {dayjs(p.at).format("YYYY-MM-DD HH:mm")} · {p.by_account}
                {p.branch ? ` · ${p.branch}` : ""}
              </List.Item>
            )}
          />
        )}
      </Card>
    </Space>
  );
}
