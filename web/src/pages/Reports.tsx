// 票券報表 (§7-3 J) by date: date type, range (at most 3 months), status group, column
// groups; paged with the API's cursors; exported to Excel with the same query.
import { useQuery } from "@tanstack/react-query";
import { Button, Card, Checkbox, DatePicker, Form, Select, Space, Table, Typography } from "antd";
import dayjs, { type Dayjs } from "dayjs";
import { useState } from "react";
import { call } from "../api/client";
import { ProblemAlert } from "../components/ProblemAlert";
import { ExportButton } from "../exports";
import { useI18n } from "../i18n";
import { useSession } from "../session";

interface Filters {
  date_type: "issued" | "redeemed" | "returned";
  range: [Dayjs, Dayjs];
  status_group?: "unused" | "redeemed" | "returned" | "expired";
  columns: string[];
}

export default function Reports() {
  const { t, language } = useI18n();
  const { api } = useSession();
  const today = dayjs();
  const [filters, setFilters] = useState<Filters>({
    date_type: "issued",
    range: [today.subtract(7, "day"), today],
    columns: [],
  });
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const page = cursors.length - 1;
  const query = {
    mode: "date",
    date_type: filters.date_type,
    from: filters.range[0].format("YYYY-MM-DD"),
    to: filters.range[1].format("YYYY-MM-DD"),
    ...(filters.status_group ? { status_group: filters.status_group } : {}),
    ...(filters.columns.length > 0 ? { columns: filters.columns.join(",") } : {}),
  };
  const report = useQuery({
    queryKey: ["reports", "tickets", query, cursors[page]],
    queryFn: () =>
      call(api.GET("/reports/tickets", { params: { query: { ...query, cursor: cursors[page], limit: 50 } } })),
  });
  const zh = language !== "en";

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2}>{t("nav.reports")}</Typography.Title>
      <Card>
        <Form
          layout="inline"
          initialValues={filters}
          onFinish={(values: Filters) => {
            setFilters(values);
            setCursors([undefined]);
          }}
        >
          <Form.Item name="date_type" label={t("reports.date_type")}>
            <Select
              style={{ width: 140 }}
              options={[
                { value: "issued", label: zh ? "發行日期" : "Issued" },
                { value: "redeemed", label: zh ? "核銷日期" : "Redeemed" },
                { value: "returned", label: zh ? "退貨日期" : "Returned" },
              ]}
            />
          </Form.Item>
          <Form.Item name="range" label={t("reports.range")}>
            <DatePicker.RangePicker allowClear={false} />
          </Form.Item>
          <Form.Item name="status_group" label={t("ticket.status")}>
            <Select
              allowClear
              style={{ width: 140 }}
              options={[
                { value: "unused", label: zh ? "未使用" : "Unused" },
                { value: "redeemed", label: zh ? "已核銷" : "Redeemed" },
                { value: "returned", label: zh ? "已退貨" : "Returned" },
                { value: "expired", label: zh ? "已逾期" : "Expired" },
              ]}
            />
          </Form.Item>
          <Form.Item name="columns">
            <Checkbox.Group
              options={[
                { value: "order", label: zh ? "訂單資料" : "Order" },
                { value: "operator", label: zh ? "操作資料" : "Operator" },
                { value: "holder", label: zh ? "持有人資料" : "Holder" },
              ]}
            />
          </Form.Item>
          <Button type="primary" htmlType="submit">
            {t("common.search")}
          </Button>
        </Form>
      </Card>
      <ProblemAlert error={report.error} />
      <Card extra={<ExportButton report="tickets" query={query} />}>
        <Table
          size="small"
          rowKey={(_, index) => String(index)}
          loading={report.isFetching}
          dataSource={(report.data?.rows ?? []) as Record<string, string>[]}
          columns={(report.data?.columns ?? []).map((c) => ({ title: c.header, dataIndex: c.id, key: c.id }))}
          pagination={false}
          scroll={{ x: true }}
        />
        <Space style={{ marginTop: 12 }}>
          <Button disabled={page === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
            ‹
          </Button>
          <span>{page + 1}</span>
          <Button
            disabled={!report.data?.next_cursor}
            onClick={() => setCursors((c) => [...c, report.data?.next_cursor ?? undefined])}
          >
            ›
          </Button>
        </Space>
      </Card>
    </Space>
  );
}
