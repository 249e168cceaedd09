// 分期核銷訂單 (§六, installment mode): issue a paid order as its periods, find an order by
// its trade number, see every serial and the returns, return the unused periods with a fee
// (apportioned by the API), cancel a return on its day, add a remark, read the history.
import { useQuery } from "@tanstack/react-query";
import {
  Button,
  Card,
  DatePicker,
  Descriptions,
  Form,
  Input,
  InputNumber,
  Modal,
  Space,
  Table,
  Typography,
} from "antd";
import dayjs, { type Dayjs } from "dayjs";
import { useState } from "react";
import { call, idempotencyKey, type Schemas } from "../api/client";
import { useAction } from "../action";
import { HistoryButton } from "../components/History";
import { ProblemAlert } from "../components/ProblemAlert";
import { useI18n } from "../i18n";
import { statusName } from "../labels";
import { useSession } from "../session";

type Order = Schemas["InstallmentOrderView"];
type Ask = "return" | "cancel_return" | "remark";

export default function Installment() {
  const { t, language } = useI18n();
  const { api, may } = useSession();
  const zh = language !== "en";
  const [order, setOrder] = useState<Order | null>(null);
  const [asking, setAsking] = useState<Ask | null>(null);
  const action = useAction();
  const unissued = useQuery({ queryKey: ["orders", "unissued"], queryFn: () => call(api.GET("/orders/unissued")) });
  const load = (trade_no: string) =>
    action.run(async () =>
      setOrder(
        await call(api.GET("/installment-orders/{trade_no}", { params: { path: { trade_no: trade_no.trim() } } })),
      ),
    );
  const issue = (values: { trade_no: string; periods: number; first: Dayjs }) =>
    action.run(async () => {
      const issued = await call(
        api.POST("/installment-orders", {
          body: {
            trade_no: values.trade_no,
            periods: values.periods,
            first_redemption_on: values.first.format("YYYY-MM-DD"),
          },
          params: { header: { "Idempotency-Key": idempotencyKey() } },
        }),
      );
      setOrder(issued);
    }, t("common.saved"));

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      {action.holder}
      <Typography.Title level={2}>{t("nav.installment")}</Typography.Title>
      <ProblemAlert error={action.error ?? unissued.error} />
      {may("installment_orders", "modify") && (
        <Card title={zh ? "發行分期訂單" : "Issue an order in periods"}>
          <Form layout="inline" onFinish={(v) => void issue(v)} initialValues={{ periods: 12, first: dayjs() }}>
            <Form.Item name="trade_no" label={zh ? "廠商訂單編號" : "Trade no."} rules={[{ required: true }]}>
              <Input list="unissued-trade-nos" style={{ width: 200 }} />
            </Form.Item>
            <datalist id="unissued-trade-nos">
              {(unissued.data?.items ?? [])
                .filter((o) => o.issuable)
                .map((o) => (
                  <option key={o.trade_no} value={o.trade_no} />
                ))}
            </datalist>
            <Form.Item name="periods" label={zh ? "期數" : "Periods"} rules={[{ required: true }]}>
              <InputNumber min={1} max={60} precision={0} />
            </Form.Item>
            <Form.Item name="first" label={zh ? "首期核銷日" : "First period on"} rules={[{ required: true }]}>
              <DatePicker allowClear={false} />
            </Form.Item>
            <Button type="primary" htmlType="submit" loading={action.busy}>
              {t("common.confirm")}
            </Button>
          </Form>
        </Card>
      )}
      <Card>
        <Input.Search
          aria-label={zh ? "廠商訂單編號" : "Trade number"}
          placeholder={zh ? "廠商訂單編號" : "Trade number"}
          enterButton={t("common.search")}
          onSearch={(value) => value.trim() && void load(value)}
          style={{ maxWidth: 420 }}
        />
      </Card>
      {order && (
        <Card
          title={`${zh ? "訂單" : "Order"} ${order.trade_no}`}
          extra={
            <Space wrap>
              {may("order_return", "modify") && (
                <Button onClick={() => setAsking("return")}>{zh ? "訂單退貨" : "Return"}</Button>
              )}
              {may("order_cancel_return", "modify") && (
                <Button onClick={() => setAsking("cancel_return")}>{zh ? "取消退貨" : "Cancel return"}</Button>
              )}
              {may("installment_orders", "modify") && (
                <Button onClick={() => setAsking("remark")}>{t("common.remark")}</Button>
              )}
              <HistoryButton
                title={order.trade_no}
                load={() =>
                  call(
                    api.GET("/installment-orders/{trade_no}/history", {
                      params: { path: { trade_no: order.trade_no } },
                    }),
                  )
                }
              />
            </Space>
          }
        >
          <Descriptions bordered size="small" column={{ xs: 1, md: 2 }}>
            <Descriptions.Item label={t("ticket.status")}>{statusName(order.status, language)}</Descriptions.Item>
            <Descriptions.Item label={zh ? "金額" : "Amount"}>NT$ {order.amount}</Descriptions.Item>
            <Descriptions.Item label={zh ? "持卡人" : "Cardholder"}>
              {order.cardholder_name} · {order.cardholder_mobile}
            </Descriptions.Item>
            <Descriptions.Item label={zh ? "已核銷 / 已退貨 / 未使用" : "Redeemed / returned / unused"}>
              NT$ {order.figures.redeemed_amount} / {order.figures.returned_amount} / {order.figures.unused_amount}
            </Descriptions.Item>
          </Descriptions>
          <Table
            style={{ marginTop: 12 }}
            size="small"
            rowKey="serial_no"
            dataSource={order.serials}
            pagination={false}
            scroll={{ x: true }}
            columns={[
              { title: zh ? "序號" : "Serial", dataIndex: "serial_no" },
              { title: zh ? "期別" : "Period", dataIndex: "period" },
              { title: t("ticket.face_value"), dataIndex: "face_value" },
              { title: zh ? "預計核銷日" : "Expected on", dataIndex: "expected_on" },
              { title: t("ticket.status"), dataIndex: "status", render: (s: string) => statusName(s, language) },
              { title: zh ? "退貨手續費" : "Return fee", dataIndex: "return_fee" },
            ]}
          />
        </Card>
      )}
      {order && asking && (
        <AskDialog
          ask={asking}
          order={order}
          onClose={(changed) => {
            setAsking(null);
            if (changed) setOrder(changed);
          }}
        />
      )}
    </Space>
  );
}

