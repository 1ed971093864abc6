// Analytics from the indexer's API: verifications per track over time, the mint rate,
// active challenges by mode, slashed volume. Each chart carries its data as a table inside
// its canvas (what screen readers read, and what the browser tests check), made from the
// very data object Chart.js draws.

import { useEffect, useMemo, useRef, useState } from "react";
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  Title,
  Tooltip,
  type ChartConfiguration,
} from "chart.js";

import { ErrorNote, Short } from "../ui";
import { describe, type Veil } from "../veil";

Chart.register(BarController, BarElement, CategoryScale, Legend, LinearScale, Title, Tooltip);

interface Verifications {
  total: number;
  series: { track_id: string; bucket_start: number; verifications: number }[];
}
interface IdMints {
  minted: number;
  ids_anchored: number;
  mint_rate_per_hour: number;
  hours: { hour_start: number; minted: number; ids_anchored: number; batches_anchored: number }[];
}
interface ChallengeStats {
  active_total: number;
  by_mode_status: { mode: string; status: string; active: boolean; challenges: number }[];
}
interface Slashes {
  mints: { mint: string; slashes: number; slashed: string; to_treasury: string }[];
}

interface Data {
  verifications: Verifications;
  mints: IdMints;
  challenges: ChallengeStats;
  slashes: Slashes;
}

const COLORS = ["#5b5bd6", "#e5484d", "#30a46c", "#f76b15", "#0090ff", "#8e4ec6"];

function hour(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(5, 13).replace("T", " ") + "h";
}

