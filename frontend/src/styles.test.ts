// Guard: colours live in the design tokens (:root of styles.css), nowhere else.
/// <reference types="node" />
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// Read from disk: Vitest does not hand CSS (even ?raw) to tests.
const css = readFileSync(`${import.meta.dirname}/styles.css`, 'utf8');

const sources = import.meta.glob(['./**/*.tsx', '!./**/*.test.tsx'], { query: '?raw', import: 'default', eager: true }) as Record<string, string>;
const RAW_COLOUR = /#[0-9a-f]{3,8}\b|\b(?:rgb|rgba|hsl|hsla)\(/gi;

describe('design tokens', () => {
  it('reads the real sources', () => {
    expect(css.length).toBeGreaterThan(1000);
    expect(Object.keys(sources).length).toBeGreaterThan(10);
  });

  it('has no raw colour in styles.css outside :root', () => {
    const rootEnd = css.indexOf('}', css.indexOf(':root'));
    const outside = css.slice(rootEnd).match(RAW_COLOUR) ?? [];
    expect(outside).toEqual([]);
  });

  it('has no raw colour in components', () => {
    const found = Object.entries(sources).flatMap(([file, text]) => (text.match(RAW_COLOUR) ?? []).map((c) => `${file}: ${c}`));
    expect(found).toEqual([]);
  });

  it('uses the spacing scale for padding, margins and gaps', () => {
    const rootEnd = css.indexOf('}', css.indexOf(':root'));
    const offScale = [...css.slice(rootEnd).matchAll(/\b(?:padding|margin|gap)[a-z-]*:\s*([^;]+);/g)]
      .map((m) => m[1]!)
      .filter((value) => /(?<![\w.-])(?:[2-9]|\d{2,})px/.test(value));
    expect(offScale).toEqual([]);
  });
});
