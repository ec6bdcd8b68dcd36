// Deterministic fill-mask texts for the benchmark: a mixed-length corpus (a few words to a few hundred
// tokens, one [MASK] each) and texts of a chosen token count. Common English words that are single
// tokens in BERT's uncased vocabulary, so the token count is about the word count (+ punctuation).

export const WORDS = (
  'the of and to in is was for that on as with by at he it from his an were are which this be or has had ' +
  'not first one their its new after but who they have her she two been other when there all during into ' +
  'school time may years more most only over city some world would where later up such used many can state ' +
  'about national out known university united then made three these well people also film between under ' +
  'before can world part second history season team through while year could both him being against ' +
  'house since around small early during music like four game including life war water should five long ' +
  'government country family following great last number within several found high north south west east ' +
  'left right home place old public work second river local end day group area early along because each ' +
  'those without however same called often major will club back even then became much area last group ' +
  'town village children book name series line party band old service light open power market road ' +
  'land station church field court art company center college paper story head side game young show ' +
  'best order night mother father friend door window table chair garden morning evening summer winter ' +
  'spring autumn street bridge island mountain forest ocean lake valley horse bird tree flower stone ' +
  'car train ship plane letter word voice song dance picture idea question answer reason problem ' +
  'system program computer language science nature money price value market office doctor teacher ' +
  'student player leader member king queen prince army soldier police law rule plan result'
)
  .split(/\s+/)
  .filter(Boolean);

/** Small, fast, seeded PRNG (mulberry32); the tests use it too, for reproducible generated inputs. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gauss(rand) {
  const u = 1 - rand(),
    v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** `n` words (one of them [MASK] at a random position), as sentences of 6-20 words. */
export function sentence(rand, n) {
  const mask = Math.floor(rand() * n);
  const parts = [];
  let sinceStop = 0,
    sentLen = 6 + Math.floor(rand() * 15);
  for (let i = 0; i < n; i++) {
    let w = i === mask ? '[MASK]' : WORDS[Math.floor(rand() * WORDS.length)];
    if (sinceStop === 0 && w !== '[MASK]') w = w[0].toUpperCase() + w.slice(1);
    sinceStop++;
    if (sinceStop >= sentLen || i === n - 1) {
      w += '.';
      sinceStop = 0;
      sentLen = 6 + Math.floor(rand() * 15);
    } else if (rand() < 0.06 && i !== mask) {
      w += ',';
    }
    parts.push(w);
  }
  return parts.join(' ');
}

/**
 * The mixed-length corpus: word counts drawn from a log-normal (median 20 words, long tail), clamped
 * to [3, 300] words, i.e. about 5 to 370 tokens with [CLS]/[SEP] and punctuation.
 */
export function makeCorpus(n = 1000, seed = 20240601) {
  const rand = rng(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const words = Math.max(3, Math.min(300, Math.round(Math.exp(Math.log(20) + 0.9 * gauss(rand)))));
    out.push(sentence(rand, words));
  }
  return out;
}

/**
 * A text that tokenizes to exactly `tokens` tokens ([CLS]/[SEP] included) where possible, using
 * `count(text) -> Promise<number>` (the engine's tokenizer): the first k words of a fixed word
 * sequence (one [MASK] near the start), k found by bisection. Returns { text, tokens }.
 */
export async function textOfLength(count, tokens, seed = 7) {
  const rand = rng(seed);
  const words = [];
  for (let i = 0; i < tokens + 8; i++) words.push(WORDS[Math.floor(rand() * WORDS.length)]);
  words[0] = words[0][0].toUpperCase() + words[0].slice(1);
  const make = (k) => {
    const w = words.slice(0, Math.max(1, k));
    w[Math.min(w.length - 1, 2)] = '[MASK]';
    return w.join(' ') + '.';
  };
  let lo = 1,
    hi = tokens + 8,
    best = null;
  while (lo <= hi) {
    const k = (lo + hi) >> 1;
    const text = make(k);
    const got = await count(text);
    if (!best || Math.abs(got - tokens) < Math.abs(best.tokens - tokens)) best = { text, tokens: got };
    if (got === tokens) break;
    if (got < tokens) lo = k + 1;
    else hi = k - 1;
  }
  return best;
}
