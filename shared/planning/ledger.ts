/**
 * The per-plan write budget (KubeVirt's burst of 250) and the collector of actions and notes. Steps ask whether a
 * group of writes fits before adding it, so related writes (delete, volume hand-off, finalizer removal) are planned
 * together or not at all, and the plan never exceeds the burst.
 */
import type { Action, Note } from "./types";

export interface Ledger<A extends Action> {
  /** Writes still allowed in this pass. */
  remaining(): number;
  /** True when `count` more writes fit in the budget. */
  fits(count: number): boolean;
  /** Adds a group of actions; the caller checked `fits` first. */
  add(...actions: A[]): void;
  note(reason: string, message: string): void;
  /** Records that the burst stopped some work, once per pass. */
  noteBurst(message: string): void;
  burstLimited(): boolean;
  /** Asks for the pass to run again after `seconds`; the shortest request wins. */
  requeue(seconds: number): void;
  requeueAfter(): number | undefined;
  actions(): readonly A[];
  notes(): readonly Note[];
}

/** A ledger allowing at most `burst` writes. */
export function createLedger<A extends Action>(burst: number): Ledger<A> {
  const actions: A[] = [];
  const notes: Note[] = [];
  let limited = false;
  let requeueAfter: number | undefined;
  return {
    remaining: () => burst - actions.length,
    fits: (count) => actions.length + count <= burst,
    add: (...added) => {
      actions.push(...added);
    },
    note: (reason, message) => {
      notes.push({ reason, message });
    },
    noteBurst: (message) => {
      if (!limited) notes.push({ reason: "BurstLimitReached", message });
      limited = true;
    },
    burstLimited: () => limited,
    requeue: (seconds) => {
      requeueAfter = requeueAfter === undefined ? seconds : Math.min(requeueAfter, seconds);
    },
    requeueAfter: () => requeueAfter,
    actions: () => actions,
    notes: () => notes,
  };
}

/** Actions ordered by stage, keeping planning order within a stage. */
export function byStage<A extends Action>(actions: readonly A[]): A[] {
  return actions
    .map((action, index) => ({ action, index }))
    .sort((a, b) => a.action.stage - b.action.stage || a.index - b.index)
    .map(({ action }) => action);
}
