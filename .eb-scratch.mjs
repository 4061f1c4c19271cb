import * as esbuild from "esbuild";
import { createRequire } from "node:module";
const variant = process.argv[2];
const plugins = [];
if (variant.includes("z")) plugins.push({ name: "zod-en", setup(b) {
  b.onResolve({ filter: /locales\/index\.js$/ }, (a) => a.importer.includes("/node_modules/zod/") ? { path: "zod-locales-en", namespace: "vmpool" } : undefined);
  b.onLoad({ filter: /.*/, namespace: "vmpool" }, (a) => ({ contents: `export { default as en } from ${JSON.stringify(process.cwd()+"/node_modules/zod/v4/locales/en.js")};`, loader: "js", resolveDir: process.cwd() }));
}});
if (variant.includes("w")) plugins.push({ name: "whatwg", setup(b) {
  b.onResolve({ filter: /^whatwg-url$/ }, (a) => a.importer.includes("/node_modules/node-fetch/") ? { path: "whatwg-url", namespace: "stub" } : undefined);
  b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: `module.exports = { URL: globalThis.URL };`, loader: "js" }));
}});
if (variant.includes("k")) plugins.push({ name: "kpure", setup(b) {
  b.onResolve({ filter: /.*/ }, async (a) => { if (a.pluginData?.k || !a.importer.includes("/node_modules/@kubernetes/client-node/") && !a.path.startsWith("@kubernetes/client-node")) return undefined;
    const r = await b.resolve(a.path, { kind: a.kind, importer: a.importer, resolveDir: a.resolveDir, pluginData: { k: true } });
    if (r.errors.length || r.external || !r.path.includes("/node_modules/@kubernetes/client-node/dist/") || r.path.endsWith("/dist/index.js")) return undefined; return { ...r, sideEffects: false }; });
}});
for (const name of ["reconcile","autoscale","chatops"]) {
const r = await esbuild.build({ entryPoints: [`functions/${name}/handler.ts`], bundle: true, platform: "node", target: "node20", format: "esm", minify: true, outfile: `/tmp/ebout/${name}/index.mjs`, metafile: true, logLevel: "warning",
 mainFields: variant.includes("m") ? ["module","main"] : undefined, plugins,
 banner: { js: 'import{createRequire as __vmpoolCreateRequire}from"node:module";const require=__vmpoolCreateRequire(import.meta.url);' } });
const out = Object.values(r.metafile.outputs)[0];
console.log(variant, name, out.bytes);
}
