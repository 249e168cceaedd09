// 可核銷店家 and 共同發行商 (§3-3): the stores this merchant lets redeem its tickets (add by
// search, open, unlink; history), and the issuers whose tickets it redeems (unlink).
import { useQuery } from "@tanstack/react-query";
import { Button, Card, Input, Modal, Space, Table, Tabs, Typography } from "antd";
import dayjs from "dayjs";
import { useState } from "react";
import { call, idempotencyKey, type Schemas } from "../api/client";
import { useAction } from "../action";
import { HistoryButton } from "../components/History";
import { ProblemAlert } from "../components/ProblemAlert";
import { StatusTag } from "../components/StatusTag";
import { useI18n } from "../i18n";
import { useSession } from "../session";

type Relation = Schemas["RelationView"];

export default function Stores() {
  const { t, language } = useI18n();
  const { api, may } = useSession();
  const canModify = may("operation_settings", "modify");
  const stores = useQuery({ queryKey: ["redeemable-stores"], queryFn: () => call(api.GET("/redeemable-stores")) });
  const issuers = useQuery({ queryKey: ["joint-issuers"], queryFn: () => call(api.GET("/joint-issuers")) });
  const [adding, setAdding] = useState(false);
  const action = useAction();
  const zh = language !== "en";
  const statusText = (status: string) =>
    status === "open"
      ? zh
        ? "合作中"
        : "Open"
      : status === "unlinked_by_issuer"
        ? zh
          ? "發行商已解除"
          : "Unlinked by issuer"
        : zh
          ? "店家已解除"
          : "Unlinked by store";
  const key = () => ({ "Idempotency-Key": idempotencyKey() });
  const columns = (mine: boolean) => [
    { title: zh ? "特店代號" : "Merchant ID", dataIndex: "merchant_id" },
    { title: zh ? "名稱" : "Name", dataIndex: "name" },
    {
      title: t("ticket.status"),
      dataIndex: "status",
      render: (s: string) => <StatusTag tone={s === "open" ? "good" : "neutral"}>{statusText(s)}</StatusTag>,
    },
    {
      title: zh ? "更新時間" : "Updated",
      dataIndex: "updated_at",
      render: (at: string) => dayjs(at).format("YYYY-MM-DD HH:mm"),
    },
    {
      title: t("common.actions"),
      key: "actions",
      render: (_: unknown, r: Relation) => (
        <Space wrap>
          {canModify && mine && (
            <Button
              size="small"
              onClick={() =>
                action.run(
                  () =>
                    call(
                      api.PUT("/redeemable-stores/{store_id}/status", {
                        body: { status: r.status === "open" ? "unlinked" : "open" },
                        params: { path: { store_id: r.merchant_id }, header: key() },
                      }),
                    ),
                  t("common.saved"),
                )
              }
            >
              {r.status === "open" ? (zh ? "解除" : "Unlink") : zh ? "重新開啟" : "Re-open"}
            </Button>
          )}
          {canModify && !mine && r.status === "open" && (
            <Button
              size="small"
              danger
              onClick={() =>
                action.run(
                  () =>
                    call(
                      api.POST("/joint-issuers/{issuer_id}/unlink", {
                        params: { path: { issuer_id: r.merchant_id }, header: key() },
                      }),
                    ),
                  t("common.saved"),
                )
              }
            >
              {zh ? "解除" : "Unlink"}
            </Button>
          )}
          <HistoryButton
            title={r.name}
            load={() =>
              mine
                ? call(
                    api.GET("/redeemable-stores/{store_id}/history", { params: { path: { store_id: r.merchant_id } } }),
                  )
                : call(
                    api.GET("/joint-issuers/{issuer_id}/history", { params: { path: { issuer_id: r.merchant_id } } }),
                  )
            }
          />
        </Space>
      ),
    },
  ];
  return (
    <Card>
      {action.holder}
      <Typography.Title level={2}>{t("nav.stores")}</Typography.Title>
      <ProblemAlert error={stores.error ?? issuers.error ?? action.error} />
      <Tabs
        items={[
          {
            key: "stores",
            label: zh ? "可核銷店家" : "Redeemable stores",
            children: (
              <>
                {canModify && (
                  <Button type="primary" style={{ marginBottom: 12 }} onClick={() => setAdding(true)}>
                    {t("common.add")}
                  </Button>
                )}
                <Table
                  rowKey="merchant_id"
                  size="small"
                  dataSource={stores.data?.items ?? []}
                  columns={columns(true)}
                />
              </>
            ),
          },
          {
            key: "issuers",
            label: zh ? "共同發行商" : "Joint issuers",
            children: (
              <Table
                rowKey="merchant_id"
                size="small"
                dataSource={issuers.data?.items ?? []}
                columns={columns(false)}
              />
            ),
          },
        ]}
      />
      {adding && <AddStore onClose={() => setAdding(false)} />}
    </Card>
  );
}

function AddStore({ onClose }: { onClose: () => void }) {
  const { t, language } = useI18n();
  const { api } = useSession();
  const action = useAction();
  const [query, setQuery] = useState("");
  const [hits, setHits] = useState<Schemas["MerchantHit"][]>([]);
  const zh = language !== "en";
  return (
    <Modal open title={t("common.add")} footer={null} onCancel={onClose}>
      {action.holder}
      <ProblemAlert error={action.error} />
      <Input.Search
        aria-label={zh ? "搜尋特店代號或名稱" : "Search merchant ID or name"}
        placeholder={zh ? "特店代號或名稱" : "Merchant ID or name"}
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        onSearch={(q) =>
          void action.run(async () =>
            setHits((await call(api.GET("/merchants/search", { params: { query: { q } } }))).items),
          )
        }
      />
      <Table
        size="small"
        rowKey="merchant_id"
        dataSource={hits}
        style={{ marginTop: 12 }}
        columns={[
          { title: zh ? "特店代號" : "Merchant ID", dataIndex: "merchant_id" },
          { title: zh ? "名稱" : "Name", dataIndex: "name" },
          {
            title: t("common.actions"),
            key: "add",
            render: (_: unknown, hit: Schemas["MerchantHit"]) => (
              <Button
                size="small"
                type="primary"
                onClick={() =>
                  void action
                    .run(
                      () =>
                        call(
                          api.POST("/redeemable-stores", {
                            body: { merchant_id: hit.merchant_id },
                            params: { header: { "Idempotency-Key": idempotencyKey() } },
                          }),
                        ),
                      t("common.saved"),
                    )
                    .then((done) => done && onClose())
                }
              >
                {t("common.add")}
              </Button>
            ),
          },
        ]}
      />
    </Modal>
  );
}
