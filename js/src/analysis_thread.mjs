// The analysis thread's entry (analysis.mjs `RemoteAnalysis`, Node's main thread only): imported by the thread's
// bootstrap, which calls `serve` with the port and flag it was given.
export { serveAnalysis as serve } from './analysis.mjs';
