import { planPool, seededRandom } from "./shared/planning";
import * as f from "./test/support/kubevirt-fixtures";
const w = JSON.parse(JSON.stringify(f.convergedPool(10000)));
const times: number[] = [];
for (let i = 0; i < 200; i++) { const t = performance.now(); planPool({ ...w, now: f.NOW, random: seededRandom(1) }); times.push(performance.now() - t); }
times.sort((a, b) => a - b);
console.log("plan min", times[0]!.toFixed(2), "p25", times[50]!.toFixed(2), "median", times[100]!.toFixed(2));
