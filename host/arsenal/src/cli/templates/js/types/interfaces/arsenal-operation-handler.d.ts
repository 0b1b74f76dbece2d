/** @module Interface arsenal:operation/handler@0.2.0 **/
export function describe(): Config;
export function execute(request: Request): Response;
export type Config = import('./arsenal-operation-types.js').Config;
export type Request = import('./arsenal-operation-types.js').Request;
export type Response = import('./arsenal-operation-types.js').Response;
export type OpError = import('./arsenal-operation-types.js').OpError;
