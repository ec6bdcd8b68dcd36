// The tokenizer.json component types the native tokenizer implements, by section: what --help and
// /info list. The native list (native/engine/text/tokenizer_json.cc, supported_components(), which
// also words the load-time refusal of anything else) is the source; this copy keeps --help free of
// the addon, and test/unit/tokenizer-api.test.mjs checks that the two are equal.
export const TOKENIZER_COMPONENTS = {
  models: ['WordPiece', 'BPE', 'Unigram'],
  normalizers: [
    'BertNormalizer',
    'NFC',
    'NFD',
    'NFKC',
    'NFKD',
    'Lowercase',
    'Strip',
    'StripAccents',
    'Replace',
    'Prepend',
    'Precompiled',
    'Nmt',
    'ByteLevel',
    'Sequence',
  ],
  preTokenizers: [
    'BertPreTokenizer',
    'ByteLevel',
    'Metaspace',
    'Whitespace',
    'WhitespaceSplit',
    'Punctuation',
    'Split',
    'Digits',
    'CharDelimiterSplit',
    'Sequence',
  ],
  postProcessors: ['BertProcessing', 'RobertaProcessing', 'TemplateProcessing', 'ByteLevel', 'Sequence'],
  decoders: ['WordPiece', 'ByteLevel', 'Metaspace', 'BPEDecoder', 'Replace', 'ByteFallback', 'Fuse', 'Strip', 'Sequence'],
} as const;

/** The components as --help lines. */
export function tokenizerComponentLines(): string[] {
  const c = TOKENIZER_COMPONENTS;
  return [
    `  models:          ${c.models.join(', ')}`,
    `  normalizers:     ${c.normalizers.join(', ')}`,
    `  pre-tokenizers:  ${c.preTokenizers.join(', ')}`,
    `  post-processors: ${c.postProcessors.join(', ')}`,
    `  decoders:        ${c.decoders.join(', ')}`,
  ];
}
