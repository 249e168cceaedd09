// 票券頁面設定 (§3-6): what the consumer's ticket page shows beside the ticket: customer
// service, the return-rights statement (goods vouchers), the logo and the banner.
import { useQuery } from "@tanstack/react-query";
import { Button, Descriptions, Form, Image, Input, Select, Space, Upload } from "antd";
import { useState } from "react";
import { call, idempotencyKey, type Schemas } from "../api/client";
import { useAction } from "../action";
import { ProblemAlert } from "../components/ProblemAlert";
import { useI18n } from "../i18n";
import { useSession } from "../session";

export default function TicketPageSettings() {
  const { t, language } = useI18n();
  const { api, may } = useSession();
  const zh = language !== "en";
  const page = useQuery({ queryKey: ["ticket-page"], queryFn: () => call(api.GET("/merchant/ticket-page")) });
  const action = useAction();
  const [key] = useState(idempotencyKey);
  const canModify = may("operation_settings", "modify");
  const upload = (image: "logo" | "banner", file: File) =>
    action.run(async () => {
      const ticket = await call(
        api.POST("/merchant/ticket-page/uploads", {
          body: { image, content_type: file.type, size: file.size },
          params: { header: { "Idempotency-Key": idempotencyKey() } },
        }),
      );
      const put = await fetch(ticket.upload_url, {
        method: "PUT",
        body: file,
        headers: { "Content-Type": ticket.content_type },
      });
      if (!put.ok) throw new Error(`upload: HTTP ${put.status}`);
      await call(
        api.PUT("/merchant/ticket-page/images/{image}", {
          body: { key: ticket.key },
          params: { path: { image }, header: { "Idempotency-Key": idempotencyKey() } },
        }),
      );
    }, t("common.saved"));
  const p = page.data;
  if (!p) return <ProblemAlert error={page.error} />;
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      {action.holder}
      <ProblemAlert error={action.error} />
      <Descriptions bordered size="small" column={1} title={zh ? "發行者資訊（唯讀）" : "Issuer (read-only)"}>
        <Descriptions.Item label={zh ? "公司" : "Company"}>{p.issuer.company}</Descriptions.Item>
        <Descriptions.Item label={zh ? "負責人" : "Representative"}>{p.issuer.representative}</Descriptions.Item>
        <Descriptions.Item label={zh ? "統一編號" : "Tax ID"}>{p.issuer.tax_id}</Descriptions.Item>
        <Descriptions.Item label={zh ? "地址" : "Address"}>{p.issuer.address}</Descriptions.Item>
      </Descriptions>
      <Form
        layout="vertical"
        disabled={!canModify}
        initialValues={p}
        onFinish={(body: Schemas["TicketPageInput"]) =>
          action.run(
            () => call(api.PUT("/merchant/ticket-page", { body, params: { header: { "Idempotency-Key": key } } })),
            t("common.saved"),
          )
        }
      >
        <Form.Item name={["customer_service", "phone"]} label={zh ? "客服電話" : "Customer service phone"}>
          <Input />
        </Form.Item>
        <Form.Item name={["customer_service", "email"]} label={zh ? "客服信箱" : "Customer service email"}>
          <Input />
        </Form.Item>
        <Form.Item name={["customer_service", "links"]} label={zh ? "客服連結" : "Customer service links"}>
          <Select mode="tags" aria-label={zh ? "客服連結" : "Customer service links"} />
        </Form.Item>
        <Form.Item
          name="return_rights_statement"
          label={zh ? "退貨權利說明（商品券）" : "Return rights (goods vouchers)"}
        >
          <Input.TextArea rows={4} />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={action.busy}>
          {t("common.save")}
        </Button>
      </Form>
      {(["logo", "banner"] as const).map((image) => {
        const url = image === "logo" ? p.logo_url : p.banner_url;
        return (
          <Space key={image} align="center" wrap>
            <strong>{image === "logo" ? "Logo" : zh ? "橫幅" : "Banner"}</strong>
            {url && <Image src={url} height={48} alt={image} />}
            {canModify && (
              <Upload
                accept="image/png,image/jpeg"
                showUploadList={false}
                beforeUpload={(file) => {
                  void upload(image, file);
                  return false;
                }}
              >
                <Button>{zh ? "上傳（PNG / JPEG）" : "Upload (PNG / JPEG)"}</Button>
              </Upload>
            )}
          </Space>
        );
      })}
    </Space>
  );
}
