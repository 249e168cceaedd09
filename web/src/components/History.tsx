// An entity's history (歷程): who did what when, and what changed.
import { Button, Drawer, List, Typography } from "antd";
import dayjs from "dayjs";
import { useState } from "react";
import type { Schemas } from "../api/client";
import { useI18n } from "../i18n";
import { ProblemAlert } from "./ProblemAlert";

export function HistoryButton({ title, load }: { title: string; load: () => Promise<Schemas["HistoryList"]> }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState<Schemas["HistoryView"][] | null>(null);
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      <Button
        size="small"
        onClick={() => {
          setOpen(true);
          setError(null);
          load()
            .then((list) => setItems(list.items))
            .catch(setError);
        }}
      >
        {t("common.history")}
      </Button>
      <Drawer open={open} onClose={() => setOpen(false)} title={`${title} · ${t("common.history")}`} width={560}>
        <ProblemAlert error={error} />
        <List
          loading={items === null && !error}
          dataSource={items ?? []}
          locale={{ emptyText: t("common.none") }}
          renderItem={(entry) => (
            <List.Item>
              <List.Item.Meta
                title={`${dayjs(entry.at).format("YYYY-MM-DD HH:mm:ss")} · ${entry.by_account} · ${entry.action}`}
                description={
                  <Typography.Text code style={{ whiteSpace: "pre-wrap", wordBreak: "break-all" }}>
                    {JSON.stringify(entry.changes)}
                  </Typography.Text>
                }
              />
            </List.Item>
          )}
        />
      </Drawer>
    </>
  );
}
