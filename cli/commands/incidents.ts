// incidents list|show|declare|note|submit-report (the SRE review is `cedille approve <incident> <step>`).
import { Option, type Command } from 'commander';
import { act } from '../context.ts';
import { UsageError } from '../errors.ts';
import type { RunGraph, RunSummary } from '../types.ts';
import { table } from '../render/table.ts';
import { between, oneLine, time } from '../render/format.ts';
import { graphTree } from '../render/tree.ts';
import { buildInput, positiveInt } from './runs.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const enc = encodeURIComponent;

interface IncidentSummary extends RunSummary {
  title?: string;
  severity?: string;
  source?: string;
  groupKey?: string;
  owner?: string;
  clubs?: string[];
  kind?: string;
}
interface IncidentDetail {
  incident: IncidentSummary;
  graph: RunGraph | null;
  graphError?: string;
}
interface EventReceipt {
  incidentId: string;
  event: string;
  accepted: true;
  at: string;
}

function incidentText({ incident: i, graph, graphError }: IncidentDetail): string {
  const lines = [
    `incident ${i.id}  ${i.status}`,
    `  title       ${i.title ?? '-'}`,
    `  severity    ${i.severity ?? '-'}${i.kind ? ` (${i.kind})` : ''}`,
    `  source      ${i.source ?? '-'}${i.initiator ? `, by ${i.initiator}` : ''}`,
    `  clubs       ${i.clubs?.join(', ') || '-'}`,
    `  owner       ${i.owner ?? '-'}`,
    `  started     ${time(i.startTime)}`,
  ];
  if (i.closeTime) lines.push(`  closed      ${time(i.closeTime)} (${between(i.startTime, i.closeTime)})`);
  if (graph?.error) lines.push(`  error       ${oneLine(graph.error, 1000)}`);
  const steps = graph ? graphTree(graph.nodes) : `  (step graph unavailable: ${graphError ?? 'no worker answered'})`;
  return `${lines.join('\n')}\nsteps:\n${steps}`;
}

/** `k=v` pairs into a record. */
function pairs(flag: string, items: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of items) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} ${s}: expected key=value`);
    out[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return out;
}

export function register(program: Command): void {
  const incidents = program.command('incidents').description('Incidents: opened by Alertmanager/Grafana webhooks or declared by hand, then reported on');

  incidents
    .command('list')
    .description('Incidents, newest first')
    .option('--status <status>', 'running | waiting | paused | compensating | completed | failed | cancelled')
    .addOption(new Option('-n, --limit <n>', 'at most this many incidents').default(20).argParser((v) => positiveInt('--limit', v)))
    .action(
      act(async (ctx, _args, opts) => {
        const res = await ctx.api.request<{ incidents: IncidentSummary[]; nextPageToken?: string }>('GET', '/v1/incidents', {
          query: { status: opts.status as string | undefined, pageSize: opts.limit as number },
        });
        ctx.emit(res, () => {
          const rows = res.incidents.map((i) => [i.id, i.severity ?? '', i.status, oneLine(i.title ?? '', 80), i.clubs?.join(',') ?? '', i.owner ?? '', time(i.startTime), i.kind ?? '']);
          const more = res.nextPageToken ? '\n(more incidents: raise --limit)' : '';
          return table(['id', 'severity', 'status', 'title', 'clubs', 'owner', 'started', 'kind'], rows, '(no incidents)') + more;
        });
      }),
    );

  incidents
    .command('show')
    .description('An incident: what it is about, who owns it, and its steps')
    .argument('<id>', 'incident id')
    .action(
      act(async (ctx, [id]) => {
        const res = await ctx.api.request<IncidentDetail>('GET', `/v1/incidents/${enc(id!)}`);
        ctx.emit(res, () => incidentText(res));
      }),
    );

  incidents
    .command('declare')
    .description('Declare an incident by hand (you cannot then approve its review: four-eyes)')
    .requiredOption('-t, --title <text>', 'what is happening')
    .requiredOption('--severity <level>', 'e.g. critical, warning')
    .addOption(new Option('--kind <kind>', 'classification').choices(['availability', 'security']))
    .option('--club <name>', 'club concerned, repeatable', collect)
    .option('--owner <subject>', "who owns the report (default: the club's owner, else you)")
    .option('-d, --description <text>', 'details')
    .option('-l, --label <key=value>', 'a label, repeatable', collect)
    .action(
      act(async (ctx, _args, opts) => {
        const labels = pairs('--label', opts.label as string[] | undefined);
        const res = await ctx.api.request<{ incident: IncidentSummary }>('POST', '/v1/incidents', {
          body: {
            title: opts.title,
            severity: opts.severity,
            ...(opts.kind ? { kind: opts.kind } : {}),
            ...(opts.club ? { clubs: opts.club } : {}),
            ...(opts.owner ? { owner: opts.owner } : {}),
            ...(opts.description ? { description: opts.description } : {}),
            ...(Object.keys(labels).length ? { labels } : {}),
          },
        });
        ctx.emit(res, () => `declared incident ${res.incident.id} (owner ${res.incident.owner ?? '-'})`);
      }),
    );

  incidents
    .command('note')
    .description("Add a note to an incident's timeline")
    .argument('<id>', 'incident id')
    .argument('<text...>', 'the note')
    .action(
      act(async (ctx, args) => {
        // commander gives a variadic argument as one array.
        const [id, words] = args as unknown as [string, string[]];
        const text = words.join(' ');
        const res = await ctx.api.request<EventReceipt>('POST', `/v1/incidents/${enc(id)}/notes`, { body: { text } });
        ctx.emit(res, () => `noted on ${res.incidentId}`);
      }),
    );

  incidents
    .command('submit-report')
    .alias('report')
    .description("Submit the report's fields (owner or admin): summary, impact, rootCauses, trigger, resolution, detection, actionItems [{title, owner, due}], lessons")
    .argument('<id>', 'incident id')
    .option('-f, --file <file>', 'the fields as a JSON or YAML file (- for stdin)')
    .option('-s, --set <key=value>', 'set a field (dotted keys; JSON values), repeatable', collect)
    .action(
      act(async (ctx, [id], opts) => {
        const body = await buildInput(opts.file as string | undefined, opts.set as string[] | undefined);
        if (body === undefined) throw new UsageError('give the report with --file and/or --set');
        const res = await ctx.api.request<EventReceipt>('POST', `/v1/incidents/${enc(id!)}/report`, { body });
        ctx.emit(res, () => `report submitted for ${res.incidentId}; it now goes to review (cedille approvals)`);
      }),
    );
}
