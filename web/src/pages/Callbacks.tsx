// 退款結果通知 (refund callbacks, decision 0018): the notify URL new orders carry, the
// signing secret (shown once when made), the delivery log with its tries, redelivery, and a
// ping to try the endpoint.
import { useQuery } from "@tanstack/react-query";
import { Alert, Button, Card, DatePicker, Form, Input, Modal, Select, Space, Table, Typography } from "antd";
import dayjs, { type Dayjs } from "dayjs";
import { useState } from "react";
import { call, idempotencyKey, type Schemas } from "../api/client";
import { useAction } from "../action";
import { HistoryButton } from "../components/History";
import { ProblemAlert } from "../components/ProblemAlert";
import { StatusTag } from "../components/StatusTag";
import { useI18n } from "../i18n";
import { useSession } from "../session";

const key = () => ({ header: { "Idempotency-Key": idempotencyKey() } });

export default function Callbacks() {
  const { t, language } = useI18n();
  const { api, may } = useSession();
  const zh = language !== "en";
  const canModify = may("operation_settings", "modify");
  const url = useQuery({
    queryKey: ["refund-notify-url"],
    queryFn: () => call(api.GET("/merchant/refund-notify-url")),
  });
  const secret = useQuery({ queryKey: ["webhook-secret"], queryFn: () => call(api.GET("/merchant/webhook-secret")) });
  const [range, setRange] = useState<[Dayjs, Dayjs]>([dayjs().subtract(7, "day"), dayjs()]);
  const [status, setStatus] = useState<string | undefined>();
  const query = { from: range[0].format("YYYY-MM-DD"), to: range[1].format("YYYY-MM-DD"), status };
  const deliveries = useQuery({
    queryKey: ["deliveries", query],
    queryFn: () => call(api.GET("/webhooks/deliveries", { params: { query } })),
  });
  const [shown, setShown] = useState<Schemas["NewSecretView"] | null>(null);
  const action = useAction();

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      {action.holder}
      <Typography.Title level={2}>{t("nav.callbacks")}</Typography.Title>
      <ProblemAlert error={url.error ?? secret.error ?? deliveries.error ?? action.error} />
      <Card title={zh ? "退款結果通知網址" : "Refund notify URL"}>
        {url.data && (
          <Form
            layout="inline"
            initialValues={{ url: url.data.url ?? "" }}
            disabled={!canModify}
            onFinish={(v: { url: string }) =>
              action.run(
                () =>
                  call(api.PUT("/merchant/refund-notify-url", { body: { url: v.url.trim() || null }, params: key() })),
                t("common.saved"),
              )
            }
          >
            <Form.Item name="url" label="URL" rules={[{ pattern: /^(https:\/\/[^\s#@]+)?$/, max: 500 }]}>
              <Input style={{ width: 420 }} placeholder="https://" />
            </Form.Item>
            <Button type="primary" htmlType="submit" loading={action.busy}>
              {t("common.save")}
            </Button>
            <HistoryButton
              title={zh ? "通知網址" : "Notify URL"}
              load={() => call(api.GET("/merchant/refund-notify-url/history"))}
            />
          </Form>
        )}
      </Card>
      <Card title={zh ? "簽章密鑰" : "Signing secret"}>
        {secret.data && (
          <Space direction="vertical">
            <Typography.Text>
              {secret.data.exists
                ? `${zh ? "已建立" : "Created"} ${dayjs(secret.data.created_at).format("YYYY-MM-DD HH:mm")}`
                : zh
                  ? "尚未建立：通知會等到建立密鑰後才送出。"
                  : "None yet: callbacks wait for one."}
            </Typography.Text>
            {secret.data.disabled_urls.length > 0 && (
              <Alert
                type="warning"
                message={`${zh ? "已停用（410 Gone）" : "Disabled (410 Gone)"}: ${secret.data.disabled_urls.join(", ")}`}
              />
            )}
            {canModify && (
              <Space wrap>
                <Button
                  onClick={() =>
                    void action.run(async () =>
                      setShown(await call(api.POST("/merchant/webhook-secret", { params: key() }))),
                    )
                  }
                >
                  {secret.data.exists ? (zh ? "更換密鑰" : "Rotate the secret") : zh ? "建立密鑰" : "Create a secret"}
                </Button>
                <Button
                  onClick={() =>
                    void action.run(
                      () => call(api.POST("/webhooks/ping", { params: key() })),
                      zh ? "已送出測試通知" : "Ping queued",
                    )
                  }
                >
                  {zh ? "送出測試通知" : "Send a ping"}
                </Button>
              </Space>
            )}
          </Space>
        )}
      </Card>
      <Card
        title={zh ? "通知紀錄" : "Delivery log"}
        extra={
          <Space wrap>
            <DatePicker.RangePicker
              aria-label={t("reports.range")}
              value={range}
              allowClear={false}
              onChange={(v) => v && v[0] && v[1] && setRange([v[0], v[1]])}
            />
            <Select
              aria-label={t("ticket.status")}
              allowClear
              style={{ width: 140 }}
              value={status}
              onChange={setStatus}
              options={["pending", "delivered", "failed"].map((s) => ({ value: s, label: s }))}
            />
            {canModify && (
              <Button
                onClick={() =>
                  void action.run(
                    () =>
                      call(
                        api.POST("/webhooks/deliveries/redeliver-failed", {
                          body: { from: query.from, to: query.to },
                          params: key(),
                        }),
                      ),
                    t("common.saved"),
                  )
                }
              >
                {zh ? "失敗的全部重送" : "Redeliver failed"}
              </Button>
            )}
          </Space>
        }
      >
        <Table
          size="small"
          rowKey="delivery_id"
          loading={deliveries.isFetching}
          dataSource={deliveries.data?.items ?? []}
          scroll={{ x: true }}
          expandable={{
            expandedRowRender: (d) => (
              <Typography.Text code style={{ whiteSpace: "pre-wrap", wordBreak: "break-all" }}>
                {d.body}
              </Typography.Text>
            ),
          }}
          columns={[
            { title: "webhook-id", dataIndex: "delivery_id" },
            { title: zh ? "事件" : "Event", dataIndex: "event_type" },
            { title: "URL", dataIndex: "url" },
            {
              title: t("ticket.status"),
              dataIndex: "status",
              render: (s: string) => (
                <StatusTag tone={s === "delivered" ? "good" : s === "failed" ? "bad" : "warn"}>{s}</StatusTag>
              ),
            },
            { title: zh ? "嘗試次數" : "Tries", dataIndex: "attempt_count" },
            {
              title: t("common.actions"),
              key: "redeliver",
              render: (_: unknown, d: Schemas["DeliveryView"]) =>
                canModify && (
                  <Button
                    size="small"
                    onClick={() =>
                      void action.run(
                        () =>
                          call(
                            api.POST("/webhooks/deliveries/{delivery_id}/redeliver", {
                              params: { path: { delivery_id: d.delivery_id }, ...key() },
                            }),
                          ),
                        t("common.saved"),
                      )
                    }
                  >
                    {zh ? "重送" : "Redeliver"}
                  </Button>
                ),
            },
          ]}
        />
      </Card>
      {shown && (
        <Modal
          open
          title={zh ? "新的簽章密鑰" : "New signing secret"}
          onOk={() => setShown(null)}
          onCancel={() => setShown(null)}
        >
          <Alert
            type="warning"
            message={
              zh ? "密鑰只顯示這一次，請立即複製保存。" : "The secret is shown only now: copy it and keep it safe."
            }
          />
          <Typography.Paragraph copyable code style={{ marginTop: 12, wordBreak: "break-all" }}>
            {shown.secret}
          </Typography.Paragraph>
        </Modal>
      )}
    </Space>
  );
}
