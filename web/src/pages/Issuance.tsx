// 票券發行 (§7-2): the unissued orders, the template, and the issuance flow: upload the
// filled template, see every row checked (errors marked on their cells), confirm, and
// watch the batch until it is done.
import { Alert, Button, Card, DatePicker, Progress, Select, Space, Table, Typography, Upload } from "antd";
import { useQuery } from "@tanstack/react-query";
import type { Dayjs } from "dayjs";
import { useState } from "react";
import { ApiError, call, idempotencyKey, type Schemas } from "../api/client";
import { ProblemAlert } from "../components/ProblemAlert";
import { StatusTag } from "../components/StatusTag";
import { saveBlob } from "../download";
import { useI18n } from "../i18n";
import { DELIVERY_METHODS, deliveryMethodName } from "../labels";
import { useSession } from "../session";

type Preview = Schemas["Preview"];
type Batch = Schemas["BatchDetail"];
const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

export default function Issuance() {
  const { t, language } = useI18n();
  const { api, may } = useSession();
  const canIssue = may("issuance", "modify");
  const orders = useQuery({ queryKey: ["orders", "unissued"], queryFn: () => call(api.GET("/orders/unissued")) });
  const [method, setMethod] = useState("electronic_immediate");
  const [validFrom, setValidFrom] = useState<Dayjs | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [batchId, setBatchId] = useState<string | null>(null);
  const [confirmKey, setConfirmKey] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const batch = useQuery({
    queryKey: ["batch", batchId],
    enabled: batchId !== null,
    queryFn: () => call(api.GET("/issuance/batches/{batch_id}", { params: { path: { batch_id: batchId! } } })),
    refetchInterval: (query) => {
      const status = (query.state.data as Batch | undefined)?.status;
      return status === "done" || status === "failed" ? false : 1000;
    },
  });

  const downloadTemplate = async () => {
    setError(null);
    try {
      const blob = await call(api.GET("/issuance/template", { parseAs: "blob" }));
      saveBlob(blob as Blob, "issuance-template.xlsx");
    } catch (e) {
      setError(e);
    }
  };

  const exportOrders = async () => {
    setError(null);
    try {
      const blob = await call(api.GET("/orders/unissued/export", { parseAs: "blob" }));
      saveBlob(blob as Blob, "unissued-orders.xlsx");
    } catch (e) {
      setError(e);
    }
  };

  const upload = async (file: File) => {
    setBusy(true);
    setError(null);
    setPreview(null);
    setBatchId(null);
    try {
      const ticket = await call(
        api.POST("/issuance/uploads", {
          body: {
            delivery_method: method,
            size: file.size,
            valid_from: validFrom ? validFrom.format("YYYY-MM-DD") : null,
          },
        }),
      );
      const put = await fetch(ticket.upload_url, {
        method: "PUT",
        body: file,
        headers: { "Content-Type": ticket.content_type },
      });
      if (!put.ok) throw new Error(`upload: HTTP ${put.status}`);
      setPreview(
        await call(
          api.POST("/issuance/uploads/{upload_id}/preview", { params: { path: { upload_id: ticket.upload_id } } }),
        ),
      );
      setConfirmKey(idempotencyKey());
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const confirm = async () => {
    if (!preview || !confirmKey) return;
    setBusy(true);
    setError(null);
    try {
      const queued = await call(
        api.POST("/issuance/uploads/{upload_id}/confirm", {
          params: { path: { upload_id: preview.upload_id }, header: { "Idempotency-Key": confirmKey } },
        }),
      );
      setBatchId(queued.batch_id);
      void orders.refetch();
    } catch (e) {
      if (e instanceof ApiError && e.status !== 0) setConfirmKey(idempotencyKey());
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const current = batch.data;
  const percent = current && current.rows_total > 0 ? Math.round((100 * current.rows_done) / current.rows_total) : 0;
  const columns = preview ? Object.keys(preview.rows[0]?.cells ?? {}) : [];

  return (
    <Space direction="vertical" size="large" style={{ width: "100%" }}>
      <Typography.Title level={2}>{t("nav.issuance")}</Typography.Title>
      <ProblemAlert error={error} />
      <Card
        title={t("issuance.orders")}
        extra={
          <Space wrap>
            <Button onClick={() => void downloadTemplate()}>{t("issuance.template")}</Button>
            <Button onClick={() => void exportOrders()} disabled={(orders.data?.items ?? []).length === 0}>
              {t("issuance.export_orders")}
            </Button>
          </Space>
        }
      >
        <Table
          rowKey="trade_no"
          size="small"
          loading={orders.isLoading}
          dataSource={orders.data?.items ?? []}
          pagination={{ pageSize: 10 }}
          scroll={{ x: true }}
          columns={[
            { title: t("issuance.trade_no"), dataIndex: "trade_no" },
            { title: t("issuance.product_id"), dataIndex: "product_id" },
            { title: t("issuance.amount"), dataIndex: "amount" },
            { title: t("issuance.quantity"), dataIndex: "quantity" },
            { title: t("issuance.cardholder"), dataIndex: "cardholder_name" },
            { title: t("issuance.issuable_until"), dataIndex: "issuable_until" },
          ]}
        />
      </Card>
      {canIssue && (
        <Card title={t("issuance.file")}>
          <Space wrap>
            <Select
              aria-label={t("issuance.method")}
              value={method}
              onChange={setMethod}
              style={{ minWidth: 260 }}
              options={Object.keys(DELIVERY_METHODS).map((code) => ({
                value: code,
                label: deliveryMethodName(code, language),
              }))}
            />
            {method === "electronic_deferred" && <DatePicker value={validFrom} onChange={setValidFrom} />}
            <Upload
              accept={`.xlsx,${XLSX}`}
              showUploadList={false}
              beforeUpload={(file) => {
                void upload(file);
                return false;
              }}
            >
              <Button type="primary" loading={busy && !preview}>
                {t("issuance.choose")}
              </Button>
            </Upload>
          </Space>
        </Card>
      )}
      {preview && (
        <Card
          title={t("issuance.preview")}
          extra={
            <Button
              type="primary"
              disabled={!preview.can_confirm || batchId !== null}
              loading={busy}
              onClick={() => void confirm()}
            >
              {t("issuance.confirm")}
            </Button>
          }
        >
          <Alert
            type={preview.can_confirm ? "success" : "error"}
            data-testid="preview-summary"
            message={`${preview.rows.length} ${t("issuance.rows")} · ${preview.tickets_total} ${t("issuance.tickets")} · ${t("issuance.errors")}: ${preview.rows_with_errors}`}
            style={{ marginBottom: 12 }}
          />
          <Table
            rowKey="row"
            size="small"
            dataSource={preview.rows}
            pagination={{ pageSize: 20 }}
            scroll={{ x: true }}
            columns={[
              { title: t("issuance.row"), dataIndex: "row", fixed: "left" },
              ...columns.map((column) => ({
                title: column,
                key: column,
                render: (_: unknown, row: Schemas["PreviewRow"]) => {
                  const errors = row.errors.filter((e) => e.column === column);
                  return errors.length > 0 ? (
                    <span
                      className="cell-error"
                      style={{ background: "#fff1f0", color: "#a8071a", display: "block" }}
                      title={errors.map((e) => e.reason).join("; ")}
                    >
                      {row.cells[column] || "—"}
                      <br />
                      <small>{errors.map((e) => e.reason).join("; ")}</small>
                    </span>
                  ) : (
                    row.cells[column]
                  );
                },
              })),
              {
                title: t("issuance.errors"),
                key: "errors",
                render: (_: unknown, row: Schemas["PreviewRow"]) =>
                  row.errors
                    .filter((e) => !columns.includes(e.column))
                    .map((e) => e.reason)
                    .join("; "),
              },
            ]}
          />
        </Card>
      )}
      {current && (
        <Card title={`${t("issuance.progress")} · ${current.batch_id}`}>
          <Progress
            aria-label={t("issuance.progress")}
            percent={current.status === "done" ? 100 : percent}
            status={current.status === "failed" ? "exception" : current.status === "done" ? "success" : "active"}
          />
          <Typography.Paragraph data-testid="batch-status" data-status={current.status}>
            {current.status === "done"
              ? t("issuance.done")
              : current.status === "failed"
                ? t("issuance.failed")
                : current.status}
            {" · "}
            {current.rows_done} / {current.rows_total} {t("issuance.rows")} · {current.tickets_total}{" "}
            {t("issuance.tickets")}
            {current.rows_failed > 0 && <StatusTag tone="bad">{current.rows_failed}</StatusTag>}
          </Typography.Paragraph>
          {current.failure_reason && <Alert type="error" message={current.failure_reason} />}
        </Card>
      )}
    </Space>
  );
}
