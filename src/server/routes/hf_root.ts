// POST /: the served task in the Hugging Face Inference API's shape of that task, so that the
// @huggingface/inference client pointed at this server works unchanged. One declaration per task
// (root_<task>.ts), built here: a body of any Content-Type but application/json is one raw text
// with default parameters (the seed recipe's `curl -d "..."`); JSON is {"inputs": ..., "parameters": {...}}.
import type { Task } from '../../tasks/task.js';
import type { Body, InferenceRoute } from './route.js';

type Own = Pick<InferenceRoute, 'request' | 'example' | 'answer' | 'answerKind' | 'plan'>;

export function hfRoot(task: Task, own: Own): InferenceRoute {
  return {
    kind: 'inference',
    method: 'POST',
    path: '/',
    tasks: [task],
    open: false,
    perModel: true,
    doc: {
      summary: `${task} (Hugging Face Inference API shape)`,
      description:
        `The served task, ${task}, in the Hugging Face Inference API's shape, so that its clients work unchanged. ` +
        'A body of any other Content-Type than application/json is one raw text with default parameters.',
      tag: task,
    },
    rawText: (text): Body => ({ inputs: text }),
    ...own,
  };
}

/** The `parameters` object of a validated body (absent or null: none). */
export function params(body: Body): Body {
  return (body.parameters ?? {}) as Body;
}
