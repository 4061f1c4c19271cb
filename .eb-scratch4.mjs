import * as esbuild from "esbuild";
const t=performance.now();
await esbuild.build({ entryPoints: [`functions/reconcile/handler.ts`], bundle: true, platform: "node", target: "node20", format: "esm", minify: true, outfile: `/tmp/x.mjs`, write:false, mainFields: ["module","main"]});
console.log(performance.now()-t);
