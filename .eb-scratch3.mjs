import * as esbuild from "esbuild";
const kp = process.argv[2] === "k";
const plugins = [{ name: "kpure", setup(b) {
  b.onResolve({ filter: /.*/ }, async (a) => { if (!kp || a.pluginData?.k || !a.importer.includes("/node_modules/@kubernetes/client-node/") && !a.path.startsWith("@kubernetes/client-node")) return undefined;
    const r = await b.resolve(a.path, { kind: a.kind, importer: a.importer, resolveDir: a.resolveDir, pluginData: { k: true } });
    if (r.errors.length || r.external || !r.path.includes("/node_modules/@kubernetes/client-node/dist/") || r.path.endsWith("/dist/index.js")) return undefined; return { ...r, sideEffects: false }; });
}}];
const r = await esbuild.build({ entryPoints: [`functions/reconcile/handler.ts`], bundle: true, platform: "node", target: "node20", format: "esm", minify: true, outfile: `/tmp/x.mjs`, metafile: true, logLevel: "warning", write:false, plugins, mainFields: ["module","main"]});
const out = Object.values(r.metafile.outputs)[0];
for (const [p,i] of Object.entries(out.inputs)) if (i.bytesInOutput>0 && p.includes("node_modules")) console.log(p.replace(/.*node_modules\//,""));
