// 訊息中心 and 文件下載 (§一, §9): the platform's announcements (marked read per account)
// and the documents it publishes (short-lived download links).
import { useQuery } from "@tanstack/react-query";
import { Button, Card, Collapse, List, Space, Typography } from "antd";
import dayjs from "dayjs";
import { call, idempotencyKey } from "../api/client";
import { useAction } from "../action";
import { ProblemAlert } from "../components/ProblemAlert";
import { StatusTag } from "../components/StatusTag";
import { useI18n } from "../i18n";
import { useSession } from "../session";

export default function Messages() {
  const { t, language } = useI18n();
  const { api } = useSession();
  const messages = useQuery({ queryKey: ["messages"], queryFn: () => call(api.GET("/messages")) });
  const documents = useQuery({ queryKey: ["documents"], queryFn: () => call(api.GET("/documents")) });
  const action = useAction();
  const zh = language !== "en";
  const markRead = (announcement_id: string) =>
    action.run(() =>
      call(
        api.PUT("/messages/{announcement_id}/read", {
          params: { path: { announcement_id }, header: { "Idempotency-Key": idempotencyKey() } },
        }),
      ),
    );
  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      {action.holder}
      <Typography.Title level={2}>{t("nav.messages")}</Typography.Title>
      <ProblemAlert error={messages.error ?? documents.error ?? action.error} />
      <Card title={`${zh ? "訊息中心" : "Messages"} (${messages.data?.unread ?? 0} ${t("home.unread")})`}>
        <Collapse
          onChange={(keys) => {
            for (const key of [keys].flat()) {
              const message = messages.data?.items.find((m) => m.announcement_id === key);
              if (message && !message.read) void markRead(message.announcement_id);
            }
          }}
          items={(messages.data?.items ?? []).map((m) => ({
            key: m.announcement_id,
            label: (
              <Space>
                {!m.read && <StatusTag tone="warn">{t("home.unread")}</StatusTag>}
                {m.title}
                <Typography.Text type="secondary">{dayjs(m.published_at).format("YYYY-MM-DD")}</Typography.Text>
              </Space>
            ),
            children: <Typography.Paragraph style={{ whiteSpace: "pre-wrap" }}>{m.body}</Typography.Paragraph>,
          }))}
        />
        {messages.data?.items.length === 0 && t("common.none")}
      </Card>
      <Card title={zh ? "文件下載" : "Documents"}>
        <List
          dataSource={documents.data?.items ?? []}
          locale={{ emptyText: t("common.none") }}
          renderItem={(d) => (
            <List.Item
              actions={[
                <Button key="download" href={d.download_url}>
                  {t("common.download")}
                </Button>,
              ]}
            >
              {d.title} · {dayjs(d.published_at).format("YYYY-MM-DD")} · {(d.size / 1024).toFixed(0)} KB
            </List.Item>
          )}
        />
      </Card>
    </Space>
  );
}
