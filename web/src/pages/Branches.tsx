// 票券分店與綁定子帳號 (§3-4): branches (new, edit, enable / disable, history) and which
// sub-account is bound to which branch (bind, re-bind, unbind).
import { useQuery } from "@tanstack/react-query";
import { Button, Card, Form, Input, Modal, Select, Space, Switch, Table, Tabs, Typography } from "antd";
import { useState } from "react";
import { call, idempotencyKey, type Schemas } from "../api/client";
import { useAction } from "../action";
import { HistoryButton } from "../components/History";
import { ProblemAlert } from "../components/ProblemAlert";
import { StatusTag } from "../components/StatusTag";
import { useI18n } from "../i18n";
import { useSession } from "../session";

type Branch = Schemas["BranchView"];

export default function Branches() {
  const { t } = useI18n();
  const { api, may } = useSession();
  const canModify = may("branches", "modify");
  const branches = useQuery({ queryKey: ["branches"], queryFn: () => call(api.GET("/branches")) });
  const bindings = useQuery({ queryKey: ["branch-bindings"], queryFn: () => call(api.GET("/branch-bindings")) });
  const [editing, setEditing] = useState<Branch | "new" | null>(null);
  const [binding, setBinding] = useState(false);
  const action = useAction();

  return (
    <Card>
      {action.holder}
      <Typography.Title level={2}>{t("nav.branches")}</Typography.Title>
      <ProblemAlert error={branches.error ?? bindings.error ?? action.error} />
      <Tabs
        items={[
          {
            key: "branches",
            label: t("nav.branches"),
            children: (
              <>
                {canModify && (
                  <Button type="primary" style={{ marginBottom: 12 }} onClick={() => setEditing("new")}>
                    {t("common.add")}
                  </Button>
                )}
                <Table
                  rowKey="code"
                  size="small"
                  loading={branches.isLoading}
                  dataSource={branches.data?.items ?? []}
                  scroll={{ x: true }}
                  columns={[
                    { title: t("branch.code"), dataIndex: "code" },
                    { title: t("branch.name"), dataIndex: "name" },
                    { title: t("branch.address"), dataIndex: "address" },
                    { title: t("branch.phone"), dataIndex: "phone" },
                    { title: t("branch.bound"), dataIndex: "bound_accounts" },
                    {
                      title: t("branch.enabled"),
                      dataIndex: "enabled",
                      render: (on: boolean) => (
                        <StatusTag tone={on ? "good" : "neutral"}>{on ? t("common.yes") : t("common.no")}</StatusTag>
                      ),
                    },
                    {
                      title: t("common.actions"),
                      key: "actions",
                      render: (_: unknown, b: Branch) => (
                        <Space>
                          {canModify && (
                            <Button size="small" onClick={() => setEditing(b)}>
                              {t("common.edit")}
                            </Button>
                          )}
                          <HistoryButton
                            title={b.name}
                            load={() =>
                              call(api.GET("/branches/{code}/history", { params: { path: { code: b.code } } }))
                            }
                          />
                        </Space>
                      ),
                    },
                  ]}
                />
              </>
            ),
          },
          {
            key: "bindings",
            label: t("branch.bindings"),
            children: (
              <>
                {canModify && (
                  <Button type="primary" style={{ marginBottom: 12 }} onClick={() => setBinding(true)}>
                    {t("branch.bind")}
                  </Button>
                )}
                <Table
                  rowKey="account"
                  size="small"
                  loading={bindings.isLoading}
                  dataSource={bindings.data?.items ?? []}
                  columns={[
                    { title: t("sub.account"), dataIndex: "account" },
                    { title: t("common.remark"), dataIndex: "remark" },
                    { title: t("branch.code"), dataIndex: "branch_code" },
                    { title: t("branch.name"), dataIndex: "branch_name" },
                    {
                      title: t("common.actions"),
                      key: "actions",
                      render: (_: unknown, row: Schemas["BindingView"]) =>
                        canModify && (
                          <Button
                            size="small"
                            danger
                            loading={action.busy}
                            onClick={() =>
                              action.run(
                                () =>
                                  call(
                                    api.POST("/branch-bindings/unbind", {
                                      body: { accounts: [row.account] },
                                      params: { header: { "Idempotency-Key": idempotencyKey() } },
                                    }),
                                  ),
                                t("common.saved"),
                              )
                            }
                          >
                            {t("branch.unbind")}
                          </Button>
                        ),
                    },
                  ]}
                />
              </>
            ),
          },
        ]}
      />
      {editing && <BranchForm branch={editing === "new" ? null : editing} onClose={() => setEditing(null)} />}
      {binding && <BindForm branches={branches.data?.items ?? []} onClose={() => setBinding(false)} />}
    </Card>
  );
}

