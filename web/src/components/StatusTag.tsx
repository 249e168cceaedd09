import { Tag } from "antd";
import type { ReactNode } from "react";

/** Ant Design's preset tag colours fall below WCAG AA contrast; these do not. */
const TONES = {
  good: { color: "#064630", background: "#e3f1ec", borderColor: "#8cc5b0" },
  warn: { color: "#6b3a00", background: "#fff4e0", borderColor: "#f0c27a" },
  bad: { color: "#8a1020", background: "#fdecee", borderColor: "#f0a3ad" },
  neutral: { color: "#2b2b2b", background: "#f2f2f2", borderColor: "#cfcfcf" },
} as const;

export function StatusTag({
  tone,
  children,
  testId,
}: {
  tone: keyof typeof TONES;
  children: ReactNode;
  testId?: string;
}) {
  return (
    <Tag style={TONES[tone]} data-testid={testId}>
      {children}
    </Tag>
  );
}
