import { defineConfig } from "vite";

// The app is a static bundle: veil-stack serves dist/ with its /config.json (where the
// relayer, the indexer, the member's prover and the chain are). One copy of web3.js for the
// app and the TypeScript client, so their PublicKeys are the same class.
export default defineConfig({
  resolve: { dedupe: ["@solana/web3.js", "buffer", "bn.js"] },
  define: { global: "globalThis" },
  build: { outDir: "dist", sourcemap: true, chunkSizeWarningLimit: 2048 },
});
