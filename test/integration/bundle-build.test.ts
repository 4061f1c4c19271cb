/**
 * The build itself, on a tiny fixture repository in a temp directory: function discovery, the refusal of a handler
 * module without `handler`, why the ESM banner is there (a bundled CommonJS dependency that `require`s a Node
 * built-in loads with it and crashes without it), the deployment zip's determinism, and the size table.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildFunctions,
  discoverFunctions,
  esbuildOptions,
  formatBuildTable,
  MAX_BUNDLE_BYTES,
  zipBuffer,
} from "../../infra/build";
import { hasReason } from "../../shared/errors";
import { invokeFresh, readZip } from "../support/bundle-runner";

let root: string;

function write(path: string, text: string): void {
  mkdirSync(join(root, path, ".."), { recursive: true });
  writeFileSync(join(root, path), text);
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "vmpool-build-"));
  // A CommonJS dependency that requires a Node built-in, as pino, ws and node-fetch do.
  write("node_modules/cjs-dep/package.json", JSON.stringify({ name: "cjs-dep", main: "index.js" }));
  write(
    "node_modules/cjs-dep/index.js",
    'const { Readable } = require("node:stream");\nmodule.exports = { kind: typeof Readable };\n',
  );
  write(
    "functions/echo/handler.ts",
    'import dep from "cjs-dep";\nexport const handler = async (event: unknown) => ({ event, dep: dep.kind });\n',
  );
  write("functions/second/handler.ts", "export const handler = async () => 2;\n");
  // client-node importing socks-proxy-agent, which the build defers to the first `new SocksProxyAgent()`.
  write(
    "node_modules/@kubernetes/client-node/package.json",
    JSON.stringify({ name: "@kubernetes/client-node", type: "module", main: "dist/index.js" }),
  );
  write(
    "node_modules/@kubernetes/client-node/dist/index.js",
    "import { SocksProxyAgent } from 'socks-proxy-agent';\nexport const agentFor = (url) => new SocksProxyAgent(url);\n",
  );
  write(
    "node_modules/socks-proxy-agent/package.json",
    JSON.stringify({ name: "socks-proxy-agent", main: "index.js" }),
  );
  write(
    "node_modules/socks-proxy-agent/index.js",
    "globalThis.socksLoads = (globalThis.socksLoads ?? 0) + 1;\n" +
      "class SocksProxyAgent { constructor(url) { this.url = url; this.real = true; } }\nexports.SocksProxyAgent = SocksProxyAgent;\n",
  );
  write(
    "functions/socks/handler.ts",
    [
      'import { agentFor } from "@kubernetes/client-node";',
      "const g = globalThis as { socksLoads?: number };",
      "const atImport = g.socksLoads ?? 0;",
      "export const handler = async () => {",
      '  const agent = agentFor("socks5://127.0.0.1:1080");',
      "  return { atImport, afterUse: g.socksLoads, url: agent.url, real: agent.real };",
      "};",
    ].join("\n"),
  );
  // not functions: no handler file, a name Lambda would refuse
  write("functions/helpers/util.ts", "export const x = 1;\n");
  write("functions/bad name/handler.ts", "export const handler = 1;\n");
  write("functions/app.ts", "export const notAFunction = true;\n");
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("discoverFunctions", () => {
  it("finds functions/<name>/handler.ts, sorted, and nothing else", () => {
    expect(discoverFunctions(root).map((fn) => fn.name)).toEqual(["echo", "second", "socks"]);
  });
});

describe("buildFunctions", () => {
  it("bundles each function to <outdir>/<name>/index.mjs that runs in a fresh node process", async () => {
    const built = await buildFunctions({ root, outdir: "out", only: ["echo", "second"] });
    expect(built.map((fn) => [fn.name, fn.bundle, fn.zip])).toEqual([
      ["echo", join(root, "out/echo/index.mjs"), join(root, "out/echo.zip")],
      ["second", join(root, "out/second/index.mjs"), join(root, "out/second.zip")],
    ]);
    const echo = built[0];
    if (echo === undefined) throw new Error("echo not built");
    expect(echo.withinBudget).toBe(echo.bundleBytes <= MAX_BUNDLE_BYTES);
    const run = await invokeFresh({
      module: echo.bundle,
      event: { ping: 1 },
      env: {},
      workdir: join(root, "run-echo"),
    });
    expect(run.result).toEqual({ event: { ping: 1 }, dep: "function" });
    expect(formatBuildTable(built, root).split("\n")).toEqual([
      expect.stringMatching(/^function\s+index\.mjs\s+zip\s+budget\s+package$/),
      expect.stringMatching(/^-+\s+-+/),
      expect.stringMatching(/^echo\s+[\d.]+ K?B\s+[\d.]+ K?B\s+ok\s+out\/echo\.zip$/),
      expect.stringMatching(/^second\s+[\d.]+ K?B\s+[\d.]+ K?B\s+ok\s+out\/second\.zip$/),
    ]);
  });

  it("without the createRequire banner the same bundle dies at import (why the banner exists)", async () => {
    const fn = { name: "echo", entry: join(root, "functions/echo/handler.ts") };
    const outdir = join(root, "no-banner");
    await build({ ...esbuildOptions(fn, { outdir, root }), banner: {} });
    await expect(
      invokeFresh({
        module: join(outdir, "index.mjs"),
        event: {},
        env: {},
        workdir: join(root, "run-no-banner"),
      }),
    ).rejects.toThrow(/Dynamic require of "node:stream" is not supported/);
  });

  it("loads client-node's socks-proxy-agent on first use, not at import", async () => {
    const [socks] = await buildFunctions({ root, outdir: "socks", only: ["socks"] });
    if (socks === undefined) throw new Error("socks not built");
    const run = await invokeFresh({
      module: socks.bundle,
      event: {},
      env: {},
      workdir: join(root, "run-socks"),
    });
    expect(run.result).toEqual({
      atImport: 0,
      afterUse: 1,
      url: "socks5://127.0.0.1:1080",
      real: true,
    });
  });

  it("builds only the functions asked for and refuses unknown names", async () => {
    expect((await buildFunctions({ root, outdir: "only", only: ["second"] })).map((fn) => fn.name)).toEqual([
      "second",
    ]);
    const err = await buildFunctions({ root, outdir: "only", only: ["nope"] }).catch((e: unknown) => e);
    expect(hasReason(err, "UnknownFunction")).toBe(true);
  });

  it("refuses a handler module that does not export handler", async () => {
    write("functions/broken/handler.ts", "export const handle = async () => 1;\n");
    try {
      const err = await buildFunctions({ root, outdir: "broken", only: ["broken"] }).catch((e: unknown) => e);
      expect(hasReason(err, "MissingHandler")).toBe(true);
      expect((err as Error).message).toBe(
        'functions/broken/handler.ts does not export "handler" (exports: handle)',
      );
    } finally {
      rmSync(join(root, "functions/broken"), { recursive: true, force: true });
    }
  });
});

describe("deployment zips", () => {
  const entries = [
    { name: "index.mjs", data: Buffer.from("export const handler = async () => 1;\n") },
    { name: "index.mjs.map", data: Buffer.from('{"version":3}') },
  ];

  it("hold the files sorted, as regular 0644 files dated 1980-01-02 00:00 without extra fields", async () => {
    const records = readZip(await zipBuffer([...entries].reverse()));
    expect(records.map((r) => [r.name, r.mode, r.dosDate, r.dosTime, r.extraLength])).toEqual([
      // DOS date: (year-1980)<<9 | month<<5 | day = 34; time 0
      ["index.mjs", 0o100644, 34, 0, 0],
      ["index.mjs.map", 0o100644, 34, 0, 0],
    ]);
    expect(records.map((r) => r.data.toString())).toEqual(entries.map((e) => e.data.toString()));
  });

  it("are byte-identical whatever the entry order and the machine's time zone", async () => {
    const saved = process.env.TZ;
    try {
      process.env.TZ = "Pacific/Kiritimati";
      const east = await zipBuffer(entries);
      process.env.TZ = "America/Los_Angeles";
      const west = await zipBuffer([...entries].reverse());
      expect(east.equals(west)).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it("of a real build equal a fresh zip of the bundle", async () => {
    const [echo] = await buildFunctions({ root, outdir: "again", only: ["echo"] });
    if (echo === undefined) throw new Error("echo not built");
    const fresh = await zipBuffer([{ name: "index.mjs", data: readFileSync(echo.bundle) }]);
    expect(readFileSync(echo.zip).equals(fresh)).toBe(true);
  });
});
