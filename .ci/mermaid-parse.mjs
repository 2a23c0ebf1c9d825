// Parses Mermaid files with the real Mermaid parser (under jsdom) and exits
// 1 if any does not parse: the diagrams `signoff check --diagram` draws, and
// the README's copies of them, must render. Run from a directory where
// mermaid@11 and jsdom@24 are installed; .ci/run does that.
import { JSDOM } from 'jsdom';
import fs from 'fs';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
Object.defineProperty(globalThis, 'navigator', { value: dom.window.navigator, configurable: true });
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

let bad = 0;
for (const f of process.argv.slice(2)) {
  try {
    await mermaid.parse(fs.readFileSync(f, 'utf8'));
  } catch (e) {
    bad++;
    console.log(`${f}: ${String(e.message || e).split('\n').slice(0, 3).join(' ')}`);
  }
}
console.log(`${process.argv.length - 2 - bad} of ${process.argv.length - 2} diagrams parse`);
process.exit(bad ? 1 : 0);
