import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Generous: the slowest test takes ~13 s alone and CI cores are shared; a real hang still fails.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // tfjs backends are process-global; one worker per file keeps them apart.
    pool: "forks",
    reporters: ["default", "./test/summary-reporter.ts"],
  },
});
