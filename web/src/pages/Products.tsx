// 商品管理 (§5): products by creation date; new, edit (after the first issue only the three
// lists can change: the API says which), copy, delist / relist, history.
import { useQuery } from "@tanstack/react-query";
import {
  Button,
  Card,
  DatePicker,
  Form,
  Image,
  Input,
  InputNumber,
  Modal,
  Select,
  Space,
  Table,
  Typography,
  Upload,
} from "antd";
import dayjs, { type Dayjs } from "dayjs";
import { useState } from "react";
import { call, idempotencyKey, type Schemas } from "../api/client";
import { useAction } from "../action";
import { HistoryButton } from "../components/History";
import { ProblemAlert } from "../components/ProblemAlert";
import { StatusTag } from "../components/StatusTag";
import { useI18n } from "../i18n";
import { useSession } from "../session";

type Product = Schemas["ProductView"];
type ProductInput = Schemas["ProductInput"];
type Editing = { mode: "new"; initial?: Partial<ProductInput> } | { mode: "edit"; product: Product };

export default function Products() {
  const { t, language } = useI18n();
  const { api, may } = useSession();
  const canModify = may("products", "modify");
  // The list is by creation date, at most a year at a time.
  const [range, setRange] = useState<[Dayjs, Dayjs]>([dayjs().subtract(1, "year").add(1, "day"), dayjs()]);
  const query = { from: range[0].format("YYYY-MM-DD"), to: range[1].format("YYYY-MM-DD") };
  const products = useQuery({
    queryKey: ["products", query],
    queryFn: () => call(api.GET("/products", { params: { query } })),
  });
  const branches = useQuery({ queryKey: ["branches"], enabled: canModify, queryFn: () => call(api.GET("/branches")) });
  const [selected, setSelected] = useState<string[]>([]);
  const [editing, setEditing] = useState<Editing | null>(null);
  const action = useAction();
  const zh = language !== "en";

  const setListed = (listed: boolean) =>
    action.run(
      () =>
        call(
          listed
            ? api.POST("/products/relist", {
                body: { product_ids: selected },
                params: { header: { "Idempotency-Key": idempotencyKey() } },
              })
            : api.POST("/products/delist", {
                body: { product_ids: selected },
                params: { header: { "Idempotency-Key": idempotencyKey() } },
              }),
        ),
      t("common.saved"),
    );

  // The picture goes straight to storage through a presigned link, then is confirmed.
  const uploadImage = (product: Product, file: File) =>
    action.run(async () => {
      const path = { product_id: product.product_id };
      const ticket = await call(
        api.POST("/products/{product_id}/image-uploads", {
          body: { content_type: file.type, size: file.size },
          params: { path, header: { "Idempotency-Key": idempotencyKey() } },
        }),
      );
      const put = await fetch(ticket.upload_url, { method: "PUT", body: file, headers: { "Content-Type": file.type } });
      if (!put.ok) throw new Error(`upload: HTTP ${put.status}`);
      await call(
        api.PUT("/products/{product_id}/image", {
          body: { key: ticket.key },
          params: { path, header: { "Idempotency-Key": idempotencyKey() } },
        }),
      );
    }, t("common.saved"));

  const copy = (product: Product) =>
    action.run(async () => {
      const copied = await call(
        api.GET("/products/{product_id}/copy", { params: { path: { product_id: product.product_id } } }),
      );
      setEditing({ mode: "new", initial: copied });
    });

  return (
    <Card>
      {action.holder}
      <Typography.Title level={2}>{t("nav.products")}</Typography.Title>
      <Space wrap style={{ marginBottom: 12 }}>
        <DatePicker.RangePicker
          value={range}
          allowClear={false}
          onChange={(v) => v && v[0] && v[1] && setRange([v[0], v[1]])}
        />
        {canModify && (
          <>
            <Button type="primary" onClick={() => setEditing({ mode: "new" })}>
              {t("products.add")}
            </Button>
            <Button disabled={selected.length === 0} loading={action.busy} onClick={() => void setListed(false)}>
              {t("products.delist")}
            </Button>
            <Button disabled={selected.length === 0} loading={action.busy} onClick={() => void setListed(true)}>
              {t("products.relist")}
            </Button>
          </>
        )}
      </Space>
      <ProblemAlert error={products.error ?? action.error} />
      <Table
        rowKey="product_id"
        size="small"
        loading={products.isLoading}
        dataSource={products.data?.items ?? []}
        // No horizontal scroll here: with it, Ant Design adds a hidden measuring row holding
        // a focusable checkbox (axe: aria-hidden-focus). The page scrolls instead.
        style={{ overflowX: "auto" }}
        rowSelection={
          canModify ? { selectedRowKeys: selected, onChange: (keys) => setSelected(keys as string[]) } : undefined
        }
        columns={[
          { title: zh ? "商品代號" : "Product ID", dataIndex: "product_id" },
          { title: t("ticket.product"), dataIndex: "name" },
          {
            title: t("products.kind"),
            dataIndex: "kind",
            render: (kind: string) => (kind === "gift_voucher" ? t("home.gift") : t("home.goods")),
          },
          { title: t("ticket.face_value"), dataIndex: "face_value" },
          { title: t("products.term_days"), dataIndex: "term_days" },
          {
            title: t("ticket.status"),
            dataIndex: "listed",
            render: (listed: boolean) => (
              <StatusTag tone={listed ? "good" : "neutral"}>
                {listed ? t("products.listed") : t("products.delisted")}
              </StatusTag>
            ),
          },
          {
            title: t("common.actions"),
            key: "actions",
            render: (_: unknown, product: Product) => (
              <Space wrap>
                {canModify && (
                  <Button size="small" onClick={() => setEditing({ mode: "edit", product })}>
                    {t("common.edit")}
                  </Button>
                )}
                {canModify && (
                  <Button size="small" onClick={() => void copy(product)}>
                    {t("products.copy")}
                  </Button>
                )}
                {canModify && (
                  <Upload
                    accept="image/png,image/jpeg"
                    showUploadList={false}
                    beforeUpload={(file) => {
                      void uploadImage(product, file);
                      return false;
                    }}
                  >
                    <Button size="small">{t("products.image")}</Button>
                  </Upload>
                )}
                {product.image_url && <Image src={product.image_url} height={24} alt={product.name} />}
                <HistoryButton
                  title={product.name}
                  load={() =>
                    call(
                      api.GET("/products/{product_id}/history", {
                        params: { path: { product_id: product.product_id } },
                      }),
                    )
                  }
                />
              </Space>
            ),
          },
        ]}
      />
      {editing && (
        <ProductForm
          editing={editing}
          branchCodes={(branches.data?.items ?? []).map((b) => b.code)}
          onClose={() => setEditing(null)}
        />
      )}
    </Card>
  );
}

