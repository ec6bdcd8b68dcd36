// x-request-id: a client's id is kept when it is short and of a safe charset (it goes into log
// lines and an answer header, so nothing that could split a line or forge a field); otherwise, and
// when there is none, one is generated (a random UUID). JS thread only.
import { randomUUID } from 'node:crypto';

export const MAX_REQUEST_ID_LENGTH = 128;
const SAFE = /^[A-Za-z0-9._~:@+=/-]+$/;

export function requestIdFor(header: string): string {
  return header !== '' && header.length <= MAX_REQUEST_ID_LENGTH && SAFE.test(header) ? header : randomUUID();
}