function BranchForm({ branch, onClose }: { branch: Branch | null; onClose: () => void }) {
  const { t } = useI18n();
  const { api } = useSession();
  const action = useAction();
  const [form] = Form.useForm<{ code: string; name: string; address: string; phone: string; enabled: boolean }>();
  const [key] = useState(idempotencyKey);
  const save = () =>
    form.validateFields().then((values) =>
      action.run(async () => {
        if (branch) {
          const { code: _code, ...edit } = values;
          await call(
            api.PATCH("/branches/{code}", {
              body: edit,
              params: { path: { code: branch.code }, header: { "Idempotency-Key": key } },
            }),
          );
        } else {
          await call(api.POST("/branches", { body: values, params: { header: { "Idempotency-Key": key } } }));
        }
        onClose();
      }, t("common.saved")),
    );
  return (
    <Modal
      open
      title={branch ? `${branch.code} · ${t("common.edit")}` : t("common.add")}
      okText={t("common.save")}
      cancelText={t("common.cancel")}
      confirmLoading={action.busy}
      onCancel={onClose}
      onOk={() => void save()}
    >
      {action.holder}
      <ProblemAlert error={action.error} />
      <Form form={form} layout="vertical" initialValues={branch ?? { enabled: true }}>
        <Form.Item name="code" label={t("branch.code")} rules={[{ required: true }]} extra="1–20: A–Z 0–9 - _">
          <Input disabled={branch !== null} maxLength={20} />
        </Form.Item>
        <Form.Item name="name" label={t("branch.name")} rules={[{ required: true }]}>
          <Input />
        </Form.Item>
        <Form.Item name="address" label={t("branch.address")}>
          <Input />
        </Form.Item>
        <Form.Item name="phone" label={t("branch.phone")}>
          <Input />
        </Form.Item>
        <Form.Item name="enabled" label={t("branch.enabled")} valuePropName="checked">
          <Switch />
        </Form.Item>
      </Form>
    </Modal>
  );
}

function BindForm({ branches, onClose }: { branches: Branch[]; onClose: () => void }) {
  const { t } = useI18n();
  const { api } = useSession();
  const action = useAction();
  const accounts = useQuery({ queryKey: ["sub-accounts"], queryFn: () => call(api.GET("/sub-accounts")) });
  const [form] = Form.useForm<{ branch_code: string; account: string }>();
  const [key] = useState(idempotencyKey);
  const save = () =>
    form.validateFields().then((values) =>
      action.run(async () => {
        await call(
          api.PUT("/branch-bindings", {
            body: { branch_code: values.branch_code, accounts: [values.account] },
            params: { header: { "Idempotency-Key": key } },
          }),
        );
        onClose();
      }, t("common.saved")),
    );
  return (
    <Modal
      open
      title={t("branch.bind")}
      okText={t("common.save")}
      cancelText={t("common.cancel")}
      confirmLoading={action.busy}
      onCancel={onClose}
      onOk={() => void save()}
    >
      {action.holder}
      <ProblemAlert error={action.error ?? accounts.error} />
      <Form form={form} layout="vertical">
        <Form.Item name="branch_code" label={t("branch.code")} rules={[{ required: true }]}>
          <Select
            showSearch={{ optionFilterProp: "label" }}
            options={branches.map((b) => ({ value: b.code, label: `${b.code} ${b.name}` }))}
          />
        </Form.Item>
        <Form.Item name="account" label={t("sub.account")} rules={[{ required: true }]}>
          <Select
            showSearch={{ optionFilterProp: "label" }}
            options={(accounts.data?.items ?? []).map((a) => ({ value: a.account, label: `${a.account} ${a.remark}` }))}
          />
        </Form.Item>
      </Form>
    </Modal>
  );
}
