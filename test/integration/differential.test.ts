/**
 * Differential fidelity: the same requests to the embedded API server (`infra/local`) and to a real
 * kube-apiserver 1.34 (`infra/real`), both without a simulator so their state is the same, and the normalised
 * answers compared (uids, times, resourceVersions, generated names, continue tokens, addresses and ages
 * masked; see test/support/differential.ts). Raw HTTP, real kubectl 1.27 and 1.33 running the seed
 * walkthrough and more, and client-node (the cases: test/support/differential-cases.ts). A divergence fails
 * the suite unless `differential-allowlist.yaml` lists its id with a reason; an allowlisted id that no longer
 * diverges fails too, so the list stays honest. Skipped, saying why, where the real control plane is not built.
 */
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalCluster, startLocalCluster } from "../../infra/local";
import { type RealCluster, startRealCluster } from "../../infra/real";
import {
  type AllowlistEntry,
  canonicalJson,
  lineDiff,
  normalise,
  readAllowlist,
  realSkipReason,
  type Target,
  type TargetKind,
} from "../support/differential";
import {
  type Case,
  clientCases,
  HTTP_GROUPS,
  http,
  KUBECTL_VERSIONS,
  kubectlCase,
  kubectlCases,
  makeClients,
  type TargetContext,
} from "../support/differential-cases";
import { kubectl, kubectlBinary } from "../support/kubectl";

const ALLOWLIST_FILE = join(import.meta.dirname, "differential-allowlist.yaml");
const MAX_ALLOWLIST = 10;
/** Set to a file path to get every compared pair of normalised answers there (one JSON line each). */
const DUMP = process.env.VMPOOL_DIFFERENTIAL_DUMP;

// ---------------------------------------------------------------------------------------------------------
// The suite.

interface Outcome {
  readonly id: string;
  readonly diverged: boolean;
}

/** Both targets' normalised answers to one case, as compared. */
interface Comparison {
  readonly real: string;
  readonly embedded: string;
}

const skipReason = realSkipReason();
const outcomes: Outcome[] = [];
/** Every case id the suite declares, also those skipped (an allowlist id must name one of them). */
const declaredIds: string[] = [];
let allowlist: AllowlistEntry[] = [];

