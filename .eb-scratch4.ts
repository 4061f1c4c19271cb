import { build } from "esbuild";
import { esbuildOptions } from "./infra/build/bundle";
import { zodEnglishOnly, nodeFetchNativeUrl, clientNodeSideEffectFree } from "./infra/build/plugins";
const fn = { name: "reconcile", entry: "/work/main/functions/reconcile/handler.ts" };
for (const [n, plugins] of [["zod",[zodEnglishOnly()]], ["fetch",[nodeFetchNativeUrl()]], ["kn",[clientNodeSideEffectFree()]], ["none", []]] as const) {
  const o = esbuildOptions(fn, { outdir: "/tmp/vmx", root: "/work/main" });
  const t = performance.now();
  const r = await build({ ...o, write: false, plugins: [...plugins] });
  console.log(n, performance.now() - t, r.outputFiles?.[0]?.contents.length);
}
