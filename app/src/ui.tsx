// Small pieces every page uses: a step that shows its progress and its typed failure.

import { useEffect, useRef, useState, type ReactNode } from "react";

import { describe } from "./veil";

export interface Step<T> {
  /** Running: what it is doing now. */
  busy: string | null;
  /** Milliseconds since it started (ticks while busy). */
  elapsedMs: number;
  /** The last failure, typed. */
  error: { code: string | null; message: string } | null;
  result: T | null;
  /** Runs finished so far (what tests wait on). */
  runs: number;
  /** Runs `work`, which reports progress through its argument. */
  run(work: (progress: (what: string) => void) => Promise<T>): Promise<T | null>;
  reset(): void;
}

export function useStep<T>(): Step<T> {
  const [busy, setBusy] = useState<string | null>(null);
  const [elapsedMs, setElapsed] = useState(0);
  const [error, setError] = useState<Step<T>["error"]>(null);
  const [result, setResult] = useState<T | null>(null);
  const [runs, setRuns] = useState(0);
  const started = useRef(0);
  useEffect(() => {
    if (busy === null) return;
    const timer = setInterval(() => setElapsed(performance.now() - started.current), 100);
    return () => clearInterval(timer);
  }, [busy]);
  return {
    busy,
    elapsedMs,
    error,
    result,
    runs,
    async run(work) {
      started.current = performance.now();
      setElapsed(0);
      setError(null);
      setBusy("starting");
      try {
        const value = await work((what) => setBusy(what));
        setResult(value);
        return value;
      } catch (cause) {
        setError(describe(cause));
        return null;
      } finally {
        setElapsed(performance.now() - started.current);
        setBusy(null);
        setRuns((n) => n + 1);
      }
    },
    reset() {
      setError(null);
      setResult(null);
    },
  };
}

/** A typed failure: the API's code and its message, never raw JSON. */
export function ErrorNote({ error }: { error: { code: string | null; message: string } | null }) {
  if (!error) return null;
  return (
    <p className="error" role="alert" data-code={error.code ?? ""}>
      {error.code && <code>{error.code}</code>} {error.message}
    </p>
  );
}

/** The step's progress and failure, under its button. */
export function StepStatus({ step, name }: { step: Step<unknown>; name: string }) {
  return (
    <div className="status" data-step={name} data-runs={step.runs}>
      {step.busy !== null && (
        <p className="progress" role="status">
          <span className="spinner" aria-hidden="true" /> {step.busy}… {(step.elapsedMs / 1000).toFixed(1)} s
        </p>
      )}
      <ErrorNote error={step.error} />
    </div>
  );
}

export function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <label className="field">
      <span>{label}</span>
      {children}
    </label>
  );
}

export function Short({ value, chars = 6 }: { value: string | null | undefined; chars?: number }) {
  if (!value) return <span>–</span>;
  const text = value.length > 2 * chars + 1 ? `${value.slice(0, chars)}…${value.slice(-chars)}` : value;
  return (
    <code title={value} data-full={value}>
      {text}
    </code>
  );
}
