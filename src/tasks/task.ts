// The tasks a model can serve, named as the Hugging Face pipelines name them, and the suffix of the
// model classes that serve each (BertForMaskedLM, RobertaForMaskedLM, ...). A new task is a new
// entry here, its file in this directory, its native head (native/engine/model/task_registry.cc)
// and its routes (src/server/routes/); every table over tasks fails to compile until it covers the
// new one (Record<Task, ...>), and every switch over them fails the lint (eslint.config.js:
// switch-exhaustiveness-check), and the compile too where it returns a value (TS2366).
export const TASKS = {
  'fill-mask': 'ForMaskedLM',
  'feature-extraction': 'Model',
  'text-classification': 'ForSequenceClassification',
  'token-classification': 'ForTokenClassification',
  'question-answering': 'ForQuestionAnswering',
} as const;
export type Task = keyof typeof TASKS;
export const TASK_NAMES = Object.keys(TASKS) as Task[];

/** The class of `architecture`'s family that serves `task`: taskArchitecture('feature-extraction', 'RobertaForMaskedLM') is 'RobertaModel'. */
export function taskArchitecture(task: Task, architecture: string): string {
  const suffix =
    Object.values(TASKS).find((s) => s !== 'Model' && architecture.endsWith(s)) ?? (architecture.endsWith('Model') ? 'Model' : '');
  return architecture.slice(0, architecture.length - suffix.length) + TASKS[task];
}
