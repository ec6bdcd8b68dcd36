// Real text in many languages and scripts without a network: the translations in the system's
// gettext catalogs (/usr/share/locale/*/LC_MESSAGES/*.mo: Latin, Cyrillic, Greek, Arabic, Hebrew,
// Devanagari, Bengali, Tamil, Thai, Georgian, Armenian, Ethiopic, Khmer, CJK, Hangul, ... on a Debian
// machine). The tokenizer's differential tests (held-out text) and bench/tokenizer.js use it.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from './corpus.js';

const LOCALE = '/usr/share/locale';

/** The msgstr strings of a GNU .mo catalog (either byte order) that are valid UTF-8. */
export function moTranslations(path) {
  const data = readFileSync(path);
  if (data.length < 28) return [];
  const le = data.readUInt32LE(0) === 0x950412de;
  if (!le && data.readUInt32BE(0) !== 0x950412de) return [];
  const u32 = (at) => (le ? data.readUInt32LE(at) : data.readUInt32BE(at));
  const n = u32(8),
    trans = u32(16);
  const out = [];
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < n; i++) {
    const off = trans + 8 * i;
    if (off + 8 > data.length) break;
    const len = u32(off),
      at = u32(off + 4);
    const raw = data.subarray(at, at + len);
    let start = 0;
    for (let k = 0; k <= raw.length; k++) {
      // plural forms are NUL-separated
      if (k < raw.length && raw[k] !== 0) continue;
      try {
        const text = decoder.decode(raw.subarray(start, k)).trim();
        if (text && !text.includes('Content-Type:')) out.push(text);
      } catch {
        /* not UTF-8 */
      }
      start = k + 1;
    }
  }
  return out;
}

/**
 * Up to `perLanguage` translations per language (locale directory), chosen with a seeded PRNG, from
 * the catalogs whose paths are not in `exclude`. Returns { texts, languages }.
 */
export function translations({ perLanguage, exclude = new Set(), seed = 1 }) {
  const byLanguage = new Map();
  for (const lang of existsSync(LOCALE) ? readdirSync(LOCALE).sort() : []) {
    const dir = join(LOCALE, lang, 'LC_MESSAGES');
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) {
      const path = join(dir, f);
      if (!f.endsWith('.mo') || exclude.has(path)) continue;
      const got = moTranslations(path);
      if (got.length) byLanguage.set(lang, [...(byLanguage.get(lang) ?? []), ...got]);
    }
  }
  const rand = rng(seed);
  const texts = [];
  for (const [, list] of byLanguage) {
    const chosen = new Set();
    while (chosen.size < Math.min(perLanguage, list.length)) chosen.add(Math.floor(rand() * list.length));
    for (const i of chosen) texts.push(list[i]);
  }
  return { texts, languages: byLanguage.size };
}

/** Characters per Unicode script in `texts`, for the scripts a multilingual corpus should cover. */
export function scriptsOf(texts) {
  const scripts = [
    'Latin',
    'Cyrillic',
    'Greek',
    'Arabic',
    'Hebrew',
    'Devanagari',
    'Bengali',
    'Tamil',
    'Thai',
    'Georgian',
    'Armenian',
    'Ethiopic',
    'Khmer',
    'Han',
    'Hiragana',
    'Katakana',
    'Hangul',
  ];
  const counts = {};
  for (const s of scripts) {
    const re = new RegExp(`\\p{Script=${s}}`, 'gu');
    let n = 0;
    for (const t of texts) n += (t.match(re) ?? []).length;
    if (n) counts[s] = n;
  }
  return counts;
}