async function answerOf(c: Case, ctx: TargetContext): Promise<unknown> {
  const deadline = Date.now() + (c.untilMs ?? 20_000);
  for (;;) {
    const answer = await c.run(ctx);
    if (!c.until || c.until(answer) || Date.now() > deadline) return answer;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Runs a case against both targets at once and normalises both answers. */
async function compare(c: Case, ctx: Record<TargetKind, TargetContext>): Promise<Comparison> {
  if (c.delayMs) await new Promise((r) => setTimeout(r, c.delayMs));
  const [realAnswer, embeddedAnswer] = await Promise.all([answerOf(c, ctx.real), answerOf(c, ctx.embedded)]);
  const project = c.project ?? ((a: unknown) => a);
  const options = { managedFields: c.managedFields === true };
  return {
    real: canonicalJson(project(normalise(realAnswer, options))),
    embedded: canonicalJson(project(normalise(embeddedAnswer, options))),
  };
}

/**
 * Cases that build on each other (a namespace, then objects in it, …), run in order. The raw HTTP, kubectl
 * 1.27, kubectl 1.33 and client-node sequences work in namespaces of their own, so they run side by side
 * (a minute of kubectl runs instead of two); each `it` waits for its case's comparison.
 */
class Sequence {
  private readonly results = new Map<string, Promise<Comparison>>();

  constructor(
    readonly cases: readonly Case[],
    private readonly context: (target: Target) => TargetContext,
  ) {}

  start(targets: ReadonlyMap<TargetKind, Target>): void {
    const real = targets.get("real");
    const embedded = targets.get("embedded");
    if (!real || !embedded) throw new Error("the clusters did not start");
    const ctx = { real: this.context(real), embedded: this.context(embedded) };
    let previous: Promise<unknown> = Promise.resolve();
    for (const c of this.cases) {
      const result = previous.then(() => compare(c, ctx));
      // A failure is reported by the case's own `it`; the sequence goes on.
      result.catch(() => undefined);
      this.results.set(c.id, result);
      previous = result.catch(() => undefined);
    }
  }

  result(id: string): Promise<Comparison> {
    const result = this.results.get(id);
    if (!result) throw new Error(`${id} was not started (did the clusters start?)`);
    return result;
  }
}

describe.skipIf(skipReason !== undefined)(
  `differential fidelity: embedded API server vs kube-apiserver${skipReason ? ` (skipped: ${skipReason})` : ""}`,
  () => {
    let dir = "";
    let real: RealCluster | undefined;
    let local: LocalCluster | undefined;
    const sequences: Sequence[] = [];

    beforeAll(async () => {
      allowlist = readAllowlist(ALLOWLIST_FILE);
      dir = mkdtempSync(join(tmpdir(), "vmpool-differential-"));
      [real, local] = await Promise.all([
        startRealCluster({ apiPort: 0, dataDir: join(dir, "real"), unsafeNoFsync: true }),
        startLocalCluster({ port: 0, simulator: false }),
      ]);
      const targets = new Map<TargetKind, Target>([
        [
          "real",
          {
            kind: "real",
            url: real.url,
            ca: real.controlPlane.admin.ca ?? "",
            token: real.controlPlane.admin.token ?? "",
            kubeconfig: real.kubeconfig,
          },
        ],
        [
          "embedded",
          {
            kind: "embedded",
            url: local.url,
            kubeconfig: local.writeKubeconfig(join(dir, "embedded.kubeconfig")),
          },
        ],
      ]);
      for (const sequence of sequences) sequence.start(targets);
    }, 180_000);

    afterAll(async () => {
      // Let every started case finish before the servers go away.
      await Promise.allSettled(
        sequences.flatMap((s) => s.cases.map((c) => s.result(c.id).catch(() => undefined))),
      );
      await Promise.all([real?.close(), local?.close()]);
      if (dir) rmSync(dir, { recursive: true, force: true });
      const diverged = outcomes.filter((o) => o.diverged);
      process.stdout.write(
        `differential fidelity: ${outcomes.length} requests compared, ${diverged.length} diverge` +
          `${diverged.length ? `: ${diverged.map((o) => o.id).join(", ")}` : ""}\n`,
      );
    }, 180_000);

    /** One `it` per case (of `cases`, all of the sequence's by default): its comparison against the allowlist. */
    function declare(sequence: Sequence, cases: readonly Case[] = sequence.cases): void {
      if (!sequences.includes(sequence)) sequences.push(sequence);
      for (const c of cases) {
        declaredIds.push(c.id);
        it(c.id, async () => {
          const { real, embedded } = await sequence.result(c.id);
          const diverged = real !== embedded;
          outcomes.push({ id: c.id, diverged });
          if (DUMP) appendFileSync(DUMP, `${JSON.stringify({ id: c.id, diverged, real, embedded })}\n`);
          const entry = allowlist.find((e) => e.matches(c.id));
          if (diverged && !entry)
            expect.fail(
              `${c.id} diverges (not in the allowlist):\n${lineDiff(real, embedded, "kube-apiserver", "embedded")}`,
            );
          if (!diverged && entry)
            expect.fail(`${c.id} no longer diverges: remove it from the allowlist entry "${entry.reason}"`);
        }, 180_000);
      }
    }

    const raw = HTTP_GROUPS.map(([title, cases]) => [title, cases.map(http)] as const);
    const rawSequence = new Sequence(
      raw.flatMap(([, cases]) => cases),
      (target) => ({ target, vars: new Map() }),
    );
    for (const [title, cases] of raw) describe(`raw HTTP: ${title}`, () => declare(rawSequence, cases));

    for (const version of KUBECTL_VERSIONS) {
      const binary = kubectlBinary(version);
      const ns = `diff-k${version.replace(".", "")}`;
      describe.skipIf(!binary)(
        `kubectl ${version}${binary ? "" : ` (skipped: kubectl.${version} not installed)`}`,
        () => {
          const cases = kubectlCases(ns)
            .map((c) => kubectlCase(version, ns, c))
            .filter((c): c is Case => c !== undefined);
          if (!binary) {
            declaredIds.push(...cases.map((c) => c.id));
            return;
          }
          declare(
            new Sequence(cases, (target) => ({
              target,
              vars: new Map(),
              kubectl: kubectl(binary, target.kubeconfig),
            })),
          );
        },
      );
    }

    describe("client-node", () => {
      declare(
        new Sequence(clientCases(), (target) => ({
          target,
          vars: new Map(),
          client: makeClients(target.kubeconfig),
        })),
      );
    });

    it("keeps the allowlist short and every entry in use", () => {
      expect(allowlist.length, "at most 10 allowlisted divergences").toBeLessThanOrEqual(MAX_ALLOWLIST);
      for (const entry of allowlist)
        expect(
          entry.unused(declaredIds),
          `allowlist ids that match no request (entry "${entry.reason}")`,
        ).toEqual([]);
    });
  },
);
