// The served model as route checks and documents see it (routes/route.ts ModelFacts).
import { basename } from 'node:path';
import type { Engine } from '../../engine.js';
import type { ModelFacts } from './route.js';

export function modelFacts(engine: Engine): ModelFacts {
  return {
    task: engine.task,
    labels: engine.info.taskInfo.labels ?? [],
    maskToken: engine.tokenizer.info.specialTokens.mask ?? '[MASK]',
    modelId: basename(engine.info.modelDir),
  };
}
