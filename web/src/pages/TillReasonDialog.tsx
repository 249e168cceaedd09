// The till's reason (and return fee) dialog: loaded only when a cancel or a return asks.
import { Form, Input, InputNumber, Modal } from "antd";
import { useEffect } from "react";
import { useI18n } from "../i18n";
import { LABEL, type Action } from "./tillActions";

export default function ReasonDialog(props: {
  action: Action | null;
  faceValue?: number;
  busy: boolean;
  onCancel: () => void;
  onConfirm: (extra: { reason: string; fee?: string }) => void;
}) {
  const { t } = useI18n();
  const [form] = Form.useForm<{ reason: string; fee?: number }>();
  useEffect(() => {
    if (props.action) form.resetFields();
  }, [props.action, form]);
  if (!props.action) return null;
  return (
    <Modal
      open
      title={t(LABEL[props.action])}
      okText={t("common.confirm")}
      cancelText={t("common.cancel")}
      confirmLoading={props.busy}
      onCancel={props.onCancel}
      onOk={() =>
        form
          .validateFields()
          .then((values) =>
            props.onConfirm({ reason: values.reason, fee: values.fee != null ? String(values.fee) : undefined }),
          )
      }
    >
      <Form form={form} layout="vertical">
        <Form.Item name="reason" label={t("common.reason")} rules={[{ required: true, max: 100 }]}>
          <Input.TextArea maxLength={100} showCount autoFocus />
        </Form.Item>
        {props.action === "return" && (
          <Form.Item name="fee" label={t("till.fee")}>
            <InputNumber min={0} max={props.faceValue} precision={0} style={{ width: "100%" }} />
          </Form.Item>
        )}
      </Form>
    </Modal>
  );
}
