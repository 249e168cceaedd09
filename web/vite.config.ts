import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
  plugins: [react()],
  // The first screen's size is measured by the benchmark (console_first_screen_js_kb), not warned about here.
  build: { target: "es2022", sourcemap: false, chunkSizeWarningLimit: 1500 },
  server: { port: 5173, strictPort: true },
});
