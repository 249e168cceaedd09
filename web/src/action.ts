// One state change from a screen: busy while it runs, the API's refusal kept to show, a
// toast when it is done, and the screen's queries refreshed.
import { useQueryClient } from "@tanstack/react-query";
import { message } from "antd";
import { useState } from "react";

export function useAction() {
  const queryClient = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [toast, holder] = message.useMessage();
  const run = async <T>(work: () => Promise<T>, done?: string): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      const result = await work();
      // Fresh data first, then "saved": a screen opened right after the message (its
      // form seeded once from the cache) shows what was saved, not what was there before.
      await queryClient.invalidateQueries();
      if (done) void toast.success(done);
      return result;
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, setError, holder };
}
