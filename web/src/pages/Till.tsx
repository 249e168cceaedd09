// 票券核銷 / 退貨 at the till: a code field that takes a scanner's input (it types the code
// and Enter) or a phone camera's QR scan, the ticket with what this account may do with it
// now, and a big clear result. Each action carries its own Idempotency-Key, kept while the
// same action is retried, so a double tap or a retry after a timeout acts once.
import { Button, Card, Descriptions, Form, Input, Result, Space, Typography } from "antd";
import { lazy, Suspense, useEffect, useRef, useState } from "react";
import { ApiError, call, idempotencyKey, type Schemas } from "../api/client";
import { ProblemAlert } from "../components/ProblemAlert";
import { StatusTag } from "../components/StatusTag";
import { useI18n } from "../i18n";
import { DONE, LABEL, type Action } from "./tillActions";
import { statusName } from "../labels";
import { useSession } from "../session";

// The reason (and fee) dialog loads the first time a cancel or a return asks for it.
const ReasonDialog = lazy(() => import("./TillReasonDialog"));

type Ticket = Schemas["TicketView"] | Schemas["StoreTicketView"];
export default function Till() {
  const { t, language, problemText } = useI18n();
  const { api } = useSession();
  const [code, setCode] = useState("");
  const [ticket, setTicket] = useState<Ticket | null>(null);
  const [outcome, setOutcome] = useState<
    { ok: true; action: Action; ticket: Ticket } | { ok: false; error: unknown } | null
  >(null);
  const [busy, setBusy] = useState(false);
  const [asking, setAsking] = useState<Action | null>(null);
  const [scanning, setScanning] = useState(false);
  const keys = useRef(new Map<string, string>());
  const input = useRef<HTMLInputElement | null>(null);

  const reset = () => {
    setTicket(null);
    setOutcome(null);
    setCode("");
    keys.current.clear();
    setTimeout(() => input.current?.focus(), 0);
  };

  const lookup = async (value: string) => {
    const trimmed = value.trim();
    if (!trimmed) return;
    setBusy(true);
    setOutcome(null);
    try {
      setTicket(await call(api.POST("/tickets/lookup", { body: { code: trimmed } })));
    } catch (error) {
      setTicket(null);
      setOutcome({ ok: false, error });
    } finally {
      setBusy(false);
    }
  };

  /** The same action on the same code keeps its key until it gets an answer that is not a network failure. */
  const keyFor = (action: Action, body: object) => {
    const id = `${action}:${JSON.stringify(body)}`;
    let key = keys.current.get(id);
    if (!key) {
      key = idempotencyKey();
      keys.current.set(id, key);
    }
    return { id, key };
  };

  const act = async (action: Action, extra: { reason?: string; fee?: string }) => {
    const body = { code: code.trim(), ...extra };
    const { id, key } = keyFor(action, body);
    const params = { header: { "Idempotency-Key": key } };
    setBusy(true);
    try {
      let result: Ticket;
      if (action === "redeem") {
        result = await call(
          api.POST("/redemptions", { body: { code: body.code, reason: extra.reason ?? null }, params }),
        );
      } else if (action === "cancel_redemption") {
        result = await call(
          api.POST("/redemptions/cancel", { body: { code: body.code, reason: extra.reason ?? "" }, params }),
        );
      } else if (action === "return") {
        result = await call(
          api.POST("/returns", {
            body: { code: body.code, reason: extra.reason ?? "", fee: extra.fee ?? null },
            params,
          }),
        );
      } else {
        result = await call(
          api.POST("/returns/cancel", { body: { code: body.code, reason: extra.reason ?? "" }, params }),
        );
      }
      keys.current.delete(id);
      setTicket(result);
      setOutcome({ ok: true, action, ticket: result });
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 0)) keys.current.delete(id);
      setOutcome({ ok: false, error });
    } finally {
      setBusy(false);
      setAsking(null);
    }
  };

  const allowed = (ticket?.allowed ?? []).filter((a): a is Action => a in LABEL);

  return (
    <Space direction="vertical" size="large" style={{ width: "100%", maxWidth: 720 }}>
      <Typography.Title level={2}>{t("nav.till")}</Typography.Title>
      <Form layout="vertical" onFinish={() => void lookup(code)}>
        <Form.Item label={t("till.code")} extra={t("till.code_hint")} htmlFor="till-code">
          <Space.Compact style={{ width: "100%" }}>
            <Input
              id="till-code"
              ref={(element) => {
                input.current = element?.input ?? null;
              }}
              size="large"
              autoFocus
              autoComplete="off"
              inputMode="text"
              value={code}
              onChange={(e) => {
                setCode(e.target.value);
                setTicket(null);
                setOutcome(null);
              }}
              style={{ fontSize: 24, fontFamily: "monospace" }}
            />
            <Button size="large" type="primary" htmlType="submit" loading={busy && !ticket}>
              {t("till.lookup")}
            </Button>
          </Space.Compact>
        </Form.Item>
        <Button onClick={() => setScanning((s) => !s)}>{scanning ? t("till.camera_stop") : t("till.camera")}</Button>
      </Form>
      {scanning && (
        <CameraScanner
          onCode={(scanned) => {
            setScanning(false);
            setCode(scanned);
            void lookup(scanned);
          }}
        />
      )}

      {outcome?.ok === true && (
        <Result
          status="success"
          title={<span data-testid="till-result">{t(DONE[outcome.action])}</span>}
          subTitle={`${t("ticket.no")} ${outcome.ticket.ticket_no} · ${statusName(outcome.ticket.status, language)}`}
          extra={
            <Button size="large" type="primary" onClick={reset}>
              {t("till.next")}
            </Button>
          }
        />
      )}
      {outcome?.ok === false && (
        <Result
          status="error"
          title={<span data-testid="till-result">{t("till.refused")}</span>}
          subTitle={
            <span
              data-testid="till-refusal"
              data-code={outcome.error instanceof ApiError ? outcome.error.problem.code : ""}
            >
              {outcome.error instanceof ApiError ? problemText(outcome.error.problem) : String(outcome.error)}
            </span>
          }
          extra={
            <Button size="large" onClick={reset}>
              {t("till.next")}
            </Button>
          }
        />
      )}

      {ticket && (
        <Card title={`${t("ticket.no")} ${ticket.ticket_no}`} data-testid="ticket-card">
          <Descriptions column={1} size="small" bordered>
            <Descriptions.Item label={t("ticket.status")}>
              <StatusTag tone={ticket.status === "unused" ? "good" : "neutral"} testId="ticket-status">
                {statusName(ticket.status, language)}
              </StatusTag>
            </Descriptions.Item>
            <Descriptions.Item label={t("ticket.product")}>{ticket.product_name}</Descriptions.Item>
            <Descriptions.Item label={t("ticket.face_value")}>NT$ {ticket.face_value}</Descriptions.Item>
            <Descriptions.Item label={t("ticket.term_ends")}>{ticket.term_ends_on}</Descriptions.Item>
            {"holder_name" in ticket && (
              <Descriptions.Item label={t("ticket.holder")}>{ticket.holder_name}</Descriptions.Item>
            )}
            {"issuer" in ticket && <Descriptions.Item label={t("ticket.issuer")}>{ticket.issuer}</Descriptions.Item>}
          </Descriptions>
          <Space wrap style={{ marginTop: 16 }}>
            {allowed.map((action) => (
              <Button
                key={action}
                size="large"
                type={action === "redeem" ? "primary" : "default"}
                danger={action !== "redeem"}
                loading={busy}
                onClick={() => (action === "redeem" ? void act("redeem", {}) : setAsking(action))}
              >
                {t(LABEL[action])}
              </Button>
            ))}
          </Space>
        </Card>
      )}
      {asking && (
        <Suspense fallback={null}>
          <ReasonDialog
            action={asking}
            faceValue={ticket && "face_value" in ticket ? Number(ticket.face_value) : undefined}
            busy={busy}
            onCancel={() => setAsking(null)}
            onConfirm={(extra) => asking && void act(asking, extra)}
          />
        </Suspense>
      )}
      {outcome?.ok === false && !(outcome.error instanceof ApiError) && <ProblemAlert error={outcome.error} />}
    </Space>
  );
}

