/**
 * The web playground in a real headless Chromium (Debian's package, driven by puppeteer-core) against a real local
 * cluster: the page loads with nothing from outside, a 401 and a rejected image are shown as clear messages, an
 * uploaded (and a pasted) image goes with the question, the streamed answer appears and equals the REST answer,
 * regenerate and clear work, boxes of a grounded answer are drawn on the image, and markup in an answer never
 * runs script. A screenshot is kept in test/.artifacts/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type ElementHandle, type Page } from 'puppeteer-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, startLocalCluster } from '@ivl/local-cluster';
import { testRedisUrl, tinyCheckpoint, uniquePrefix } from '@ivl/test-support';

const root = join(__dirname, '..', '..');
const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
const built = ['dist/worker.js', 'dist/gateway.js', 'dist/playground/app.js'].every((f) => existsSync(join(root, f)));
const reason = !chromium ? 'needs chromium (apt-get install -y chromium; .ci/run installs it)' : !built ? 'needs dist/ (npm run build)' : '';
const KEY = 'playground-key';
const artifacts = join(root, 'test', '.artifacts');

describe.skipIf(!!reason)(`the playground in Chromium${reason ? ` — skipped: ${reason}` : ''}`, () => {
  let cluster: LocalCluster;
  let browser: Browser;
  let page: Page;
  let base: string;
  let profile: string;
  let files: string;
  const requests: string[] = [];
  const logs: string[] = [];

  beforeAll(async () => {
    const saved = process.env.IVL_API_KEYS;
    process.env.IVL_API_KEYS = KEY;
    try {
      cluster = await startLocalCluster({
        model: tinyCheckpoint(),
        stages: 2,
        plan: 'card',
        dtype: 'fp32',
        redis: testRedisUrl(),
        queuePrefix: uniquePrefix('playground'),
        port: 0,
        grpcPort: 0,
        threads: 1,
        extraGatewayArgs: ['--served-model-name', 'tiny', '--host', '127.0.0.1'],
        log: (name, line) => logs.push(`${name} | ${line}`),
      });
    } finally {
      if (saved === undefined) delete process.env.IVL_API_KEYS;
      else process.env.IVL_API_KEYS = saved;
    }
    try {
      await cluster.waitReady(240_000);
      for (let i = 0; (await fetch(`http://127.0.0.1:${cluster.httpPort}/readyz`)).status !== 200; i++) {
        if (i > 100) throw new Error('the gateway did not become ready');
        await new Promise((r) => setTimeout(r, 100));
      }
    } catch (e) {
      console.error(logs.slice(-40).join('\n'));
      throw e;
    }
    base = `http://127.0.0.1:${cluster.httpPort}`;
    files = mkdtempSync(join(tmpdir(), 'ivl-pg-files-'));
    await sharp({ create: { width: 320, height: 240, channels: 3, background: '#2a7ae2' } }).png().toFile(join(files, 'blue.png'));
    await sharp({ create: { width: 200, height: 200, channels: 3, background: '#e2a72a' } }).png().toFile(join(files, 'orange.png'));
    writeFileSync(join(files, 'broken.png'), 'this is not an image');
    profile = mkdtempSync(join(tmpdir(), 'ivl-chromium-'));
    browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`],
    });
    page = await browser.newPage();
    page.on('request', (r) => requests.push(r.url()));
    await page.setViewport({ width: 1280, height: 900 });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (files) rmSync(files, { recursive: true, force: true });
  }, 60_000);

  const lastAnswer = async () => {
    await page.waitForSelector('#log li.assistant[data-done]', { timeout: 60_000 });
    return page.$$eval('#log li.assistant', (lis) => {
      const li = lis[lis.length - 1] as HTMLElement;
      return { raw: li.dataset.raw ?? '', finish: li.dataset.finish ?? '', html: li.innerHTML };
    });
  };
  const setSlider = (id: string, value: number) =>
    page.$eval(`#${id}`, (el, v) => {
      (el as HTMLInputElement).value = String(v);
      el.dispatchEvent(new Event('input'));
    }, value);
  const errorText = () => page.$eval('#error', (el) => ((el as HTMLElement).hidden ? '' : el.textContent ?? ''));

  it('loads from the gateway alone, with a strict content security policy and no key in the page', async () => {
    const r = await page.goto(`${base}/playground/`, { waitUntil: 'networkidle0' });
    expect(r?.status()).toBe(200);
    expect(r?.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(await page.title()).toContain('InternVL playground');
    expect(await page.content()).not.toContain(KEY);
    expect(requests.every((u) => u.startsWith(base) || u.startsWith('data:'))).toBe(true);
    // No key yet: the page says so instead of failing silently.
    await page.waitForFunction(() => !(document.getElementById('error') as HTMLElement).hidden);
    expect(await errorText()).toMatch(/Not authorised \(401\)/);
  });

  it('a wrong key is a clear 401; the right key shows the model', async () => {
    await page.type('#api-key', 'wrong');
    await page.$eval('#api-key', (el) => el.dispatchEvent(new Event('change')));
    await page.type('#question', 'hello');
    await page.click('#send');
    await page.waitForFunction(() => /401/.test(document.getElementById('error')!.textContent ?? ''));
    await page.$eval('#api-key', (el) => ((el as HTMLInputElement).value = ''));
    await page.type('#api-key', KEY);
    await page.$eval('#api-key', (el) => el.dispatchEvent(new Event('change')));
    await page.waitForFunction(() => document.getElementById('model-name')!.textContent!.includes('tiny'));
    expect(await errorText()).toBe('');
    await page.click('#clear');
  });

  it('an uploaded image and a question: the streamed answer appears and equals the REST answer', async () => {
    await setSlider('max-tokens', 16);
    await setSlider('max-tiles', 2);
    const input = (await page.$('input#files')) as ElementHandle<HTMLInputElement>;
    await input.uploadFile(join(files, 'blue.png'));
    await page.waitForSelector('#attachments img');
    await page.type('#question', 'What colour is this image?');
    await page.click('#send');
    const shown = await lastAnswer();
    expect(shown.raw.length).toBeGreaterThan(0);
    expect(await page.$eval('#log li.user img', (img) => (img as HTMLImageElement).src.startsWith('data:image/png'))).toBe(true);

    const system = await page.$eval('#system', (el) => (el as HTMLTextAreaElement).value);
    const png = (await sharp(join(files, 'blue.png')).toBuffer()).toString('base64');
    const rest = (await (
      await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: JSON.stringify({
          model: 'tiny',
          messages: [{ role: 'system', content: system }, { role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } }, { type: 'text', text: 'What colour is this image?' }] }],
          temperature: 0,
          top_p: 1,
          repetition_penalty: 1,
          max_tokens: 16,
          max_dynamic_patch: 2,
          skip_special_tokens: false,
        }),
      })
    ).json()) as { choices: Array<{ message: { content: string }; finish_reason: string }> };
    expect(shown.raw).toBe(rest.choices[0].message.content);
    expect(shown.finish).toBe(rest.choices[0].finish_reason);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'playground.png'), fullPage: true });
  }, 120_000);

  it('regenerate gives the same greedy answer again; a pasted image joins the next turn', async () => {
    const first = await lastAnswer();
    await page.click('#regenerate');
    await page.waitForFunction(() => !document.querySelector('#log li.assistant')?.hasAttribute('data-done'));
    expect((await lastAnswer()).raw).toBe(first.raw);
    expect(await page.$$eval('#log li', (l) => l.length)).toBe(2);
    const orange = (await sharp(join(files, 'orange.png')).toBuffer()).toString('base64');
    await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'pasted.png', { type: 'image/png' }));
      document.getElementById('question')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true }));
    }, orange);
    await page.waitForSelector('#attachments img');
    await page.type('#question', 'And this one?');
    await page.click('#send');
    await page.waitForFunction(() => document.querySelectorAll('#log li.assistant[data-done]').length === 2);
    expect(await page.$$eval('#log li.user', (l) => l.map((li) => li.querySelectorAll('img').length))).toEqual([1, 1]);
  }, 120_000);

  it('a grounded answer gets its boxes drawn on the image, in 0–1000 coordinates', async () => {
    await page.evaluate(() => (window as unknown as { ivlPlayground: { showAnswer(t: string): void } }).ivlPlayground.showAnswer('The <ref>square</ref><box>[[100, 200, 600, 800]]</box> is blue.'));
    const box = await page.$eval('#log li.assistant:last-child', (li) => {
      const img = li.querySelector('.grounding img')!.getBoundingClientRect();
      const rect = li.querySelector('.grounding rect')!.getBoundingClientRect();
      return { text: li.querySelector('.answer')!.textContent, label: li.querySelector('.grounding text')!.textContent, x: (rect.left - img.left) / img.width, y: (rect.top - img.top) / img.height, w: rect.width / img.width, h: rect.height / img.height };
    });
    expect(box.text!.trim()).toBe('The square is blue.');
    expect(box.label).toBe('square');
    expect(box.x).toBeCloseTo(0.1, 1);
    expect(box.y).toBeCloseTo(0.2, 1);
    expect(box.w).toBeCloseTo(0.5, 1);
    expect(box.h).toBeCloseTo(0.6, 1);
    await page.screenshot({ path: join(artifacts, 'playground-grounding.png'), fullPage: true });
  });

  it('markup in an answer is rendered inert: no script runs, no handler survives', async () => {
    await page.evaluate(() =>
      (window as unknown as { ivlPlayground: { showAnswer(t: string): void } }).ivlPlayground.showAnswer(
        '**bold** <img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> [link](javascript:window.__xss=3) <svg onload="window.__xss=4"></svg>',
      ),
    );
    const html = await page.$eval('#log li.assistant:last-child .answer', (el) => el.innerHTML);
    expect(html).toContain('<strong>bold</strong>');
    expect(html).not.toMatch(/onerror|onload|<script|javascript:/i);
    await page.$$eval('#log li.assistant:last-child a', (as) => as.forEach((a) => (a as HTMLAnchorElement).click()));
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  });

  it('a rejected image is a clear message and the chat goes on; clear empties it', async () => {
    await page.click('#clear');
    const input = (await page.$('input#files')) as ElementHandle<HTMLInputElement>;
    await input.uploadFile(join(files, 'broken.png'));
    await page.waitForSelector('#attachments img');
    await page.type('#question', 'What is this?');
    await page.click('#send');
    await page.waitForFunction(() => !(document.getElementById('error') as HTMLElement).hidden);
    expect(await errorText()).toMatch(/Request refused \(4\d\d [a-z_]+\): .+/);
    expect(await page.$$eval('#log li.assistant', (l) => l.length)).toBe(0);
    await page.click('#clear');
    expect(await page.$$eval('#log li', (l) => l.length)).toBe(0);
    expect(requests.every((u) => u.startsWith(base) || u.startsWith('data:') || u.startsWith('blob:'))).toBe(true);
  }, 60_000);
});

// Keep the chromium version in the test log, for whoever reads a failure.
if (chromium) {
  try {
    console.log(execFileSync(chromium, ['--version'], { encoding: 'utf8' }).trim());
  } catch {
    // reported by the launch itself
  }
}
