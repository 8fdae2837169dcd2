// The report template's small language: `{{name}}` is replaced by a value, `{{#if flag}}…{{/if}}`
// keeps its content only when the flag is true (no nesting). Values are inserted as they are:
// callers escape what must be escaped.
export function render(template: string, values: Record<string, string>, flags: Record<string, boolean>): string {
  const kept = template.replace(/\{\{#if (\w+)\}\}([\s\S]*?)\{\{\/if\}\}/g, (_, flag: string, body: string) => {
    if (!(flag in flags)) throw new Error(`report template: unknown flag ${flag}`);
    return flags[flag] ? body : '';
  });
  return kept.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`report template: unknown field ${name}`);
    return values[name]!;
  });
}
