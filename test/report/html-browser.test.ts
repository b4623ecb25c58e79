// The HTML report in a real browser: Debian's chromium, headless, driven by playwright-core. The
// page must render its charts offline (every non-file request is blocked and counted) with no
// console errors; a screenshot is kept in a temp folder.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare, writeReports, type Report } from '../../src/index.js';
import { LENET, PLANTED, calibratedRange, mnistTestSplit, quantizeLenet, tmpDir } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const haveChromium = fs.existsSync(CHROMIUM);

if (!haveChromium) {
  console.warn(`\n${'!'.repeat(100)}\n!! SKIPPED: the HTML report browser test needs Debian's chromium at ${CHROMIUM}.\n!! Install it with: apt-get update && apt-get install -y chromium   (.ci/run does this)\n${'!'.repeat(100)}\n`);
}

describe('HTML report in headless chromium', () => {
  if (!haveChromium) {
    it.skip(`renders charts with no console errors — SKIPPED: ${CHROMIUM} is missing (apt-get install -y chromium)`, () => {});
    return;
  }
  const dir = tmpDir('html');
  let report: Report;
  let html: string;
  let browser: Browser;

  beforeAll(async () => {
    const split = mnistTestSplit(dir);
    const [lo, hi] = await calibratedRange(dir, PLANTED);
    const model = await quantizeLenet(dir, 'narrow', { [PLANTED]: [lo / 10, hi / 10] });
    report = await compare(LENET, model, { data: split.data, labels: split.labels, count: 300, latency: { rounds: 2 } });
    html = path.join(dir, 'report.html');
    writeReports(report, [html]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('renders the per-layer bars, histograms and summary charts offline with no console errors', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    const external: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
      external.push(url);
      return route.abort();
    });
    await page.goto(`file://${html}`, { waitUntil: 'load' });

    const tensors = report.layers!.tensors;
    const bars = page.locator('svg.layer-bars rect.bar');
    expect(await bars.count()).toBe(tensors.length);
    expect(await page.locator('svg.layer-bars g.layer-row').first().getAttribute('data-tensor')).toBe(PLANTED);
    expect(await bars.first().getAttribute('class')).toContain('clipping-dominated');
    for (let i = 0; i < tensors.length; i++) expect((await bars.nth(i).boundingBox())!.width).toBeGreaterThan(0);

    const withHist = tensors.filter((t) => t.histogram).length;
    expect(withHist).toBe(Math.min(8, tensors.length));
    expect(await page.locator('svg.histogram path.hist').count()).toBe(withHist);
    expect(await page.locator('svg.histogram line.clip-line').count()).toBe(2 * withHist);
    const d = await page.locator('svg.histogram path.hist').first().getAttribute('d');
    expect(d!.split('L').length).toBeGreaterThan(64);
    // the planted tensor's histogram shows the clipped region beyond its (too narrow) clip range
    expect(await page.locator(`figure.hist-figure[data-tensor="${PLANTED}"] rect.clipped-region`).count()).toBeGreaterThan(0);

    expect(await page.locator('svg.pair-bars').count()).toBeGreaterThanOrEqual(3); // accuracy, size, latency
    for (const svg of await page.locator('svg.chart').all()) {
      const box = (await svg.boundingBox())!;
      expect(box.width * box.height).toBeGreaterThan(0);
    }
    expect(await page.locator('text=Per-layer and output figures come from one pass').count()).toBe(1);

    const shot = path.join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    const png = fs.readFileSync(shot);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
    console.log(`HTML report screenshot: ${shot}`);

    expect(problems).toEqual([]);
    expect(external).toEqual([]);
    await page.close();
  });
});
