// Each finished request: the client-level counters and its log line. The line is formatted only
// when the logger shows it, and by a batching logger (the CLI's) only when its batch is written:
// off the request's path.
import { requestLogLine, requestServed, type RequestCounts } from '../present';
import type { RequestRecord } from '../proxy/types';
import { logsAt, type ConsoleLogger, type Logger } from '../util/log';

export class RequestLog {
  private served = 0;
  private failed = 0;
  private readonly lazyLog?: ConsoleLogger['lazy'];

  constructor(private readonly logger: Logger) {
    const lazy = (logger as Partial<ConsoleLogger>).lazy;
    this.lazyLog = lazy ? lazy.bind(logger) : undefined;
  }

  get counts(): RequestCounts {
    return { served: this.served, failed: this.failed };
  }

  record(r: RequestRecord): void {
    if (requestServed(r)) this.served++;
    else this.failed++;
    const level = r.status >= 500 || r.aborted ? 'warn' : 'info';
    if (this.lazyLog) this.lazyLog(level, r, requestLogLine);
    else if (logsAt(this.logger, level)) this.logger[level](requestLogLine(r));
  }

  reset(): void {
    this.served = 0;
    this.failed = 0;
  }
}
