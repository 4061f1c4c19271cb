import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // The AWS SDK warns once per process that its 2027 releases need Node 22 (@aws-sdk/core
    // emitWarningIfUnsupportedVersion); this is its documented off switch. Child processes inherit it.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    reporters: process.env.CI ? ["default"] : ["default"],
  },
});
