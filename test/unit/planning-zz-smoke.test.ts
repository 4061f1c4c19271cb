import { it } from "vitest";
import { planPool, planReplicaSet, seededRandom } from "../../shared/planning";
import * as f from "../../test/support/kubevirt-fixtures";
it("smoke", () => {
  const w = f.convergedPool(3);
  const p = planPool({ ...w, now: f.NOW, random: seededRandom(1) });
  console.log(JSON.stringify(p, null, 1).slice(0, 3000));
  const p2 = planPool({ pool: f.pool(), vms: [], vmis: [], revisions: [], now: f.NOW, random: seededRandom(1) });
  console.log(JSON.stringify(p2.actions.slice(0,2), null, 1), p2.notes, p2.status);
  const r = planReplicaSet({ replicaSet: f.replicaSet(), vmis: [], now: f.NOW });
  console.log(JSON.stringify(r, null, 1).slice(0, 3000));
});
