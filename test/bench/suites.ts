/**
 * The registry of benchmark suites, in the order `npm run bench` runs them. Adding a suite: write
 * `test/bench/<name>.ts` exporting `defineSuite("<name>", async (ctx) => rows)`, then list it here.
 */
import { autoscale } from "./autoscale";
import { autoscalePull } from "./autoscale-pull";
import { bundle } from "./bundle";
import { chaos } from "./chaos";
import { chatops } from "./chatops";
import { controlPlanes } from "./control-planes";
import type { Suite } from "./harness";
import { history } from "./history";
import { localCluster } from "./local-cluster";
import { reaction } from "./reaction";
import { reconcile } from "./reconcile";

export const SUITES: readonly Suite[] = [
  localCluster,
  reconcile,
  autoscale,
  autoscalePull,
  chatops,
  history,
  bundle,
  controlPlanes,
  chaos,
  reaction,
];
