// The model families the engine serves, for --help and the docs. The engine decides what it loads
// (native/engine/model/model_config.cc) and the exporter what it exports
// (scripts/bert/families/catalog.py); test/integration/families-catalog.test.mjs keeps the three equal.

export interface Family {
  /** config.json's model_type. */
  modelType: string;
  name: string;
  /** transformers' class-name prefix: <prefix>ForMaskedLM, <prefix>Model, <prefix>For{Sequence,Token}Classification, <prefix>ForQuestionAnswering. */
  prefix: string;
}

export const FAMILIES: readonly Family[] = [
  { modelType: 'bert', name: 'BERT', prefix: 'Bert' },
  { modelType: 'distilbert', name: 'DistilBERT', prefix: 'DistilBert' },
  { modelType: 'roberta', name: 'RoBERTa', prefix: 'Roberta' },
  { modelType: 'xlm-roberta', name: 'XLM-RoBERTa', prefix: 'XLMRoberta' },
  { modelType: 'electra', name: 'ELECTRA', prefix: 'Electra' },
  { modelType: 'mpnet', name: 'MPNet', prefix: 'MPNet' },
];

/** "BERT (bert), DistilBERT (distilbert), ...". */
export function familiesText(): string {
  return FAMILIES.map((f) => `${f.name} (${f.modelType})`).join(', ');
}
