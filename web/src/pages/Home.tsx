// 首頁 (§二): the last 90 days' tickets split, issued in a chosen range, top products,
// contract and fees, latest messages: one call.
import { useQuery } from "@tanstack/react-query";
import { Card, Col, DatePicker, List, Row, Space, Statistic, Typography } from "antd";
import dayjs, { type Dayjs } from "dayjs";
import { useState } from "react";
import { call } from "../api/client";
import { ProblemAlert } from "../components/ProblemAlert";
import { useI18n } from "../i18n";
import { useSession } from "../session";

export default function Home() {
  const { t } = useI18n();
  const { api, may } = useSession();
  const [range, setRange] = useState<[Dayjs, Dayjs]>([dayjs().subtract(30, "day"), dayjs()]);
  const dashboard = useQuery({
    queryKey: ["dashboard", range[0].format("YYYY-MM-DD"), range[1].format("YYYY-MM-DD")],
    enabled: may("reports", "query"),
    queryFn: () =>
      call(
        api.GET("/dashboard", {
          params: { query: { from: range[0].format("YYYY-MM-DD"), to: range[1].format("YYYY-MM-DD") } },
        }),
      ),
  });
  const d = dashboard.data;
  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2}>{t("nav.home")}</Typography.Title>
      <ProblemAlert error={dashboard.error} />
      {d && (
        <>
          <Card title={`${t("home.split")} (${d.last_90_days.from} – ${d.last_90_days.to})`}>
            <Row gutter={16}>
              {(["issued", "redeemed", "returned", "unused"] as const).map((k) => (
                <Col xs={12} md={6} key={k}>
                  <Statistic
                    title={t(`home.${k}`)}
                    value={d.last_90_days[k].count}
                    suffix={`/ NT$ ${d.last_90_days[k].amount}`}
                  />
                </Col>
              ))}
            </Row>
          </Card>
          <Card
            title={t("home.issued_range")}
            extra={
              <DatePicker.RangePicker
                value={range}
                allowClear={false}
                onChange={(v) => v && v[0] && v[1] && setRange([v[0], v[1]])}
              />
            }
          >
            <Statistic value={d.issued_in_range.issued.count} suffix={`/ NT$ ${d.issued_in_range.issued.amount}`} />
          </Card>
          <Row gutter={16}>
            {(["goods_voucher", "gift_voucher"] as const).map((kind) => (
              <Col xs={24} md={12} key={kind}>
                <Card title={`${t("home.top_products")} · ${t(kind === "goods_voucher" ? "home.goods" : "home.gift")}`}>
                  <List
                    size="small"
                    dataSource={d.top_products[kind]}
                    locale={{ emptyText: t("common.none") }}
                    renderItem={(p) => (
                      <List.Item>
                        {p.name} — {p.issued_count} / NT$ {p.issued_amount}
                      </List.Item>
                    )}
                  />
                </Card>
              </Col>
            ))}
          </Row>
          <Row gutter={16}>
            <Col xs={24} md={12}>
              <Card title={t("home.contract")}>
                {d.contract ? (
                  <>
                    <Typography.Paragraph>
                      {d.contract.starts_on} – {d.contract.ends_on}
                    </Typography.Paragraph>
                    <List
                      size="small"
                      dataSource={d.contract.rates as Record<string, unknown>[]}
                      renderItem={(rate) => <List.Item>{Object.values(rate).map(String).join(" · ")}</List.Item>}
                    />
                  </>
                ) : (
                  t("common.none")
                )}
              </Card>
            </Col>
            <Col xs={24} md={12}>
              <Card title={`${t("home.messages")} (${d.messages.unread} ${t("home.unread")})`}>
                <List
                  size="small"
                  dataSource={d.messages.latest}
                  locale={{ emptyText: t("common.none") }}
                  renderItem={(m) => (
                    <List.Item>
                      {m.read ? "" : "● "}
                      {m.title} · {dayjs(m.published_at).format("YYYY-MM-DD")}
                    </List.Item>
                  )}
                />
              </Card>
            </Col>
          </Row>
        </>
      )}
    </Space>
  );
}
