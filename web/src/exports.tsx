// Excel export of a report: queue it, poll until done, then the browser fetches the file
// from its short-lived link (an attachment, saved under its name).
import { Button, Space, Typography } from "antd";
import { useState } from "react";
import { call, idempotencyKey, type Schemas } from "./api/client";
import { ProblemAlert } from "./components/ProblemAlert";
import { useI18n } from "./i18n";
import { useSession } from "./session";

export function ExportButton({ report, query }: { report: string; query: Record<string, unknown> }) {
  const { t } = useI18n();
  const { api } = useSession();
  const [state, setState] = useState<Schemas["ExportView"] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const start = async () => {
    setBusy(true);
    setError(null);
    setState(null);
    try {
      let view = await call(
        api.POST("/exports", {
          body: { report, query },
          params: { header: { "Idempotency-Key": idempotencyKey() } },
        }),
      );
      setState(view);
      while (view.status === "queued" || view.status === "running") {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        view = await call(api.GET("/exports/{export_id}", { params: { path: { export_id: view.export_id } } }));
        setState(view);
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Space direction="vertical">
      <Space wrap>
        <Button onClick={() => void start()} loading={busy}>
          {t("common.export")}
        </Button>
        {state && (
          <Typography.Text data-testid="export-status" data-status={state.status}>
            {state.status === "done"
              ? t("reports.export_ready")
              : state.status === "failed"
                ? state.failure
                : t("reports.export_started")}
            {" · "}
            {t("reports.rows_written")}: {state.rows_written}
          </Typography.Text>
        )}
        {/* A report too long for one file comes in numbered parts, each with its link. */}
        {state?.status === "done" &&
          state.parts.map((part, index) => (
            <Button
              key={part.download_url}
              type={index === 0 ? "primary" : "default"}
              href={part.download_url}
              data-testid={index === 0 ? "export-download" : `export-download-${index + 1}`}
            >
              {state.parts.length === 1
                ? t("common.download")
                : `${t("common.download")} ${index + 1}/${state.parts.length} · ${t("reports.rows_written")}: ${part.rows}`}
            </Button>
          ))}
      </Space>
      <ProblemAlert error={error} />
    </Space>
  );
}
