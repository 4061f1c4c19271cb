/** @jsxImportSource hono/jsx */
/**
 * The `/ui` page, server-rendered with hono's JSX (every text and attribute escaped by it; the one raw string is
 * the constant style sheet): a table of the pools with desired, current and ready, then per pool an inline SVG
 * chart of those three over time with its decisions marked on it, and the newest decisions listed below. It
 * reloads itself every few seconds (a meta refresh: no script, no front-end build).
 */
import type { FC } from "hono/jsx";
import {
  actorCell,
  decisionCell,
  type HistoryEntry,
  type PoolOverview,
  replicasCell,
} from "../../shared/history";
import { formatRef } from "../../shared/reconcile";
import { CHART_HEIGHT, CHART_WIDTH, chartOf } from "./chart";

/** Decisions listed under each chart, newest first. */
export const LISTED_ENTRIES = 10;

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1f2937;background:#f9fafb}
h1{font-size:20px;margin:0}h2{font-size:16px;margin:0 0 8px}
header p{margin:4px 0 16px;color:#6b7280}
table{border-collapse:collapse;background:#fff}
th,td{padding:4px 10px;border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}
th{font-weight:600;color:#374151}td.n{text-align:right;font-variant-numeric:tabular-nums}
section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:16px;margin:16px 0;max-width:1100px}
svg{display:block;margin:4px 0 8px}
.grid{stroke:#e5e7eb}.axis{fill:#6b7280;font-size:11px}
.desired{stroke:#2563eb;stroke-width:2;fill:none}
.current{stroke:#9ca3af;stroke-width:2;fill:none;stroke-dasharray:5 3}
.ready{stroke:#16a34a;stroke-width:2;fill:none}
.legend span{margin-right:14px;font-size:12px;color:#4b5563}
.legend i{display:inline-block;width:14px;height:3px;margin-right:4px;vertical-align:middle}
.k-hpa{fill:#ea580c;background:#ea580c}.k-chatops{fill:#9333ea;background:#9333ea}
.k-manager{fill:#dc2626;background:#dc2626}.k-reconcile{fill:#6b7280;background:#6b7280}
.dot{display:inline-block;width:8px;height:8px;border-radius:4px;margin-right:6px}
.entries td{font-size:12px}.muted{color:#6b7280}
`;

function poolId(pool: PoolOverview): string {
  return formatRef(pool.ref).replaceAll("/", "-");
}

function entryTitle(e: HistoryEntry): string {
  return `${e.at} ${e.kind} ${actorCell(e)}: ${replicasCell(e)} ${decisionCell(e)} (${e.reason}) ${e.message}`;
}

const PoolChart: FC<{ pool: PoolOverview; now: Date }> = ({ pool, now }) => {
  const chart = chartOf(pool, now);
  return (
    <svg
      width={CHART_WIDTH}
      height={CHART_HEIGHT}
      viewBox={`0 0 ${CHART_WIDTH} ${CHART_HEIGHT}`}
      role="img"
      aria-label={`desired, current and ready replicas of ${formatRef(pool.ref)} over time`}
      data-pool={formatRef(pool.ref)}
    >
      {chart.yTicks.map((t) => (
        <g>
          <line class="grid" x1="34" x2={CHART_WIDTH - 12} y1={t.y.toFixed(1)} y2={t.y.toFixed(1)} />
          <text class="axis" x="28" y={(t.y + 4).toFixed(1)} text-anchor="end">
            {t.label}
          </text>
        </g>
      ))}
      {chart.xTicks.map((t) => (
        <text class="axis" x={t.x.toFixed(1)} y={CHART_HEIGHT - 6} text-anchor={t.anchor}>
          {t.label}
        </text>
      ))}
      <path class="current" d={chart.current} data-series="current" />
      <path class="ready" d={chart.ready} data-series="ready" />
      <path class="desired" d={chart.desired} data-series="desired" />
      {chart.markers.map((m) => (
        <circle
          class={`k-${m.entry.kind}`}
          cx={m.x.toFixed(1)}
          cy={m.y.toFixed(1)}
          r="4"
          data-kind={m.entry.kind}
          data-decision={m.entry.decision}
          data-from={m.entry.from}
          data-to={m.entry.to}
        >
          <title>{entryTitle(m.entry)}</title>
        </circle>
      ))}
    </svg>
  );
};

const Entries: FC<{ pool: PoolOverview }> = ({ pool }) => {
  const { entries } = pool;
  if (entries.length === 0) return <p class="muted">No decisions recorded yet.</p>;
  const shown = entries.slice(-LISTED_ENTRIES).reverse();
  return (
    <table class="entries">
      <thead>
        <tr>
          <th>time (UTC)</th>
          <th>by</th>
          <th>replicas</th>
          <th>decision</th>
          <th>reason</th>
          <th>message</th>
        </tr>
      </thead>
      <tbody>
        {shown.map((e) => (
          <tr data-kind={e.kind}>
            <td>{e.at.replace("T", " ").slice(0, 19)}</td>
            <td>
              <span class={`dot k-${e.kind}`} />
              {e.kind}: {actorCell(e)}
            </td>
            <td class="n">{replicasCell(e)}</td>
            <td>{decisionCell(e)}</td>
            <td>{e.reason}</td>
            <td>{e.message}</td>
          </tr>
        ))}
      </tbody>
      {entries.length > shown.length ? (
        <tfoot>
          <tr>
            <td colspan={6} class="muted">
              {entries.length - shown.length} older entries: npx vmpool history {formatRef(pool.ref)}
            </td>
          </tr>
        </tfoot>
      ) : null}
    </table>
  );
};

const PoolSection: FC<{ pool: PoolOverview; now: Date }> = ({ pool, now }) => (
  <section id={poolId(pool)} data-pool={formatRef(pool.ref)}>
    <h2>
      {formatRef(pool.ref)}
      {pool.paused ? <span class="muted"> (paused)</span> : null}
    </h2>
    <div class="legend">
      <span>
        <i style="background:#2563eb" />
        desired {pool.desired}
      </span>
      <span>
        <i style="background:#9ca3af" />
        current {pool.current}
      </span>
      <span>
        <i style="background:#16a34a" />
        ready {pool.ready}
      </span>
      <span>
        decisions: <span class="dot k-hpa" />
        hpa <span class="dot k-chatops" />
        chat-ops <span class="dot k-manager" />
        field manager <span class="dot k-reconcile" />
        reconcile
      </span>
    </div>
    <PoolChart pool={pool} now={now} />
    <Entries pool={pool} />
  </section>
);

export interface PageProps {
  readonly pools: readonly PoolOverview[];
  readonly now: Date;
  readonly refreshSeconds: number;
}

export const UiPage: FC<PageProps> = ({ pools, now, refreshSeconds }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta http-equiv="refresh" content={String(refreshSeconds)} />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>vmpool: pools and scaling history</title>
      <style dangerouslySetInnerHTML={{ __html: CSS }} />
    </head>
    <body>
      <header>
        <h1>vmpool: pools and scaling history</h1>
        <p>
          {pools.length} pool{pools.length === 1 ? "" : "s"} ·{" "}
          {now.toISOString().replace("T", " ").slice(0, 19)} UTC · refreshes every {refreshSeconds} s ·
          read-only
        </p>
      </header>
      {pools.length === 0 ? (
        <p class="muted">No VirtualMachinePools or VirtualMachineInstanceReplicaSets found.</p>
      ) : (
        <table class="pools">
          <thead>
            <tr>
              <th>pool</th>
              <th>desired</th>
              <th>current</th>
              <th>ready</th>
              <th>last decision</th>
            </tr>
          </thead>
          <tbody>
            {pools.map((pool) => {
              const last = pool.entries.at(-1);
              return (
                <tr data-pool={formatRef(pool.ref)}>
                  <td>
                    <a href={`#${poolId(pool)}`}>{formatRef(pool.ref)}</a>
                    {pool.paused ? <span class="muted"> (paused)</span> : null}
                  </td>
                  <td class="n" data-field="desired">
                    {pool.desired}
                  </td>
                  <td class="n" data-field="current">
                    {pool.current}
                  </td>
                  <td class="n" data-field="ready">
                    {pool.ready}
                  </td>
                  <td>
                    {last
                      ? `${last.kind}: ${replicasCell(last)} ${decisionCell(last)} (${last.reason})`
                      : "—"}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {pools.map((pool) => (
        <PoolSection pool={pool} now={now} />
      ))}
    </body>
  </html>
);
