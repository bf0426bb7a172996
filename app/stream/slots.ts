/**
 * Stream admission: in-memory counters of open streams on the server and per user. They are the limit
 * the v2 PRD puts on concurrent streams (100 on the server, 3 per user). Memory only: a restart
 * starts with no slots taken, and sessions left open by the old process are ended at start-up.
 */

/** Why a slot was refused. */
export interface SlotRefusal {
  readonly scope: 'user' | 'server';
  readonly current: number;
  readonly limit: number;
}

/** Counts slots. */
export class SlotTable {
  private total = 0;
  private readonly perUser = new Map<string, number>();

  constructor(readonly maxTotal: number, readonly maxPerUser: number) {}

  /** Takes a slot for `userId`, or says which limit stands in the way. The user limit is checked first. */
  acquire(userId: string): SlotRefusal | null {
    const mine = this.perUser.get(userId) ?? 0;
    if (mine >= this.maxPerUser) return { scope: 'user', current: mine, limit: this.maxPerUser };
    if (this.total >= this.maxTotal) return { scope: 'server', current: this.total, limit: this.maxTotal };
    this.perUser.set(userId, mine + 1);
    this.total++;
    return null;
  }

  /** Gives a slot back; never goes below zero. */
  release(userId: string): void {
    const mine = this.perUser.get(userId) ?? 0;
    if (mine === 0) return;
    if (mine === 1) this.perUser.delete(userId);
    else this.perUser.set(userId, mine - 1);
    this.total--;
  }
}
