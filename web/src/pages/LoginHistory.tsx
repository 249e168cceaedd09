// 登入歷程 (§3-5): every sign-in of the merchant's accounts, newest first.
import { useQuery } from "@tanstack/react-query";
import { Card, Table, Typography } from "antd";
import dayjs from "dayjs";
import { call } from "../api/client";
import { ProblemAlert } from "../components/ProblemAlert";
import { StatusTag } from "../components/StatusTag";
import { useI18n } from "../i18n";
import { useSession } from "../session";

export default function LoginHistory() {
  const { t } = useI18n();
  const { api } = useSession();
  const history = useQuery({
    queryKey: ["login-history"],
    queryFn: () => call(api.GET("/login-history", { params: { query: { limit: 200 } } })),
  });
  return (
    <Card>
      <Typography.Title level={2}>{t("nav.login_history")}</Typography.Title>
      <ProblemAlert error={history.error} />
      <Table
        rowKey={(row) => `${row.at}-${row.account}`}
        size="small"
        loading={history.isLoading}
        dataSource={history.data?.items ?? []}
        scroll={{ x: true }}
        columns={[
          { title: t("login.at"), dataIndex: "at", render: (at: string) => dayjs(at).format("YYYY-MM-DD HH:mm:ss") },
          { title: t("signin.account"), dataIndex: "account" },
          { title: t("login.ip"), dataIndex: "ip" },
          {
            title: t("login.result"),
            dataIndex: "succeeded",
            render: (ok: boolean, row) =>
              ok ? (
                <StatusTag tone="good">{t("login.ok")}</StatusTag>
              ) : (
                <StatusTag tone="bad">{`${t("login.failed")} ${row.failure ?? ""}`}</StatusTag>
              ),
          },
        ]}
      />
    </Card>
  );
}
