// 操作設定 and 廠商基本資料 (§3-1, §3-2, §3-6): the merchant's profile as declared, the
// operation switches (SMS, consumer returns), and sign-in alerts.
import { useQuery } from "@tanstack/react-query";
import { Button, Card, Descriptions, Form, Input, Select, Space, Switch, Tabs, Typography } from "antd";
import { useState, type ReactNode } from "react";
import { call, idempotencyKey, type Schemas } from "../api/client";
import { useAction } from "../action";
import { ProblemAlert } from "../components/ProblemAlert";
import { useI18n } from "../i18n";
import TicketPageSettings from "./TicketPageSettings";
import { useSession } from "../session";

export default function Settings() {
  const { t, language } = useI18n();
  const { may } = useSession();
  const zh = language !== "en";
  const items = [
    may("profile", "query") && { key: "profile", label: zh ? "廠商基本資料" : "Profile", children: <Profile /> },
    may("operation_settings", "query") && {
      key: "operation",
      label: zh ? "操作設定" : "Operation settings",
      children: <OperationSettings />,
    },
    may("operation_settings", "query") && {
      key: "ticket-page",
      label: zh ? "票券頁面設定" : "Ticket page",
      children: <TicketPageSettings />,
    },
    may("login_history", "query") && {
      key: "alerts",
      label: zh ? "登入通知" : "Sign-in alerts",
      children: <LoginAlerts />,
    },
  ].filter(Boolean) as { key: string; label: string; children: ReactNode }[];
  return (
    <Card>
      <Typography.Title level={2}>{t("nav.settings")}</Typography.Title>
      <Tabs items={items} />
    </Card>
  );
}

const CONTACT_ROLES = [
  ["business", "業務聯絡人", "Business contact"],
  ["billing", "帳務聯絡人", "Billing contact"],
  ["technical", "技術聯絡人", "Technical contact"],
] as const;

function Profile() {
  const { t, language } = useI18n();
  const { api, may } = useSession();
  const profile = useQuery({ queryKey: ["profile"], queryFn: () => call(api.GET("/merchant/profile")) });
  const action = useAction();
  const [key] = useState(idempotencyKey);
  const zh = language !== "en";
  const p = profile.data;
  if (!p) return <ProblemAlert error={profile.error} />;
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      {action.holder}
      <ProblemAlert error={action.error} />
      <Descriptions bordered column={1} size="small">
        <Descriptions.Item label={zh ? "特店代號" : "Merchant ID"}>{p.merchant_id}</Descriptions.Item>
        <Descriptions.Item label={zh ? "名稱" : "Name"}>{p.name}</Descriptions.Item>
        <Descriptions.Item label={zh ? "收據通知" : "Receipt notices"}>{p.receipt_emails}</Descriptions.Item>
      </Descriptions>
      <Form
        layout="vertical"
        disabled={!may("profile", "modify")}
        initialValues={p}
        onFinish={(body: Schemas["ProfileInput"]) =>
          action.run(
            () => call(api.PUT("/merchant/profile", { body, params: { header: { "Idempotency-Key": key } } })),
            t("common.saved"),
          )
        }
      >
        <Form.Item name="payment_page_name" label={zh ? "付款頁顯示名稱" : "Payment page shows"}>
          <Select
            options={[
              { value: "company", label: zh ? "公司名稱" : "Company name" },
              { value: "store", label: zh ? "商店名稱" : "Store name" },
            ]}
          />
        </Form.Item>
        {CONTACT_ROLES.map(([role, zhName, enName]) => (
          <Space key={role} wrap align="start">
            <Form.Item name={["contacts", role, "name"]} label={`${zh ? zhName : enName} · ${zh ? "姓名" : "name"}`}>
              <Input />
            </Form.Item>
            <Form.Item name={["contacts", role, "phone"]} label={zh ? "電話" : "Phone"}>
              <Input />
            </Form.Item>
            <Form.Item name={["contacts", role, "email"]} label="Email">
              <Input />
            </Form.Item>
          </Space>
        ))}
        <Form.Item
          name="authorization_emails"
          label={zh ? "授權通知信箱（以 ; 分隔）" : "Authorization notices (; separated)"}
        >
          <Input />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={action.busy}>
          {t("common.save")}
        </Button>
      </Form>
    </Space>
  );
}

function OperationSettings() {
  const { t, language } = useI18n();
  const { api, may } = useSession();
  const settings = useQuery({
    queryKey: ["operation-settings"],
    queryFn: () => call(api.GET("/merchant/operation-settings")),
  });
  const action = useAction();
  const zh = language !== "en";
  const save = (body: Schemas["OperationSettingsInput"]) =>
    action.run(
      () =>
        call(
          api.PUT("/merchant/operation-settings", {
            body,
            params: { header: { "Idempotency-Key": idempotencyKey() } },
          }),
        ),
      t("common.saved"),
    );
  const s = settings.data;
  const canModify = may("operation_settings", "modify");
  return (
    <>
      {action.holder}
      <ProblemAlert error={settings.error ?? action.error} />
      {s && (
        <Space direction="vertical">
          <Space>
            <Switch
              aria-label={zh ? "簡訊發送" : "Send SMS"}
              checked={s.sms_enabled}
              disabled={!canModify || !s.sms_available || action.busy}
              onChange={(on) => void save({ sms_enabled: on, consumer_returns_enabled: s.consumer_returns_enabled })}
            />
            {zh ? "簡訊發送" : "Send SMS"}
            {!s.sms_available && (zh ? "（合約未開通）" : " (not in the contract)")}
          </Space>
          <Space>
            <Switch
              aria-label={zh ? "消費者申請退貨" : "Consumer return requests"}
              checked={s.consumer_returns_enabled}
              disabled={!canModify || action.busy}
              onChange={(on) => void save({ sms_enabled: s.sms_enabled, consumer_returns_enabled: on })}
            />
            {zh ? "消費者申請退貨" : "Consumer return requests"}
          </Space>
        </Space>
      )}
    </>
  );
}

function LoginAlerts() {
  const { t, language } = useI18n();
  const { api, current } = useSession();
  const alerts = useQuery({ queryKey: ["login-alerts"], queryFn: () => call(api.GET("/login-alerts")) });
  const action = useAction();
  const [key] = useState(idempotencyKey);
  const zh = language !== "en";
  const admin = current?.role === "admin";
  if (!alerts.data) return <ProblemAlert error={alerts.error} />;
  return (
    <Form
      layout="vertical"
      initialValues={alerts.data}
      disabled={!admin}
      onFinish={(body: Schemas["LoginAlertsView"]) =>
        action.run(
          () => call(api.PUT("/login-alerts", { body, params: { header: { "Idempotency-Key": key } } })),
          t("common.saved"),
        )
      }
    >
      {action.holder}
      <ProblemAlert error={action.error} />
      <Form.Item name="on_failed_sign_in" label={zh ? "登入失敗時通知" : "On a failed sign-in"} valuePropName="checked">
        <Switch />
      </Form.Item>
      <Form.Item name="on_new_device" label={zh ? "新裝置登入時通知" : "On a new device"} valuePropName="checked">
        <Switch />
      </Form.Item>
      <Form.Item name="emails" label={zh ? "通知信箱（以 ; 分隔）" : "Recipients (; separated)"}>
        <Input />
      </Form.Item>
      <Button type="primary" htmlType="submit" loading={action.busy}>
        {t("common.save")}
      </Button>
    </Form>
  );
}
