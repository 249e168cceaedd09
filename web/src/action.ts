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
      if (done) void toast.success(done);
      await queryClient.invalidateQueries();
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
