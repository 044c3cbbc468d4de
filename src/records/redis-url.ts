/** A Redis URL without its password, for messages and logs. Apart from the client: it must not load ioredis. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
