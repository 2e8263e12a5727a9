import { defineConfig } from "vite";

// The console is served at / (by runner-server --console-dir, or any static server) and routes
// with the URL fragment (#/runners), so every page loads the same index.html. The API reference
// is a second page, docs/index.html, served at /docs/.
export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      // Paths from web/, where the build runs.
      input: { index: "index.html", docs: "docs/index.html" },
    },
    // Swagger UI is one large module; it loads on /docs only.
    chunkSizeWarningLimit: 2048,
  },
});
