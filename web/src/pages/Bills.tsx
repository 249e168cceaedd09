// 帳單報表 (§8): each month's fees, what is due with earlier unpaid months, and where to remit.
import { useQuery } from "@tanstack/react-query";
import { Card, Space, Table, Typography } from "antd";
import { call } from "../api/client";
import { ProblemAlert } from "../components/ProblemAlert";
import { StatusTag } from "../components/StatusTag";
import { ExportButton } from "../exports";
import { useI18n } from "../i18n";
import { useSession } from "../session";

export default function Bills() {
  const { t } = useI18n();
  const { api } = useSession();
  const bills = useQuery({ queryKey: ["bills"], queryFn: () => call(api.GET("/bills")) });
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      <Typography.Title level={2}>{t("nav.bills")}</Typography.Title>
      <ProblemAlert error={bills.error} />
      <Card extra={<ExportButton report="bills" query={{}} />}>
        <Table
          rowKey="month"
          size="small"
          loading={bills.isLoading}
          dataSource={bills.data?.items ?? []}
          scroll={{ x: true }}
          expandable={{
            expandedRowRender: (bill) => (
              <ul>
                {bill.lines.map((line) => (
                  <li key={line.item}>
                    {line.item}: NT$ {line.amount}
                  </li>
                ))}
              </ul>
            ),
          }}
          columns={[
            { title: t("bills.month"), dataIndex: "month" },
            { title: t("bills.total"), dataIndex: "total" },
            { title: t("bills.amount_due"), dataIndex: "amount_due" },
            {
              title: t("ticket.status"),
              dataIndex: "paid",
              render: (paid: boolean) => (
                <StatusTag tone={paid ? "good" : "warn"}>{paid ? t("bills.paid") : t("bills.unpaid")}</StatusTag>
              ),
            },
          ]}
        />
      </Card>
    </Space>
  );
}
