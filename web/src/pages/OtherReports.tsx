// The reports of §8 other than the ticket report: each by a date range (at most 3 months
// where the manual says so; the API refuses more and says why), paged with the API's
// cursors, exported to Excel with the same query. Each shows for the right that opens it.
import { useQuery } from "@tanstack/react-query";
import { Button, Card, DatePicker, Select, Space, Table, Typography } from "antd";
import dayjs, { type Dayjs } from "dayjs";
import { useState } from "react";
import { call, type Schemas } from "../api/client";
import { ProblemAlert } from "../components/ProblemAlert";
import { ExportButton } from "../exports";
import { useI18n } from "../i18n";
import { useSession } from "../session";

type ReportPath =
  | "/reports/branch"
  | "/reports/cross-store"
  | "/reports/issued-orders"
  | "/reports/return-fees"
  | "/reports/sms-log"
  | "/reports/transfers"
  | "/reports/paper-tickets"
  | "/reports/installment-orders"
  | "/reports/installment-serials";

interface ReportDef {
  path: ReportPath;
  /** The export's name for it (POST /exports). */
  exportAs: string;
  area: string;
  names: [string, string];
}

export const REPORTS: ReportDef[] = [
  { path: "/reports/branch", exportAs: "branch", area: "reports", names: ["分店報表", "Branch report"] },
  {
    path: "/reports/cross-store",
    exportAs: "cross_store",
    area: "reports",
    names: ["跨店核銷報表", "Cross-store report"],
  },
  {
    path: "/reports/issued-orders",
    exportAs: "issued_orders",
    area: "issued_orders",
    names: ["已發行訂單", "Issued orders"],
  },
  { path: "/reports/transfers", exportAs: "transfers", area: "transfers", names: ["轉贈紀錄", "Transfer records"] },
  { path: "/reports/sms-log", exportAs: "sms_log", area: "sms_log", names: ["簡訊發送紀錄", "SMS log"] },
  {
    path: "/reports/paper-tickets",
    exportAs: "paper_tickets",
    area: "paper_printing",
    names: ["紙本票券列印紀錄", "Paper tickets"],
  },
  { path: "/reports/return-fees", exportAs: "return_fees", area: "billing", names: ["退貨手續費報表", "Return fees"] },
  {
    path: "/reports/installment-orders",
    exportAs: "installment_orders",
    area: "installment_orders",
    names: ["分期核銷訂單報表", "Installment orders"],
  },
  {
    path: "/reports/installment-serials",
    exportAs: "installment_serials",
    area: "installment_orders",
    names: ["分期序號報表", "Installment serials"],
  },
];

export default function OtherReports() {
  const { t, language } = useI18n();
  const { api, may } = useSession();
  const offered = REPORTS.filter((r) => may(r.area, "query"));
  const [path, setPath] = useState<ReportPath | undefined>(offered[0]?.path);
  const [range, setRange] = useState<[Dayjs, Dayjs]>([dayjs().subtract(7, "day"), dayjs()]);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const page = cursors.length - 1;
  const report = REPORTS.find((r) => r.path === path);
  const query = { from: range[0].format("YYYY-MM-DD"), to: range[1].format("YYYY-MM-DD") };
  const data = useQuery({
    queryKey: ["report", path, query, cursors[page]],
    enabled: path !== undefined,
    queryFn: (): Promise<Schemas["ReportPage"]> =>
      // Every report here takes the same range, cursor and limit, and answers a ReportPage.
      call(
        api.GET(path as "/reports/return-fees", { params: { query: { ...query, cursor: cursors[page], limit: 50 } } }),
      ),
  });
  const name = (r: ReportDef) => r.names[language === "en" ? 1 : 0];

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2}>{t("nav.other_reports")}</Typography.Title>
      <Card>
        <Space wrap>
          <Select
            aria-label={t("report.kind")}
            style={{ minWidth: 220 }}
            value={path}
            onChange={(next) => {
              setPath(next);
              setCursors([undefined]);
            }}
            options={offered.map((r) => ({ value: r.path, label: name(r) }))}
          />
          <DatePicker.RangePicker
            aria-label={t("reports.range")}
            value={range}
            allowClear={false}
            onChange={(v) => {
              if (v && v[0] && v[1]) {
                setRange([v[0], v[1]]);
                setCursors([undefined]);
              }
            }}
          />
        </Space>
      </Card>
      <ProblemAlert error={data.error} />
      {report && (
        <Card title={name(report)} extra={<ExportButton report={report.exportAs} query={query} />}>
          <Table
            size="small"
            rowKey={(_, index) => String(index)}
            loading={data.isFetching}
            dataSource={(data.data?.rows ?? []) as Record<string, string>[]}
            columns={(data.data?.columns ?? []).map((c) => ({ title: c.header, dataIndex: c.id, key: c.id }))}
            pagination={false}
            scroll={{ x: true }}
          />
          <Space style={{ marginTop: 12 }}>
            <Button aria-label="previous page" disabled={page === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
              ‹
            </Button>
            <span>{page + 1}</span>
            <Button
              aria-label="next page"
              disabled={!data.data?.next_cursor}
              onClick={() => setCursors((c) => [...c, data.data?.next_cursor ?? undefined])}
            >
              ›
            </Button>
          </Space>
        </Card>
      )}
    </Space>
  );
}
