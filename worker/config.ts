/** The task queue the interpreter and the catalog activities are served on. */
export const TASK_QUEUE = process.env.CEDILLE_TASK_QUEUE ?? 'cedille-workflows';
