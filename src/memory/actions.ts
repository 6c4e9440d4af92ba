// Overload actions: what each part does as pressure rises, in one registry so that the order and the
// state of every action are visible. An action is active while pressure is at or above its level;
// `enter` runs when it becomes active, `tick` at every sample while active (e.g. evict one batch of
// idle sessions), `leave` when pressure falls below its level again.
import type { MemoryGovernor } from './governor.js';
import { LEVEL_RANK, silentLog, type MemoryLog, type PressureLevel } from './types.js';

export interface PressureAction {
  /** the lowest level at which the action applies */
  level: Exclude<PressureLevel, 'normal'>;
  enter?(): void;
  tick?(): void;
  leave?(): void;
}

export interface ActionState {
  name: string;
  level: PressureLevel;
  active: boolean;
  /** how many times it was entered */
  entered: number;
  /** how many ticks ran */
  ticks: number;
}

interface Entry extends ActionState {
  action: PressureAction;
}

export class PressureActions {
  private readonly entries: Entry[] = [];
  private current: PressureLevel;

  constructor(private readonly governor: MemoryGovernor, private readonly log: MemoryLog = silentLog) {
    this.current = governor.pressure;
    governor.onPressure((level) => this.move(level));
    governor.onSample(() => this.tickAll());
  }

  /** Adds an action; it runs in the order added. If pressure is already at its level, it enters now. */
  add(name: string, action: PressureAction): () => void {
    if (this.entries.some((e) => e.name === name)) throw new Error(`pressure action "${name}" is already registered`);
    const entry: Entry = { name, level: action.level, active: false, entered: 0, ticks: 0, action };
    this.entries.push(entry);
    if (LEVEL_RANK[this.current] >= LEVEL_RANK[action.level]) this.enter(entry);
    return () => {
      const i = this.entries.indexOf(entry);
      if (i < 0) return;
      this.entries.splice(i, 1);
      if (entry.active) this.call(entry, 'leave');
    };
  }

  /** Every action with its state, for /control/memory and tests. */
  states(): ActionState[] {
    return this.entries.map(({ name, level, active, entered, ticks }) => ({ name, level, active, entered, ticks }));
  }

  private move(level: PressureLevel): void {
    this.current = level;
    const rank = LEVEL_RANK[level];
    // Enter in order added (cheapest first, by convention); leave in reverse, undoing the last first.
    for (const e of this.entries) if (!e.active && rank >= LEVEL_RANK[e.level]) this.enter(e);
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e.active && rank < LEVEL_RANK[e.level]) {
        e.active = false;
        this.call(e, 'leave');
      }
    }
  }

  private enter(e: Entry): void {
    e.active = true;
    e.entered++;
    this.log.info({ action: e.name, level: e.level }, `memory action ${e.name} on`);
    this.call(e, 'enter');
  }

  private tickAll(): void {
    for (const e of this.entries) {
      if (!e.active || !e.action.tick) continue;
      e.ticks++;
      this.call(e, 'tick');
    }
  }

  private call(e: Entry, what: 'enter' | 'tick' | 'leave'): void {
    const fn = e.action[what];
    if (!fn) return;
    try {
      fn.call(e.action);
    } catch (err) {
      this.log.error({ err, action: e.name, phase: what }, `memory action ${e.name} failed`);
    }
  }
}