function AskDialog({ ask, order, onClose }: { ask: Ask; order: Order; onClose: (changed?: Order) => void }) {
  const { t, language } = useI18n();
  const { api } = useSession();
  const action = useAction();
  const [form] = Form.useForm<{ reason: string; fee?: number; remark: string }>();
  const [key] = useState(idempotencyKey);
  const zh = language !== "en";
  const params = { path: { trade_no: order.trade_no }, header: { "Idempotency-Key": key } };
  const submit = (v: { reason: string; fee?: number; remark: string }) =>
    action.run(() => {
      if (ask === "return") {
        return call(
          api.POST("/installment-orders/{trade_no}/return", {
            body: { reason: v.reason, fee: v.fee != null ? String(v.fee) : null },
            params,
          }),
        );
      }
      if (ask === "cancel_return") {
        return call(api.POST("/installment-orders/{trade_no}/cancel-return", { body: { reason: v.reason }, params }));
      }
      return call(api.POST("/installment-orders/{trade_no}/remarks", { body: { remark: v.remark }, params }));
    }, t("common.saved"));
  return (
    <Modal
      open
      title={
        ask === "return"
          ? zh
            ? "訂單退貨"
            : "Return"
          : ask === "cancel_return"
            ? zh
              ? "取消退貨"
              : "Cancel return"
            : t("common.remark")
      }
      okText={t("common.confirm")}
      cancelText={t("common.cancel")}
      confirmLoading={action.busy}
      onCancel={() => onClose()}
      onOk={() => form.validateFields().then((v) => submit(v).then((changed) => changed && onClose(changed)))}
    >
      {action.holder}
      <ProblemAlert error={action.error} />
      <Form form={form} layout="vertical">
        {ask === "remark" ? (
          <Form.Item name="remark" label={t("common.remark")} rules={[{ required: true, max: 100 }]}>
            <Input.TextArea maxLength={100} />
          </Form.Item>
        ) : (
          <Form.Item name="reason" label={t("common.reason")} rules={[{ required: true, max: 100 }]}>
            <Input.TextArea maxLength={100} />
          </Form.Item>
        )}
        {ask === "return" && (
          <Form.Item name="fee" label={t("till.fee")}>
            <InputNumber min={0} precision={0} style={{ width: "100%" }} />
          </Form.Item>
        )}
      </Form>
    </Modal>
  );
}
