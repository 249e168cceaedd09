// 商品管理 (§5): the merchant's products, listed and delisted.
import { useQuery } from "@tanstack/react-query";
import { Card, DatePicker, Space, Table, Typography } from "antd";
import dayjs, { type Dayjs } from "dayjs";
import { useState } from "react";
import { call } from "../api/client";
import { ProblemAlert } from "../components/ProblemAlert";
import { StatusTag } from "../components/StatusTag";
import { useI18n } from "../i18n";
import { useSession } from "../session";

export default function Products() {
  const { t, language } = useI18n();
  const { api } = useSession();
  // The list is by creation date, at most a year at a time.
  const [range, setRange] = useState<[Dayjs, Dayjs]>([dayjs().subtract(1, "year").add(1, "day"), dayjs()]);
  const query = { from: range[0].format("YYYY-MM-DD"), to: range[1].format("YYYY-MM-DD") };
  const products = useQuery({ queryKey: ["products", query], queryFn: () => call(api.GET("/products", { params: { query } })) });
  const zh = language !== "en";
  return (
    <Card>
      <Typography.Title level={2}>{t("nav.products")}</Typography.Title>
      <Space style={{ marginBottom: 12 }}>
        <DatePicker.RangePicker value={range} allowClear={false} onChange={(v) => v && v[0] && v[1] && setRange([v[0], v[1]])} />
      </Space>
      <ProblemAlert error={products.error} />
      <Table
        rowKey="product_id"
        size="small"
        loading={products.isLoading}
        dataSource={products.data?.items ?? []}
        scroll={{ x: true }}
        columns={[
          { title: zh ? "商品代號" : "Product ID", dataIndex: "product_id" },
          { title: t("ticket.product"), dataIndex: "name" },
          { title: zh ? "票券類型" : "Kind", dataIndex: "kind", render: (kind: string) => (kind === "gift_voucher" ? t("home.gift") : t("home.goods")) },
          { title: t("ticket.face_value"), dataIndex: "face_value" },
          { title: zh ? "使用期限（天）" : "Term (days)", dataIndex: "term_days" },
          {
            title: t("ticket.status"),
            dataIndex: "listed",
            render: (listed: boolean) => <StatusTag tone={listed ? "good" : "neutral"}>{listed ? t("products.listed") : t("products.delisted")}</StatusTag>,
          },
        ]}
      />
    </Card>
  );
}
