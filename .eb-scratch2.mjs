import * as esbuild from "esbuild";
const [name, variant] = process.argv.slice(2);
const plugins = [];
if (variant.includes("z")) plugins.push({ name: "zod-en", setup(b) {
  b.onResolve({ filter: /locales\/index\.js$/ }, (a) => a.importer.includes("/node_modules/zod/") ? { path: "zod-locales-en", namespace: "vmpool" } : undefined);
  b.onLoad({ filter: /.*/, namespace: "vmpool" }, (a) => ({ contents: `export { default as en } from ${JSON.stringify(process.cwd()+"/node_modules/zod/v4/locales/en.js")};`, loader: "js", resolveDir: process.cwd() }));
}});
if (variant.includes("w")) plugins.push({ name: "whatwg", setup(b) {
  b.onResolve({ filter: /^whatwg-url$/ }, (a) => { console.error("whatwg from", a.importer); return a.importer.includes("/node_modules/node-fetch/") ? { path: "whatwg-url", namespace: "stub" } : undefined});
  b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({ contents: `module.exports = { URL: globalThis.URL };`, loader: "js" }));
}});
const r = await esbuild.build({ entryPoints: [`functions/${name}/handler.ts`], bundle: true, platform: "node", target: "node20", format: "esm", minify: true, outfile: `/tmp/x.mjs`, metafile: true, logLevel: "warning", write:false, plugins,
 mainFields: variant.includes("m") ? ["module","main"] : undefined});
const out = Object.values(r.metafile.outputs)[0];
const byPkg = {};
for (const [p, i] of Object.entries(out.inputs)) { const m = p.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/); const k = m ? m[1] : p.split("/").slice(0,2).join("/"); byPkg[k] = (byPkg[k]||0)+i.bytesInOutput; }
console.log(JSON.stringify(byPkg));
