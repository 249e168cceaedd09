// 子帳號管理 (§四, admin only): sub-accounts with their remark, branch and rights per area
// (query / modify; modify implies query); new, rights, remark, password reset, delete, history.
import { useQuery } from "@tanstack/react-query";
import { Button, Card, Checkbox, Form, Input, Modal, Popconfirm, Space, Table, Typography } from "antd";
import { useState } from "react";
import { call, idempotencyKey, type Schemas } from "../api/client";
import { useAction } from "../action";
import { HistoryButton } from "../components/History";
import { ProblemAlert } from "../components/ProblemAlert";
import { useI18n } from "../i18n";
import { areaName } from "../labels";
import { useSession } from "../session";

type SubAccount = Schemas["SubAccountView"];
type Rights = Record<string, { query: boolean; modify: boolean }>;
type Dialog =
  | { kind: "new" }
  | { kind: "rights"; account: SubAccount }
  | { kind: "password"; account: SubAccount }
  | { kind: "remark"; account: SubAccount };

const header = () => ({ header: { "Idempotency-Key": idempotencyKey() } });

export default function SubAccounts() {
  const { t } = useI18n();
  const { api, current } = useSession();
  const list = useQuery({ queryKey: ["sub-accounts"], queryFn: () => call(api.GET("/sub-accounts")) });
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const action = useAction();
  // The areas the merchant's mode offers, in order: the rights screen shows exactly these.
  const areas = Object.keys(current?.rights ?? {});

  return (
    <Card>
      {action.holder}
      <Typography.Title level={2}>{t("nav.sub_accounts")}</Typography.Title>
      <Button type="primary" style={{ marginBottom: 12 }} onClick={() => setDialog({ kind: "new" })}>
        {t("common.add")}
      </Button>
      <ProblemAlert error={list.error ?? action.error} />
      <Table
        rowKey="account"
        size="small"
        loading={list.isLoading}
        dataSource={list.data?.items ?? []}
        scroll={{ x: true }}
        columns={[
          { title: t("sub.account"), dataIndex: "account" },
          { title: t("common.remark"), dataIndex: "remark" },
          {
            title: t("header.branch"),
            dataIndex: "branch",
            render: (b?: string | null) => b ?? t("header.head_office"),
          },
          {
            title: t("sub.rights"),
            key: "rights",
            render: (_: unknown, a: SubAccount) =>
              areas.filter((area) => a.rights[area]?.query || a.rights[area]?.modify).length + ` / ${areas.length}`,
          },
          {
            title: t("common.actions"),
            key: "actions",
            render: (_: unknown, a: SubAccount) => (
              <Space wrap>
                <Button size="small" onClick={() => setDialog({ kind: "rights", account: a })}>
                  {t("sub.rights")}
                </Button>
                <Button size="small" onClick={() => setDialog({ kind: "remark", account: a })}>
                  {t("common.remark")}
                </Button>
                <Button size="small" onClick={() => setDialog({ kind: "password", account: a })}>
                  {t("sub.reset_password")}
                </Button>
                <HistoryButton
                  title={a.account}
                  load={() =>
                    call(api.GET("/sub-accounts/{account}/history", { params: { path: { account: a.account } } }))
                  }
                />
                <Popconfirm
                  title={t("sub.delete_confirm")}
                  okText={t("common.delete")}
                  cancelText={t("common.cancel")}
                  onConfirm={() =>
                    action.run(
                      () =>
                        call(
                          api.DELETE("/sub-accounts/{account}", {
                            params: { path: { account: a.account }, ...header() },
                          }),
                        ),
                      t("common.saved"),
                    )
                  }
                >
                  <Button size="small" danger>
                    {t("common.delete")}
                  </Button>
                </Popconfirm>
              </Space>
            ),
          },
        ]}
      />
      {dialog && <SubAccountDialog dialog={dialog} areas={areas} onClose={() => setDialog(null)} />}
    </Card>
  );
}

