// OpenAPI links from the operations that create something to those that read or act on it: they
// document how ids flow between calls, and drive the stateful phase of the contract fuzzer
// (test/api/contract.test.ts). Used as the `links` route option (@fastify/swagger).

const runId = { id: '$response.body#/run/id' };
const toRun = {
  GetRun: { operationId: 'getRun', parameters: runId },
  GetRunHistory: { operationId: 'getRunHistory', parameters: runId },
  CancelRun: { operationId: 'cancelRun', parameters: runId },
};
export const startRunLinks = { 200: toRun, 201: toRun };

const scheduleId = { id: '$response.body#/schedule/id' };
export const createScheduleLinks = {
  201: {
    GetSchedule: { operationId: 'getSchedule', parameters: scheduleId },
    PauseSchedule: { operationId: 'pauseSchedule', parameters: scheduleId },
    UnpauseSchedule: { operationId: 'unpauseSchedule', parameters: scheduleId },
    TriggerSchedule: { operationId: 'triggerSchedule', parameters: scheduleId },
    DeleteSchedule: { operationId: 'deleteSchedule', parameters: scheduleId },
  },
};

const incidentId = { id: '$response.body#/incident/id' };
export const declareIncidentLinks = {
  201: {
    GetIncident: { operationId: 'getIncident', parameters: incidentId },
    AddIncidentNote: { operationId: 'addIncidentNote', parameters: incidentId },
  },
};

const definitionName = { name: '$response.body#/definition/name' };
const toDefinition = { GetDefinition: { operationId: 'getDefinition', parameters: definitionName } };
export const registerDefinitionLinks = { 200: toDefinition, 201: toDefinition };
