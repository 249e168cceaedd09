// 登入 (§一 2): merchant ID, account and password; the lockout and the address limit are
// explained in words, not codes.
import { Alert, Button, Card, Form, Input, Layout, Typography } from "antd";
import { useState } from "react";
import { ApiError } from "../api/client";
import { useI18n } from "../i18n";
import { useSession } from "../session";

interface Fields {
  merchant_id: string;
  account: string;
  password: string;
}

export function SignIn() {
  const { t, language, setLanguage, problemText } = useI18n();
  const { signIn } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (fields: Fields) => {
    setBusy(true);
    setError(null);
    try {
      await signIn(fields.merchant_id.trim(), fields.account.trim(), fields.password);
    } catch (e) {
      if (e instanceof ApiError && e.problem.code === "ACCOUNT_LOCKED") setError(t("signin.locked"));
      else if (e instanceof ApiError && e.status === 429) setError(t("signin.throttled"));
      else setError(e instanceof ApiError ? problemText(e.problem) : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Layout style={{ minHeight: "100vh", alignItems: "center", justifyContent: "center", padding: 16 }}>
      <main style={{ width: "100%", maxWidth: 400 }}>
        <Card>
          <Typography.Title level={1} style={{ fontSize: 24 }}>
            Tessera {t("signin.title")}
          </Typography.Title>
          {error && (
            <Alert
              type="error"
              showIcon
              message={error}
              role="alert"
              style={{ marginBottom: 16 }}
              data-testid="signin-error"
            />
          )}
          <Form<Fields> layout="vertical" onFinish={(fields) => void submit(fields)} requiredMark={false}>
            <Form.Item
              name="merchant_id"
              label={t("signin.merchant")}
              rules={[{ required: true, message: t("signin.required") }]}
            >
              <Input autoComplete="organization" autoFocus />
            </Form.Item>
            <Form.Item
              name="account"
              label={t("signin.account")}
              rules={[{ required: true, message: t("signin.required") }]}
            >
              <Input autoComplete="username" />
            </Form.Item>
            <Form.Item
              name="password"
              label={t("signin.password")}
              rules={[{ required: true, message: t("signin.required") }]}
            >
              <Input.Password autoComplete="current-password" />
            </Form.Item>
            <Button type="primary" htmlType="submit" block size="large" loading={busy}>
              {t("signin.submit")}
            </Button>
          </Form>
          <Button type="link" onClick={() => setLanguage(language === "en" ? "zh-TW" : "en")} style={{ marginTop: 8 }}>
            {t("lang.switch")}
          </Button>
        </Card>
      </main>
    </Layout>
  );
}
