/**
 * Request accounting for one client: how many API requests it sent, by verb and by kind, and how many of them
 * were retries. The benchmarks read it to report "API requests per pass".
 */

export interface KubeStats {
  /** Every HTTP request sent, retries included. */
  readonly total: number;
  readonly byVerb: Readonly<Record<string, number>>;
  readonly byKind: Readonly<Record<string, number>>;
  /** Requests that repeated a failed one. */
  readonly retries: number;
}

/** Mutable counters behind `Kube.stats()`. */
export class RequestCounter {
  private total = 0;
  private retries = 0;
  private byVerb = new Map<string, number>();
  private byKind = new Map<string, number>();

  record(verb: string, kind: string): void {
    this.total++;
    this.byVerb.set(verb, (this.byVerb.get(verb) ?? 0) + 1);
    this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
  }

  recordRetry(): void {
    this.retries++;
  }

  snapshot(): KubeStats {
    return {
      total: this.total,
      byVerb: Object.fromEntries(this.byVerb),
      byKind: Object.fromEntries(this.byKind),
      retries: this.retries,
    };
  }

  reset(): void {
    this.total = 0;
    this.retries = 0;
    this.byVerb.clear();
    this.byKind.clear();
  }
}
