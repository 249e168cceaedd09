// What the till can do with a ticket, and the words for it.
import type { MessageKey } from "../i18n";

export type Action = "redeem" | "cancel_redemption" | "return" | "cancel_return";

export const DONE: Record<Action, MessageKey> = {
  redeem: "till.redeemed",
  cancel_redemption: "till.redeem_cancelled",
  return: "till.returned",
  cancel_return: "till.return_cancelled",
};

export const LABEL: Record<Action, MessageKey> = {
  redeem: "till.redeem",
  cancel_redemption: "till.cancel_redeem",
  return: "till.return",
  cancel_return: "till.cancel_return",
};
