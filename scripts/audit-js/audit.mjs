// Accessibility audit of the built web edition (run by scripts/audit).
//
// Opens the page in Debian's chromium (never a downloaded browser) and runs
//   - axe-core at 1280 px and 320 px wide, WCAG 2.0/2.1 A and AA, WCAG 2.2 AA and
//     best-practice rules: 0 violations expected;
//   - pa11y with HTML_CodeSniffer, WCAG2AA, at both widths: 0 errors expected.
// Prints each finding and a summary line per check; exits 1 if anything was found.
//
// Usage: node audit.mjs FILE.html [--chromium /usr/bin/chromium]

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import puppeteer from 'puppeteer-core';
import pa11y from 'pa11y';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];
const WIDTHS = [1280, 320];

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
const at = args.indexOf('--chromium');
const executablePath = at >= 0 ? args[at + 1] : (process.env.CHROMIUM || '/usr/bin/chromium');
if (!file) {
  console.error('usage: node audit.mjs FILE.html [--chromium PATH]');
  process.exit(2);
}
const url = pathToFileURL(resolve(file)).href;

const profile = mkdtempSync(join(tmpdir(), 'bulletin-audit-'));
const browser = await puppeteer.launch({
  executablePath,
  headless: true,
  args: [
    '--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
    `--user-data-dir=${profile}`,
  ],
});

let problems = 0;
try {
  for (const width of WIDTHS) {
    const page = await browser.newPage();
    await page.setViewport({ width, height: 900 });
    await page.goto(url, { waitUntil: 'load' });
    await page.addScriptTag({ content: AXE_SOURCE });
    const result = await page.evaluate(async (tags) => {
      // eslint-disable-next-line no-undef
      const r = await axe.run(document, { runOnly: { type: 'tag', values: tags } });
      return {
        passes: r.passes.length,
        violations: r.violations.map((v) => ({
          id: v.id, impact: v.impact, help: v.help,
          nodes: v.nodes.map((n) => n.target.join(' ')),
        })),
      };
    }, AXE_TAGS);
    const count = result.violations.reduce((n, v) => n + v.nodes.length, 0);
    for (const v of result.violations) {
      console.log(`axe ${width}px: ${v.id} (${v.impact}): ${v.help}`);
      for (const n of v.nodes.slice(0, 5)) console.log(`    ${n}`);
      if (v.nodes.length > 5) console.log(`    ... and ${v.nodes.length - 5} more`);
    }
    console.log(`axe ${width}px: ${result.violations.length} rules violated, ${count} ` +
                `elements; ${result.passes} rules passed`);
    problems += count;
    await page.close();

    const report = await pa11y(url, {
      browser, standard: 'WCAG2AA', runners: ['htmlcs'],
      viewport: { width, height: 900 }, includeWarnings: false, includeNotices: false,
      timeout: 120000,
    });
    const errors = report.issues.filter((i) => i.type === 'error');
    for (const e of errors.slice(0, 20)) {
      console.log(`pa11y ${width}px: ${e.code}: ${e.message}\n    ${e.selector}`);
    }
    console.log(`pa11y ${width}px: ${errors.length} errors (htmlcs WCAG2AA)`);
    problems += errors.length;
  }
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(problems ? 1 : 0);