/** The phone's camera, read frame by frame for a QR code (jsQR, loaded only when used). */
function CameraScanner({ onCode }: { onCode: (code: string) => void }) {
  const { t } = useI18n();
  const video = useRef<HTMLVideoElement | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    let stream: MediaStream | null = null;
    let frame = 0;
    let stopped = false;
    (async () => {
      try {
        const { default: jsQR } = await import("jsqr");
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
        const element = video.current;
        if (!element || stopped) return;
        element.srcObject = stream;
        await element.play();
        const canvas = document.createElement("canvas");
        const context = canvas.getContext("2d", { willReadFrequently: true });
        const scan = () => {
          if (stopped || !context) return;
          if (element.videoWidth > 0) {
            canvas.width = element.videoWidth;
            canvas.height = element.videoHeight;
            context.drawImage(element, 0, 0);
            const image = context.getImageData(0, 0, canvas.width, canvas.height);
            const found = jsQR(image.data, image.width, image.height);
            if (found?.data) {
              onCode(found.data);
              return;
            }
          }
          frame = requestAnimationFrame(scan);
        };
        scan();
      } catch (error) {
        setProblem(String(error));
      }
    })();
    return () => {
      stopped = true;
      cancelAnimationFrame(frame);
      stream?.getTracks().forEach((track) => track.stop());
    };
  }, [onCode]);
  return problem ? (
    <Typography.Text type="danger">
      {t("till.camera_denied")}
      {problem}
    </Typography.Text>
  ) : (
    <video ref={video} muted playsInline style={{ width: "100%", maxWidth: 480 }} aria-label={t("till.camera")} />
  );
}