function ProductForm({
  editing,
  branchCodes,
  onClose,
}: {
  editing: Editing;
  branchCodes: string[];
  onClose: () => void;
}) {
  const { t } = useI18n();
  const { api } = useSession();
  const action = useAction();
  const [form] = Form.useForm<ProductInput>();
  const [key] = useState(idempotencyKey);
  const initial = editing.mode === "edit" ? editing.product : { kind: "goods_voucher", ...editing.initial };
  const locked = editing.mode === "edit" && Boolean(editing.product.first_issued_at);
  const save = (input: ProductInput) =>
    action.run(async () => {
      const body = { ...initial, ...input, face_value: String(input.face_value) } as ProductInput;
      if (editing.mode === "edit") {
        await call(
          api.PUT("/products/{product_id}", {
            body,
            params: { path: { product_id: editing.product.product_id }, header: { "Idempotency-Key": key } },
          }),
        );
      } else {
        await call(api.POST("/products", { body, params: { header: { "Idempotency-Key": key } } }));
      }
      onClose();
    }, t("common.saved"));
  const branchOptions = branchCodes.map((code) => ({ value: code, label: code }));
  return (
    <Modal
      open
      title={editing.mode === "edit" ? t("products.edit") : t("products.add")}
      okText={t("common.save")}
      cancelText={t("common.cancel")}
      confirmLoading={action.busy}
      onCancel={onClose}
      onOk={() => form.validateFields().then((values) => void save(values))}
      width={640}
    >
      {action.holder}
      <ProblemAlert error={action.error} />
      <Form form={form} layout="vertical" initialValues={initial}>
        <Form.Item name="name" label={t("products.name")} rules={[{ required: true }]}>
          <Input disabled={locked} maxLength={100} />
        </Form.Item>
        <Form.Item name="kind" label={t("products.kind")} rules={[{ required: true }]}>
          <Select
            disabled={locked || editing.mode === "edit"}
            options={[
              { value: "goods_voucher", label: t("home.goods") },
              { value: "gift_voucher", label: t("home.gift") },
            ]}
          />
        </Form.Item>
        <Space wrap>
          <Form.Item name="face_value" label={t("ticket.face_value")} rules={[{ required: true }]}>
            <InputNumber min={1} precision={0} disabled={locked} />
          </Form.Item>
          <Form.Item name="term_days" label={t("products.term_days")} rules={[{ required: true }]}>
            <InputNumber min={1} precision={0} disabled={locked} />
          </Form.Item>
        </Space>
        <Form.Item name="usage_notes" label={t("products.usage_notes")}>
          <Input.TextArea disabled={locked} rows={3} />
        </Form.Item>
        <Form.Item name="redeem_branches" label={t("products.redeem_branches")}>
          <Select mode="multiple" options={branchOptions} allowClear aria-label={t("products.redeem_branches")} />
        </Form.Item>
        <Form.Item name="return_branches" label={t("products.return_branches")}>
          <Select mode="multiple" options={branchOptions} allowClear aria-label={t("products.return_branches")} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
