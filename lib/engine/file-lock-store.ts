import { linkSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CutoverError } from '../errors.ts';
import type { LockAcquireOptions, LockHolder, LockStore } from './journal-store.ts';
import { describeHolder } from './lock-holder.ts';
import { createWhole } from './create-whole.ts';
import { isProvablyDead } from './operator.ts';

/**
 * One operator per environment: `<stateDir>/lock.json`, created by `link(2)` (fails if it exists) so that of
 * two commands started at once exactly one wins. The file names the holder (operator, host, pid,
 * command, since). A holder is provably dead only when it ran on this host and its pid is gone;
 * only then may `takeOverStale` (rollback, resume) or `force` take the lock. `force` also takes a
 * lock whose holder ran on another host (it cannot be proven alive or dead from here), never one
 * held by a live process on this host; only `override` (`cutover unlock --force`, which warns
 * first) takes that one.
 */
export class FileLockStore implements LockStore {
  private held: LockHolder | null = null;

  constructor(public readonly file: string) {}

  static inStateDir(stateDir: string): FileLockStore {
    return new FileLockStore(path.join(stateDir, 'lock.json'));
  }

  async acquire(holder: LockHolder, options: LockAcquireOptions = {}): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      mkdirSync(path.dirname(this.file), { recursive: true });
      if (createWhole(this.file, JSON.stringify(holder, null, 2) + '\n')) {
        this.held = holder;
        return;
      }
      const current = this.read();
      if (!current) {
        // not a holder's identity (left by an older kit, or damaged); give a live writer a moment
        if (this.ageMs() > 5_000) this.takeAway(null);
        continue;
      }
      if (current.pid === holder.pid && current.host === holder.host) {
        this.held = current; // re-entrant: `run` holds it and runs phases
        return;
      }
      const dead = isProvablyDead(current);
      const otherHost = current.host !== os.hostname();
      if ((dead && (options.takeOverStale || options.force)) || (options.force && otherHost) || options.override) {
        this.takeAway(current);
        continue;
      }
      throw lockedError(current, dead, this.file);
    }
    throw new CutoverError('LOCKED', `could not take ${this.file}: it keeps changing hands`, {
      fix: 'another cutover command is starting at the same moment; wait for it and retry',
    });
  }

  async release(): Promise<void> {
    if (!this.held) return;
    const current = this.read();
    if (current && current.pid === this.held.pid && current.host === this.held.host && current.since === this.held.since) {
      try {
        unlinkSync(this.file);
      } catch {
        // already removed
      }
    }
    this.held = null;
  }

  async current(): Promise<LockHolder | null> {
    return this.read();
  }

  private read(): LockHolder | null {
    try {
      const h = JSON.parse(readFileSync(this.file, 'utf8')) as LockHolder;
      return typeof h.pid === 'number' ? h : null;
    } catch {
      return null;
    }
  }

  private ageMs(): number {
    try {
      return Date.now() - statSync(this.file).mtimeMs;
    } catch {
      return 0;
    }
  }

  /**
   * Moves the judged lock aside atomically. If what we moved is not the holder we judged (it was
   * replaced in between), put it back: we never remove a lock we did not look at.
   */
  private takeAway(judged: LockHolder | null): void {
    const aside = `${this.file}.taken-${process.pid}-${Date.now()}`;
    try {
      renameSync(this.file, aside);
    } catch {
      return; // gone already
    }
    let moved: LockHolder | null = null;
    try {
      moved = JSON.parse(readFileSync(aside, 'utf8')) as LockHolder;
    } catch {
      moved = null;
    }
    const same = judged === null ? moved === null : moved !== null && moved.pid === judged.pid && moved.since === judged.since;
    if (!same) {
      try {
        linkSync(aside, this.file);
      } catch {
        // a third process created a lock meanwhile: it wins, the loop will see it
      }
    }
    try {
      unlinkSync(aside);
    } catch {
      // nothing to clean
    }
  }
}

export function lockedError(holder: LockHolder, dead: boolean, where: string): CutoverError {
  return new CutoverError('LOCKED', `the environment is locked by ${describeHolder(holder)}`, {
    received: where,
    fix: dead
      ? `that process is not running any more: re-run "${holder.command}" to resume it, run "cutover rollback", or "cutover unlock --force"`
      : `wait for it to finish (one operator at a time); in an emergency "cutover rollback" stops it and takes over; if it is truly gone, "cutover unlock --force" on ${holder.host}`,
  });
}
