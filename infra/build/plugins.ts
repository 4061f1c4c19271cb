/**
 * esbuild plugins that keep the Lambda bundles small without changing what runs. Each one removes code that is
 * unreachable on Node 20 or never used by our functions, and each is scoped to the one package it concerns:
 * - zod's classic API re-exports every locale (≈ 260 KB minified) through `z.locales`; we never switch locale, and
 *   zod registers English by importing `en.js` directly, so the locale index is narrowed to English;
 * - node-fetch 2 (client-node's fetch) prefers Node's built-in `URL` and only falls back to the `whatwg-url`
 *   package (with tr46's ≈ 260 KB IDNA table) when it is missing, which never happens on Node 20;
 * - `@kubernetes/client-node` declares no `sideEffects`, so esbuild keeps every module its index reaches (the
 *   generated API clients, websockets, tar) although we import a handful of classes; its modules only declare
 *   things, so they are marked side-effect free and the unused ones drop out;
 * - client-node's `new SocksProxyAgent(...)` (only for `socks5://` cluster proxy URLs) costs ≈ 20 ms of every
 *   cold start to load `socks` and `ip-address`; it is loaded on first construction instead.
 */
import { existsSync } from "node:fs";
import { dirname, extname, join, resolve, sep } from "node:path";
import type { Plugin } from "esbuild";

const NODE_MODULES = `${sep}node_modules${sep}`;

function inPackage(path: string, pkg: string): boolean {
  return path.includes(`${NODE_MODULES}${pkg.split("/").join(sep)}${sep}`);
}

/** Narrows zod's `locales/index` to English (the default locale zod loads itself). */
export function zodEnglishOnly(): Plugin {
  return {
    name: "vmpool:zod-english-only",
    setup(build) {
      build.onResolve({ filter: /\/locales\/index\.c?js$/ }, (args) => {
        if (!inPackage(args.importer, "zod")) return undefined;
        const index = resolve(args.resolveDir, args.path);
        const en = join(dirname(index), `en${extname(index)}`);
        if (!existsSync(en)) return undefined;
        return { path: en, namespace: "vmpool-zod-locales" };
      });
      build.onLoad({ filter: /.*/, namespace: "vmpool-zod-locales" }, (args) => ({
        contents: `export { default as en } from ${JSON.stringify(args.path)};`,
        loader: "js",
        resolveDir: dirname(args.path),
      }));
    },
  };
}

/** Replaces `whatwg-url`, as imported by node-fetch only, with Node's own `URL`. */
export function nodeFetchNativeUrl(): Plugin {
  return {
    name: "vmpool:node-fetch-native-url",
    setup(build) {
      build.onResolve({ filter: /^whatwg-url$/ }, (args) =>
        inPackage(args.importer, "node-fetch")
          ? { path: "whatwg-url", namespace: "vmpool-native-url" }
          : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: "vmpool-native-url" }, () => ({
        contents: "module.exports = { URL: globalThis.URL, URLSearchParams: globalThis.URLSearchParams };",
        loader: "js",
      }));
    },
  };
}

/** Lets esbuild drop the modules of `@kubernetes/client-node` whose exports nothing uses. */
export function clientNodeSideEffectFree(): Plugin {
  const pkg = "@kubernetes/client-node";
  return {
    name: "vmpool:client-node-side-effect-free",
    setup(build) {
      // The package entry: resolved by esbuild as usual, then flagged.
      build.onResolve({ filter: /^@kubernetes\/client-node$/ }, async (args) => {
        if (args.pluginData === pkg) return undefined;
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: pkg,
        });
        if (resolved.errors.length > 0 || resolved.external) return undefined;
        return { path: resolved.path, sideEffects: false };
      });
      // Its modules import each other as `./name.js` (compiled TypeScript), so the path is the file; resolving it
      // here rather than through `build.resolve` keeps the build fast (thousands of generated model files).
      build.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
        if (!inPackage(args.importer, pkg)) return undefined;
        const path = resolve(args.resolveDir, args.path);
        return existsSync(path) ? { path, sideEffects: false } : undefined;
      });
    },
  };
}

/**
 * Defers `socks-proxy-agent`, as imported by client-node, to the first `new SocksProxyAgent(...)`. The stub is
 * CommonJS so its `require` stays where it is written: esbuild then evaluates the real module on that call only.
 */
export function lazySocksProxyAgent(): Plugin {
  const namespace = "vmpool-lazy-socks";
  return {
    name: "vmpool:lazy-socks-proxy-agent",
    setup(build) {
      build.onResolve({ filter: /^socks-proxy-agent$/ }, (args) => {
        if (args.namespace === namespace || !inPackage(args.importer, "@kubernetes/client-node"))
          return undefined;
        return { path: "socks-proxy-agent", namespace, pluginData: dirname(args.importer) };
      });
      build.onLoad({ filter: /.*/, namespace }, (args) => ({
        contents: [
          "let real;",
          "class SocksProxyAgent {",
          "  constructor(...args) {",
          '    real ??= require("socks-proxy-agent");',
          "    return new real.SocksProxyAgent(...args);",
          "  }",
          "}",
          "module.exports = { SocksProxyAgent };",
        ].join("\n"),
        loader: "js",
        resolveDir: args.pluginData as string,
      }));
    },
  };
}

/** Every size and start-up plugin, in the order they apply. */
export function sizePlugins(): Plugin[] {
  return [zodEnglishOnly(), nodeFetchNativeUrl(), clientNodeSideEffectFree(), lazySocksProxyAgent()];
}
