// The app's time from "prove" to "verified on chain", in Debian's headless Chromium against a
// running stack (`cargo run --bin veil-stack`): one development wallet signs in, registers,
// waits for the publisher's root, proves on the member's prover and verifies on chain; N
// members, each in its own browser profile (the stack's tracks take one proof per member). It prints the
// p50 and p90 of the whole step and of proving alone, measured in the page, and their ratio
// (the same run's yardstick: what the step costs beyond proving).
//   node bench/prove-bench.mjs [N]     APP_URL (http://127.0.0.1:8088), CHROMIUM

import { chromium } from "playwright-core";

const APP = process.env.APP_URL ?? "http://127.0.0.1:8088";
const N = Number(process.argv[2] ?? 20);
const LONG = 120_000;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const total = [];
  const proving = [];
  for (let i = 1; i <= N; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(APP);
    await page.getByRole("button", { name: "Use a development wallet" }).click();
    await page.getByRole("button", { name: "Fund from local faucet" }).click();
    await page.locator('[data-testid=funds][data-tokens="100000000"]').waitFor({ timeout: LONG });
    await page.getByRole("button", { name: "Sign in with wallet" }).click();
    await page.getByTestId("signed-in").waitFor({ timeout: LONG });
    await page.goto(`${APP}/#/ownership`);
    await page.getByRole("button", { name: "Derive my identity" }).click();
    await page.getByTestId("commitment").waitFor({ timeout: LONG });
    await page.getByRole("button", { name: "Register" }).click();
    await page.getByTestId("published").waitFor({ timeout: LONG });
    await page.getByRole("button", { name: "Prove on this machine" }).click();
    await page.locator("[data-testid=verified], [data-step=prove] .error").first().waitFor({ timeout: LONG });
    const failed = page.locator("[data-step=prove] .error");
    if (await failed.count()) throw new Error(`member ${i}: ${await failed.innerText()}`);
    const verified = page.getByTestId("verified");
    total.push(Number(await verified.getAttribute("data-ms")));
    proving.push(Number(await verified.getAttribute("data-prove-ms")));
    await context.close();
  }
  const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];
  const p50 = pct(total, 50);
  const prove50 = pct(proving, 50);
  console.log(`members (one proof each): ${N}`);
  console.log(`prove → verified on chain: p50 ${p50} ms, p90 ${pct(total, 90)} ms`);
  console.log(`proving on the member's prover (in the same step): p50 ${prove50} ms, p90 ${pct(proving, 90)} ms`);
  console.log(`ratio (step ÷ proving, p50): ${(p50 / prove50).toFixed(2)}`);
} finally {
  await browser.close();
}
