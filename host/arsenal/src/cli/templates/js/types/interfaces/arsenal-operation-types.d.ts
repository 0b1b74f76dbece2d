/** @module Interface arsenal:operation/types@0.2.0 **/
/**
 * # Variants
 * 
 * ## `"get"`
 * 
 * ## `"post"`
 * 
 * ## `"put"`
 * 
 * ## `"patch"`
 * 
 * ## `"delete"`
 */
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
/**
 * # Variants
 * 
 * ## `"path"`
 * 
 * ## `"query"`
 * 
 * ## `"body"`
 */
export type ParamLocation = 'path' | 'query' | 'body';
/**
 * # Variants
 * 
 * ## `"string"`
 * 
 * ## `"integer"`
 * 
 * ## `"number"`
 * 
 * ## `"boolean"`
 * 
 * ## `"array"`
 * 
 * ## `"object"`
 */
export type ParamType = 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object';
export interface Constraints {
  minimum?: number,
  maximum?: number,
  minLength?: number,
  maxLength?: number,
  pattern?: string,
  oneOf: Array<string>,
}
export interface Param {
  name: string,
  location: ParamLocation,
  type: ParamType,
  items?: ParamType,
  required: boolean,
  'default'?: string,
  description: string,
  constraints: Constraints,
  sensitive: boolean,
}
export interface LimitHints {
  memoryMib?: number,
  timeoutMs?: number,
}
export interface Config {
  name: string,
  version: string,
  category: string,
  summary: string,
  description: string,
  method: HttpMethod,
  path: string,
  params: Array<Param>,
  successStatus: number,
  responseSchema?: string,
  limits: LimitHints,
  additionalParams: boolean,
  outboundHosts: Array<string>,
  buckets: Array<string>,
}
export interface Caller {
  principal: string,
  roles: Array<string>,
  requestId: string,
  deadlineMs: bigint,
}
export interface Request {
  params: string,
  caller: Caller,
}
export interface Response {
  data: string,
}
export interface ErrorInfo {
  message: string,
  details?: string,
  code?: string,
}
export type OpError = OpErrorInvalidParams | OpErrorNotFound | OpErrorConflict | OpErrorForbidden | OpErrorUnavailable | OpErrorTimeout | OpErrorInternal;
export interface OpErrorInvalidParams {
  tag: 'invalid-params',
  val: ErrorInfo,
}
export interface OpErrorNotFound {
  tag: 'not-found',
  val: ErrorInfo,
}
export interface OpErrorConflict {
  tag: 'conflict',
  val: ErrorInfo,
}
export interface OpErrorForbidden {
  tag: 'forbidden',
  val: ErrorInfo,
}
export interface OpErrorUnavailable {
  tag: 'unavailable',
  val: ErrorInfo,
}
export interface OpErrorTimeout {
  tag: 'timeout',
  val: ErrorInfo,
}
export interface OpErrorInternal {
  tag: 'internal',
  val: ErrorInfo,
}