function RightsTable({
  areas,
  value,
  onChange,
}: {
  areas: string[];
  value: Rights;
  onChange: (rights: Rights) => void;
}) {
  const { t, language } = useI18n();
  const set = (area: string, access: "query" | "modify", on: boolean) => {
    const now = value[area] ?? { query: false, modify: false };
    const next =
      access === "modify" ? { query: on || now.query, modify: on } : { query: on, modify: on ? now.modify : false };
    onChange({ ...value, [area]: next });
  };
  return (
    <Table
      size="small"
      rowKey={(area) => area}
      pagination={false}
      dataSource={areas}
      columns={[
        { title: t("sub.area"), key: "area", render: (_: unknown, area: string) => areaName(area, language) },
        {
          title: t("sub.query"),
          key: "query",
          render: (_: unknown, area: string) => (
            <Checkbox
              aria-label={`${areaName(area, language)} ${t("sub.query")}`}
              checked={value[area]?.query ?? false}
              onChange={(e) => set(area, "query", e.target.checked)}
            />
          ),
        },
        {
          title: t("sub.modify"),
          key: "modify",
          render: (_: unknown, area: string) => (
            <Checkbox
              aria-label={`${areaName(area, language)} ${t("sub.modify")}`}
              checked={value[area]?.modify ?? false}
              onChange={(e) => set(area, "modify", e.target.checked)}
            />
          ),
        },
      ]}
    />
  );
}

function SubAccountDialog({ dialog, areas, onClose }: { dialog: Dialog; areas: string[]; onClose: () => void }) {
  const { t } = useI18n();
  const { api } = useSession();
  const action = useAction();
  const [form] = Form.useForm<{ account: string; password: string; remark: string }>();
  const [rights, setRights] = useState<Rights>(dialog.kind === "rights" ? { ...dialog.account.rights } : {});
  const [key] = useState(idempotencyKey);
  const params = (account: string) => ({ path: { account }, header: { "Idempotency-Key": key } });

  const save = () =>
    form.validateFields().then((values) =>
      action.run(async () => {
        if (dialog.kind === "new") {
          await call(
            api.POST("/sub-accounts", { body: { ...values, rights }, params: { header: { "Idempotency-Key": key } } }),
          );
        } else if (dialog.kind === "rights") {
          await call(
            api.PUT("/sub-accounts/{account}/rights", { body: { rights }, params: params(dialog.account.account) }),
          );
        } else if (dialog.kind === "password") {
          await call(
            api.PUT("/sub-accounts/{account}/password", {
              body: { password: values.password },
              params: params(dialog.account.account),
            }),
          );
        } else {
          await call(
            api.PUT("/sub-accounts/{account}/remark", {
              body: { remark: values.remark ?? "" },
              params: params(dialog.account.account),
            }),
          );
        }
        onClose();
      }, t("common.saved")),
    );

  const title =
    dialog.kind === "new"
      ? t("common.add")
      : `${dialog.account.account} · ${t(dialog.kind === "rights" ? "sub.rights" : dialog.kind === "password" ? "sub.reset_password" : "common.remark")}`;
  return (
    <Modal
      open
      title={title}
      okText={t("common.save")}
      cancelText={t("common.cancel")}
      confirmLoading={action.busy}
      onCancel={onClose}
      onOk={() => void save()}
      width={640}
    >
      {action.holder}
      <ProblemAlert error={action.error} />
      <Form
        form={form}
        layout="vertical"
        initialValues={dialog.kind === "remark" ? { remark: dialog.account.remark } : {}}
      >
        {dialog.kind === "new" && (
          <Form.Item name="account" label={t("sub.account")} rules={[{ required: true }]} extra="6–20">
            <Input autoComplete="off" />
          </Form.Item>
        )}
        {(dialog.kind === "new" || dialog.kind === "password") && (
          <Form.Item name="password" label={t("sub.password")} rules={[{ required: true }]} extra="6–20">
            <Input.Password autoComplete="new-password" />
          </Form.Item>
        )}
        {(dialog.kind === "new" || dialog.kind === "remark") && (
          <Form.Item name="remark" label={t("common.remark")} rules={[{ max: 20 }]}>
            <Input maxLength={20} />
          </Form.Item>
        )}
      </Form>
      {(dialog.kind === "new" || dialog.kind === "rights") && (
        <RightsTable areas={areas} value={rights} onChange={setRights} />
      )}
    </Modal>
  );
}
