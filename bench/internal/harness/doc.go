// Package harness is what the end-to-end benchmarks of bench/cmd share:
// a loopback-only HTTP/1.1 load generator over raw keep-alive connections
// (Load; MeasureLoad with the servers' CPU time of its window; Fetch, one
// request exactly as a load client sends it), CPU accounting from /proc
// for this process, for server processes with their children and for the
// machine (SampleCPU), starting and stopping the processes a benchmark
// runs, only those and only by PID (StartServer, StartProc, KillStarted;
// StartSignoff for signoff serve on SQLite, Workspace.SignedInOn for it on
// any store, StartNginx for nginx with its files in the benchmark's
// directory), a PostgreSQL schema of a run's own (PGSchema), building
// cmd/signoff (BuildSignoff), signing in to signoff serve (Client), the
// statistics and
// number formats of the tables (Summarize, Median, FmtDur, FmtRate), and
// the lines that say what a figure was measured on (CPUInfo, LoadAvg,
// GitState, CommandLine).
//
// Everything here is bounded: Load refuses any target but
// http://127.0.0.1, more than MaxClients clients and runs longer than
// MaxDuration, and no connection outlives its run.
package harness
