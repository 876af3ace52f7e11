import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The bundle is embedded in the console binary (build.rs); `serve` and the Tauri window load it.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", sourcemap: false },
  server: { port: 5173, strictPort: true },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