async function get<T>(base: string, path: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`);
  } catch {
    throw new Error(`the indexer at ${base} did not answer`);
  }
  const body = (await response.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
  if (!response.ok) {
    const error = new Error(body?.error?.message ?? `the indexer answered ${response.status}`);
    (error as Error & { code?: string }).code = body?.error?.code;
    throw error;
  }
  return body as T;
}

function ChartBox({ id, title, config }: { id: string; title: string; config: ChartConfiguration }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [table, setTable] = useState<{ labels: string[]; rows: { label: string; values: number[] }[] }>({
    labels: [],
    rows: [],
  });
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, config);
    // The table is read back from what the chart holds.
    setTable({
      labels: (chart.data.labels ?? []).map(String),
      rows: chart.data.datasets.map((d) => ({ label: String(d.label), values: (d.data as number[]).map(Number) })),
    });
    return () => chart.destroy();
  }, [config]);
  return (
    <figure className="chart card" data-chart={id}>
      <figcaption>{title}</figcaption>
      <canvas ref={canvas} role="img" aria-label={title}>
        <table>
          <thead>
            <tr>
              <th />
              {table.labels.map((l) => (
                <th key={l} scope="col">
                  {l}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {table.rows.map((r) => (
              <tr key={r.label} data-series={r.label}>
                <th scope="row">{r.label}</th>
                {r.values.map((v, i) => (
                  <td key={i}>{v}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </canvas>
    </figure>
  );
}

function bar(labels: string[], datasets: { label: string; data: number[] }[], stacked = false): ChartConfiguration {
  return {
    type: "bar",
    data: {
      labels,
      datasets: datasets.map((d, i) => ({ ...d, backgroundColor: COLORS[i % COLORS.length] })),
    },
    options: {
      animation: false,
      responsive: true,
      scales: { x: { stacked }, y: { stacked, beginAtZero: true, ticks: { precision: 0 } } },
    },
  };
}

export function Analytics({ veil }: { veil: Veil }) {
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<{ code: string | null; message: string } | null>(null);
  const [loadedAt, setLoadedAt] = useState<Date | null>(null);

  const load = async () => {
    const base = veil.config.indexerUrl;
    // The last 24 hours, in whole hours, through the current one.
    const hourNow = Math.floor(Date.now() / 3_600_000) * 3_600;
    const range = `from=${hourNow - 23 * 3_600}&to=${hourNow + 3_600}`;
    try {
      const [verifications, mints, challenges, slashes] = await Promise.all([
        get<Verifications>(base, `/api/v1/analytics/verifications?bucket=hour&${range}`),
        get<IdMints>(base, `/api/v1/analytics/id-mints?${range}`),
        get<ChallengeStats>(base, "/api/v1/analytics/challenges"),
        get<Slashes>(base, "/api/v1/analytics/slashes"),
      ]);
      setData({ verifications, mints, challenges, slashes });
      setLoadedAt(new Date());
      setError(null);
    } catch (cause) {
      const described = describe(cause);
      setError({ code: (cause as { code?: string }).code ?? described.code, message: described.message });
    }
  };
  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [veil.config.indexerUrl]);

  const decimals = veil.config.decimals;
  const charts = useMemo(() => (data ? configs(data, decimals) : null), [data, decimals]);
  return (
    <section className="page" aria-labelledby="an-title">
      <h2 id="an-title">Analytics</h2>
      <p className="hint">
        The last 24 hours, from the indexer at <code>{veil.config.indexerUrl}</code>
        {loadedAt && <> · loaded {loadedAt.toLocaleTimeString()}</>}{" "}
        <button onClick={() => void load()}>Reload</button>
      </p>
      <ErrorNote error={error} />
      {data && charts && (
        <>
          <ul className="totals" data-testid="totals">
            <li>
              Verifications <strong data-total="verifications">{data.verifications.total}</strong>
            </li>
            <li>
              IDs minted <strong data-total="minted">{data.mints.minted}</strong> ({data.mints.mint_rate_per_hour.toFixed(2)}/h)
            </li>
            <li>
              Active challenges <strong data-total="active">{data.challenges.active_total}</strong>
            </li>
            <li>
              Slashes <strong data-total="slashes">{data.slashes.mints.reduce((n, m) => n + m.slashes, 0)}</strong>
            </li>
          </ul>
          <div className="charts">
            <ChartBox id="verifications" title="Ownership verifications per track, per hour" config={charts.verifications} />
            <ChartBox id="mints" title="ChittyIDs minted and anchored, per hour" config={charts.mints} />
            <ChartBox id="challenges" title="Challenges by mode: active and finished" config={charts.challenges} />
            <ChartBox id="slashes" title="Slashed bond volume, per bond mint (tokens)" config={charts.slashes} />
          </div>
          {data.slashes.mints.length > 0 && (
            <p className="hint">
              Bond mints:{" "}
              {data.slashes.mints.map((m) => (
                <Short key={m.mint} value={m.mint} />
              ))}
            </p>
          )}
        </>
      )}
    </section>
  );
}

function configs(data: Data, decimals: number) {
  const hours = [...new Set(data.verifications.series.map((s) => s.bucket_start))].sort((a, b) => a - b);
  const tracks = [...new Set(data.verifications.series.map((s) => s.track_id))];
  const verifications = bar(
    hours.map(hour),
    tracks.map((track) => ({
      label: `track ${track.slice(0, 8)}`,
      data: hours.map(
        (h) => data.verifications.series.find((s) => s.track_id === track && s.bucket_start === h)?.verifications ?? 0,
      ),
    })),
    true,
  );
  const mintHours = [...data.mints.hours].sort((a, b) => a.hour_start - b.hour_start);
  const mints = bar(mintHours.map((h) => hour(h.hour_start)), [
    { label: "minted", data: mintHours.map((h) => h.minted) },
    { label: "anchored on chain", data: mintHours.map((h) => h.ids_anchored) },
  ]);
  const modes = [...new Set(data.challenges.by_mode_status.map((m) => m.mode))].sort();
  const count = (mode: string, active: boolean) =>
    data.challenges.by_mode_status
      .filter((m) => m.mode === mode && m.active === active)
      .reduce((n, m) => n + m.challenges, 0);
  const challenges = bar(
    modes,
    [
      { label: "active", data: modes.map((m) => count(m, true)) },
      { label: "finished", data: modes.map((m) => count(m, false)) },
    ],
    true,
  );
  const unit = 10 ** decimals;
  const slashes = bar(
    data.slashes.mints.map((m) => `${m.mint.slice(0, 6)}…`),
    [
      { label: "slashed", data: data.slashes.mints.map((m) => Number(m.slashed) / unit) },
      { label: "to the treasury", data: data.slashes.mints.map((m) => Number(m.to_treasury) / unit) },
    ],
  );
  return { verifications, mints, challenges, slashes };
}
