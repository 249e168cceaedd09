import { Alert } from "antd";
import { ApiError } from "../api/client";
import { useI18n } from "../i18n";

/** An API refusal as the person reads it: the code's words, the detail, each bad field or cell. */
export function ProblemAlert({ error }: { error: unknown }) {
  const { problemText } = useI18n();
  if (!error) return null;
  if (!(error instanceof ApiError)) return <Alert type="error" showIcon message={String(error)} />;
  const violations = error.problem.errors ?? [];
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      data-code={error.problem.code}
      message={problemText(error.problem)}
      description={
        violations.length > 0 ? (
          <ul style={{ margin: 0 }}>
            {violations.map((v, i) => (
              <li key={i}>
                {[v.row != null ? `#${v.row}` : null, v.column ?? v.field, v.reason].filter(Boolean).join(" · ")}
              </li>
            ))}
          </ul>
        ) : undefined
      }
    />
  );
}
