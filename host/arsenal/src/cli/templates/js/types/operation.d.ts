// world arsenal:operation/operation, generated from the WIT by `jco transpile`
export type * as ArsenalOperationLog020 from './interfaces/arsenal-operation-log.js'; // import arsenal:operation/log@0.2.0
export type * as ArsenalOperationTypes020 from './interfaces/arsenal-operation-types.js'; // import arsenal:operation/types@0.2.0
export * as handler from './interfaces/arsenal-operation-handler.js'; // export arsenal:operation/handler@0.2.0
