// 流通報表 (§8): per Taipei day, issued / redeemed / returned and what is outstanding at the
// day's end, with the range's totals; from the pre-aggregated counters.
import { useQuery } from "@tanstack/react-query";
import { Card, DatePicker, Space, Table, Typography } from "antd";
import dayjs, { type Dayjs } from "dayjs";
import { useState } from "react";
import { call, type Schemas } from "../api/client";
import { ProblemAlert } from "../components/ProblemAlert";
import { ExportButton } from "../exports";
import { useI18n } from "../i18n";
import { useSession } from "../session";

type Row = Schemas["CirculationFigures"] & { day: string };

export default function Circulation() {
  const { t } = useI18n();
  const { api } = useSession();
  const [range, setRange] = useState<[Dayjs, Dayjs]>([dayjs().subtract(30, "day"), dayjs()]);
  const query = { from: range[0].format("YYYY-MM-DD"), to: range[1].format("YYYY-MM-DD") };
  const report = useQuery({
    queryKey: ["circulation", query],
    queryFn: () => call(api.GET("/reports/circulation", { params: { query } })),
  });
  const pair = (count: keyof Row, amount: keyof Row) => (_: unknown, row: Row) => `${row[count]} / NT$ ${row[amount]}`;
  const rows: Row[] = report.data
    ? [...report.data.days, { ...report.data.total, day: `${report.data.from} – ${report.data.to}` }]
    : [];
  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2}>{t("nav.circulation")}</Typography.Title>
      <Card extra={<ExportButton report="circulation" query={query} />}>
        <DatePicker.RangePicker
          aria-label={t("reports.range")}
          value={range}
          allowClear={false}
          onChange={(v) => v && v[0] && v[1] && setRange([v[0], v[1]])}
          style={{ marginBottom: 12 }}
        />
        <ProblemAlert error={report.error} />
        <Table
          size="small"
          rowKey="day"
          loading={report.isFetching}
          dataSource={rows}
          pagination={false}
          scroll={{ x: true }}
          columns={[
            { title: t("circ.day"), dataIndex: "day" },
            { title: t("home.issued"), key: "issued", render: pair("issued_count", "issued_amount") },
            { title: t("home.redeemed"), key: "redeemed", render: pair("redeemed_count", "redeemed_amount") },
            { title: t("home.returned"), key: "returned", render: pair("returned_count", "returned_amount") },
            {
              title: t("circ.outstanding"),
              key: "outstanding",
              render: pair("outstanding_count", "outstanding_amount"),
            },
          ]}
        />
      </Card>
    </Space>
  );
}
