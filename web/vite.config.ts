import { defineConfig } from "vite";

// The console is served at / (by runner-server --console-dir, or any static server) and routes
// with the URL fragment (#/runners), so every page loads the same index.html.
export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
});
