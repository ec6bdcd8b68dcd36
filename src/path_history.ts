// How each model was run the last time it was loaded, so that a change says so. The engine picks
// the way a task head runs a model at load (the exporter's fill_mask_logits, the encoder and head
// submodules called directly, or the full forward), and which one it gets can change from one load
// to the next: a re-traced model.pt without its submodules, a new engine that maps calls
// differently. The answers stay right either way (docs/models.md), but a 5x slower path should not
// arrive silently: the server logs the change at warn and /info reports it (head_path_change).
//
// One small JSON file (--path-history), keyed by the model directory's real path and the device and
// dtype it is served on; written whole to a temporary file and renamed, so a reader never sees half
// a file (servers sharing it: the last write wins). Reading or writing it never stops a server: a
// problem is returned for the caller to log. JS thread only (synchronous, once per load).
import { mkdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface PathRecord {
  /** The path's identifier: full_forward, fill_mask_logits, encoder_then_head. */
  pathId: string;
  /** The path in words, as the startup log and /info give it. */
  headPath: string;
  /** model.pt's size and modification time, to tell a changed file from a changed engine. */
  modelBytes: number;
  modelMtimeMs: number;
  version: string;
  at: string;
}

export interface PathChange {
  from: string;
  to: string;
  /** When the previous load was recorded. */
  since: string;
  /** Whether model.pt changed since then (size or modification time). */
  modelChanged: boolean;
  /** The bert-serve version of the previous load, when it differs. */
  previousVersion?: string;
}

/** Where the history is kept by default: $XDG_STATE_HOME/bert-serve, else ~/.local/state/bert-serve. */
export function defaultPathHistory(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(state, 'bert-serve', 'head-paths.json');
}

/**
 * Records this load's path for `modelDir` (served on `device`/`dtype`) in `file` and compares it
 * with the previous one. Returns the change (undefined when there was no previous load or the path
 * is the same) and any problem with the file (a message; the history is then not kept).
 */
export function recordPath(
  file: string,
  modelDir: string,
  device: string,
  dtype: string,
  current: Omit<PathRecord, 'modelBytes' | 'modelMtimeMs' | 'at'>,
  now = new Date(),
): { change?: PathChange; problem?: string } {
  let key: string;
  let record: PathRecord;
  try {
    const st = statSync(join(modelDir, 'model.pt'));
    key = `${realpathSync(modelDir)} ${device} ${dtype}`;
    record = { ...current, modelBytes: st.size, modelMtimeMs: Math.round(st.mtimeMs), at: now.toISOString() };
  } catch (e) {
    return { problem: `cannot read ${join(modelDir, 'model.pt')}: ${(e as Error).message}` };
  }
  let history: Record<string, PathRecord> = {};
  let problem: string | undefined;
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) history = parsed as Record<string, PathRecord>;
    else problem = `${file} is not a JSON object; started afresh`;
  } catch (e) {
    // A missing history is a first load; an unreadable or corrupt one is started afresh.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') problem = `cannot read ${file} (${(e as Error).message}); started afresh`;
  }
  const previous = history[key];
  let change: PathChange | undefined;
  if (previous && typeof previous.pathId === 'string' && previous.pathId !== record.pathId) {
    change = {
      from: previous.pathId,
      to: record.pathId,
      since: previous.at,
      modelChanged: previous.modelBytes !== record.modelBytes || previous.modelMtimeMs !== record.modelMtimeMs,
      ...(previous.version !== record.version ? { previousVersion: previous.version } : {}),
    };
  }
  history[key] = record;
  try {
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(history, null, 2) + '\n');
    renameSync(tmp, file);
  } catch (e) {
    return { change, problem: `cannot write ${file}: ${(e as Error).message}` };
  }
  return { change, problem };
}
