// 變更密碼: the signed-in account changes its own password.
import { Alert, Button, Card, Form, Input, Typography } from "antd";
import { useState } from "react";
import { call, idempotencyKey } from "../api/client";
import { ProblemAlert } from "../components/ProblemAlert";
import { useI18n } from "../i18n";
import { useSession } from "../session";

export default function Password() {
  const { t } = useI18n();
  const { api } = useSession();
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const [form] = Form.useForm<{ current_password: string; new_password: string }>();
  return (
    <Card style={{ maxWidth: 480 }}>
      <Typography.Title level={2}>{t("nav.password")}</Typography.Title>
      <ProblemAlert error={error} />
      {done && <Alert type="success" message={t("password.changed")} showIcon />}
      <Form
        form={form}
        layout="vertical"
        onFinish={async (body) => {
          setError(null);
          setDone(false);
          try {
            await call(
              api.PUT("/account/password", { body, params: { header: { "Idempotency-Key": idempotencyKey() } } }),
            );
            setDone(true);
            form.resetFields();
          } catch (e) {
            setError(e);
          }
        }}
      >
        <Form.Item name="current_password" label={t("password.current")} rules={[{ required: true }]}>
          <Input.Password autoComplete="current-password" />
        </Form.Item>
        <Form.Item name="new_password" label={t("password.new")} rules={[{ required: true }]}>
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit">
          {t("common.confirm")}
        </Button>
      </Form>
    </Card>
  );
}
