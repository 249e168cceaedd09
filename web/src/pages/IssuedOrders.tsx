// 已發行訂單 (§7-2, §7-4): an issued order by its import number: its tickets and their
// holders, its history; change the buyer (per delivery type) and resend the tickets while
// the order allows it; a ticket's own history.
import { Button, Card, Descriptions, Form, Input, Modal, Space, Table, Typography } from "antd";
import dayjs from "dayjs";
import { useState } from "react";
import { call, idempotencyKey, type Schemas } from "../api/client";
import { useAction } from "../action";
import { HistoryButton } from "../components/History";
import { ProblemAlert } from "../components/ProblemAlert";
import { useI18n } from "../i18n";
import { deliveryMethodName, statusName } from "../labels";
import { useSession } from "../session";

type IssuedOrder = Schemas["IssuedOrderView"];

export default function IssuedOrders() {
  const { t, language } = useI18n();
  const { api, may } = useSession();
  const canModify = may("issued_orders", "modify");
  const [order, setOrder] = useState<IssuedOrder | null>(null);
  const [changing, setChanging] = useState(false);
  const action = useAction();
  const zh = language !== "en";
  const load = (import_no: string) =>
    action.run(async () =>
      setOrder(
        await call(api.GET("/issued-orders/{import_no}", { params: { path: { import_no: import_no.trim() } } })),
      ),
    );
  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      {action.holder}
      <Typography.Title level={2}>{t("nav.issued_orders")}</Typography.Title>
      <Card>
        <Input.Search
          aria-label={zh ? "匯入編號" : "Import number"}
          placeholder={zh ? "匯入編號" : "Import number"}
          enterButton={t("common.search")}
          onSearch={(value) => value.trim() && void load(value)}
          style={{ maxWidth: 420 }}
        />
      </Card>
      <ProblemAlert error={action.error} />
      {order && (
        <Card
          title={`${zh ? "匯入編號" : "Import no."} ${order.import_no}`}
          extra={
            <Space wrap>
              {canModify && order.allowed.includes("change_buyer") && (
                <Button onClick={() => setChanging(true)}>{zh ? "變更購買人" : "Change buyer"}</Button>
              )}
              {canModify && order.allowed.includes("resend") && (
                <Button
                  loading={action.busy}
                  onClick={() =>
                    void action.run(
                      async () =>
                        setOrder(
                          await call(
                            api.POST("/issued-orders/{import_no}/resend", {
                              params: {
                                path: { import_no: order.import_no },
                                header: { "Idempotency-Key": idempotencyKey() },
                              },
                            }),
                          ),
                        ),
                      zh ? "已重新發送" : "Sent again",
                    )
                  }
                >
                  {zh ? "重新發送" : "Resend"}
                </Button>
              )}
              <HistoryButton
                title={order.import_no}
                load={() =>
                  call(
                    api.GET("/issued-orders/{import_no}/history", { params: { path: { import_no: order.import_no } } }),
                  )
                }
              />
            </Space>
          }
        >
          <Descriptions bordered size="small" column={{ xs: 1, md: 2 }}>
            <Descriptions.Item label={t("ticket.product")}>{order.product_id}</Descriptions.Item>
            <Descriptions.Item label={t("ticket.face_value")}>NT$ {order.face_value}</Descriptions.Item>
            <Descriptions.Item label={t("issuance.method")}>
              {deliveryMethodName(order.delivery_method, language)}
            </Descriptions.Item>
            <Descriptions.Item label={zh ? "發行時間" : "Issued"}>
              {dayjs(order.issued_at).format("YYYY-MM-DD HH:mm")}
            </Descriptions.Item>
            <Descriptions.Item label={zh ? "購買人" : "Buyer"}>
              {[order.buyer.name, order.buyer.mobile, order.buyer.email].filter(Boolean).join(" · ")}
            </Descriptions.Item>
            <Descriptions.Item label={zh ? "發行分店" : "Branch"}>
              {order.branch ?? t("header.head_office")}
            </Descriptions.Item>
          </Descriptions>
          <Table
            style={{ marginTop: 12 }}
            size="small"
            rowKey="ticket_no"
            dataSource={order.tickets}
            pagination={false}
            columns={[
              { title: t("ticket.no"), dataIndex: "ticket_no" },
              { title: t("ticket.status"), dataIndex: "status", render: (s: string) => statusName(s, language) },
              { title: t("ticket.holder"), dataIndex: "holder_name" },
              {
                title: t("common.actions"),
                key: "history",
                render: (_: unknown, ticket: Schemas["OrderTicketView"]) => (
                  <HistoryButton
                    title={ticket.ticket_no}
                    load={async () => {
                      const history = await call(
                        api.GET("/tickets/{ticket_no}/history", { params: { path: { ticket_no: ticket.ticket_no } } }),
                      );
                      return {
                        items: history.items.map((h) => ({
                          at: h.at,
                          by_account: h.by_account,
                          action: h.action,
                          changes: h as unknown as Record<string, unknown>,
                        })),
                      };
                    }}
                  />
                ),
              },
            ]}
          />
        </Card>
      )}
      {order && changing && (
        <BuyerForm
          order={order}
          onClose={(changed) => {
            setChanging(false);
            if (changed) setOrder(changed);
          }}
        />
      )}
    </Space>
  );
}

function BuyerForm({ order, onClose }: { order: IssuedOrder; onClose: (changed?: IssuedOrder) => void }) {
  const { t, language } = useI18n();
  const { api } = useSession();
  const action = useAction();
  const [form] = Form.useForm<Schemas["BuyerInput"]>();
  const [key] = useState(idempotencyKey);
  const zh = language !== "en";
  return (
    <Modal
      open
      title={zh ? "變更購買人" : "Change buyer"}
      okText={t("common.save")}
      cancelText={t("common.cancel")}
      confirmLoading={action.busy}
      onCancel={() => onClose()}
      onOk={() =>
        form.validateFields().then((body) =>
          action
            .run(
              () =>
                call(
                  api.PUT("/issued-orders/{import_no}/buyer", {
                    body: { ...body, email: body.email || null },
                    params: { path: { import_no: order.import_no }, header: { "Idempotency-Key": key } },
                  }),
                ),
              t("common.saved"),
            )
            .then((changed) => changed && onClose(changed)),
        )
      }
    >
      {action.holder}
      <ProblemAlert error={action.error} />
      <Form form={form} layout="vertical" initialValues={order.buyer}>
        <Form.Item name="name" label={zh ? "姓名" : "Name"} rules={[{ required: true, max: 30 }]}>
          <Input maxLength={30} />
        </Form.Item>
        <Form.Item name="mobile" label={zh ? "手機" : "Mobile"} rules={[{ required: true, pattern: /^09[0-9]{8}$/ }]}>
          <Input inputMode="tel" />
        </Form.Item>
        <Form.Item name="email" label="Email" rules={[{ type: "email", max: 100 }]}>
          <Input inputMode="email" />
        </Form.Item>
      </Form>
    </Modal>
  );
}
