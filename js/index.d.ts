// Types of the wasmleak JavaScript runtime (src/index.mjs). Reports and snapshots follow docs/contracts.md of
// the wasmleak repository: the JSON report (version 1) and `.wlsnap` files.

/** A report's kinds: lost, indirectly lost, in a reference cycle, held by the host (JS), reachable. */
export type Kind = 'lost' | 'indirect' | 'cycle' | 'host' | 'reachable';

/** The allocator entry points of a module whose allocator wasmleak cannot find: names or function indices. */
export interface AllocatorOptions {
  alloc?: string[];
  free?: string[];
  realloc?: string[];
  calloc?: string[];
  aligned_alloc?: string[];
  posix_memalign?: string[];
}

export interface AttachOptions {
  /** The analysis module: bytes, a path (Node) or a URL. Default in Node: $WASMLEAK_WASM, else the package's. */
  analysis?: BufferSource | string | URL | Response | Promise<Response>;
  /** Record every allocation's stack (default true). */
  stacks?: boolean;
  maxFrames?: number;
  /** The in-page panel (snapshot, compare). */
  overlay?: boolean;
  /** The overlay posts snapshots to `wasmleak serve`. */
  server?: boolean;
  /** Take a snapshot this often (ms), for a growth verdict over time. */
  snapshotInterval?: number;
  /** Before every module name (a worker's). */
  namePrefix?: string;
  allocator?: AllocatorOptions;
  /** The text report lists every reachable group. */
  showReachable?: boolean;
  /** How many sites of the allocation profile the text report lists. */
  profile?: number;
  /** What fails the run: suppressions (LeakSanitizer syntax), a baseline of finding keys, the kinds that fail. */
  policy?: { suppressions?: string; baseline?: string[]; fail_on?: string[] } | null;
  /** The unstripped builds (or separate DWARF files) of stripped modules. */
  debugFiles?: BufferSource[];
}

/** One module's heap in a snapshot. */
export interface ModuleSnapshot {
  module: string;
  /** A `.wlsnap` file: `wasmleak diff`, `why`, `export` read it. */
  bytes: Uint8Array;
  summary: Record<string, unknown>;
}

export interface Snapshot {
  index: number;
  iteration?: number;
  modules: ModuleSnapshot[];
}

export interface Diff {
  modules: Array<{ module: string; before: unknown; after: unknown; rows: unknown[]; text: string }>;
  /** Per allocation site: Δ bytes, Δ blocks, new, freed (as `wasmleak diff` prints it). */
  text(): string;
  json(): Array<{ module: string; before: unknown; after: unknown; rows: unknown[] }>;
}

/** The JSON report of one tracked instance (docs/contracts.md, version 1). */
export interface Report {
  version: 1;
  module: string;
  summary: Record<string, number>;
  groups: Array<{ kind: Kind; blocks: number; bytes: number; site?: { function: string; file?: string; line?: number }; root?: string; hint?: string; [k: string]: unknown }>;
  text?: string;
  /** Set when the run saw no allocator call at all: no verdict (the program allocates through unhooked functions, or not at all). */
  inconclusive?: string;
  [k: string]: unknown;
}

export interface Skipped {
  name: string;
  reason: string;
  /** As `wasmleak inspect --format json` says it: not_found, language_runtime, unsupported, too_early… */
  status: string;
  /** The module grows a heap (its leaks go unseen). */
  heap: boolean;
}

export interface Leak {
  /** Resolves when the analysis module is loaded (a browser loads it asynchronously). */
  ready: Promise<unknown>;
  instances: Array<{ name: string; instance: WebAssembly.Instance }>;
  skipped: Skipped[];
  snapshots: Snapshot[];
  snapshot(options?: { iteration?: number }): Promise<Snapshot>;
  diff(before: Snapshot, after: Snapshot, options?: { by?: 'site' | 'type'; filter?: string; sort?: 'delta-bytes' | 'delta-count' | 'new' | 'freed' | 'size'; all?: boolean }): Diff;
  report(options?: { exit?: { status: 'returned' | 'exited' | 'trap'; code?: number; message?: string }; notes?: string[] }): Report[];
  text(reports?: Report[]): string;
  /** Restore WebAssembly.* (instances already tracked stay tracked). */
  detach(): void;
}

/**
 * Patch WebAssembly.* so every module with an allocator is instrumented as it loads, before the app loads its
 * wasm. Calling it again returns the same object.
 */
export function attach(options?: AttachOptions): Leak;
export function analysisPath(): string;
export function loadAnalysis(source?: BufferSource | string | URL): Promise<unknown>;
export function loadAnalysisSync(source?: BufferSource | string | URL): unknown;
export function textOf(report: Report): string;
